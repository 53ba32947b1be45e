package org.xformers4j.component.decoding;

/** Rewrites one row's next-token logits before a strategy chooses (repetition penalty, bans, forced tokens). */
@FunctionalInterface
public interface LogitsProcessor {

    /**
     * @param tokens the row so far: prompt followed by the tokens generated
     * @param generated how many of {@code tokens} were generated
     * @param logits the next-token logits of the row, changed in place
     */
    void process(int[] tokens, int generated, float[] logits);
}
