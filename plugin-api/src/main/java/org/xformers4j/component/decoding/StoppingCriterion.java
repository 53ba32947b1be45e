package org.xformers4j.component.decoding;

/** Decides that a row is finished (stop strings, time limits), besides the end token and the length limit. */
@FunctionalInterface
public interface StoppingCriterion {

    /**
     * @param tokens the row so far: prompt followed by the tokens generated
     * @param generated how many of {@code tokens} were generated
     */
    boolean isDone(int[] tokens, int generated);
}
