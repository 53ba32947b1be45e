package org.xformers4j.decoding.processing;

import java.util.BitSet;
import org.xformers4j.component.decoding.LogitsProcessor;

/**
 * The repetition penalty of CTRL (Keskar et al., 2019, "CTRL: A Conditional Transformer Language
 * Model for Controllable Generation", §4.1), as Hugging Face's {@code RepetitionPenaltyLogitsProcessor}
 * applies it: the logit of every token already in the row (prompt included) is divided by the
 * penalty if positive and multiplied by it if negative, so a penalty above 1 makes any seen token
 * less likely and one below 1 more likely. Each distinct token is penalised once, however often it
 * occurs. The paper recommends 1.2.
 */
public final class RepetitionPenalty implements LogitsProcessor {

    private final float penalty;

    /**
     * @param penalty &gt; 0 and finite; 1 changes nothing
     * @throws IllegalArgumentException naming the value otherwise
     */
    public RepetitionPenalty(float penalty) {
        if (!(penalty > 0) || Float.isInfinite(penalty)) {
            throw new IllegalArgumentException("repetition penalty must be > 0 and finite, got " + penalty);
        }
        this.penalty = penalty;
    }

    @Override
    public void process(int[] tokens, int generated, float[] logits) {
        BitSet seen = new BitSet(logits.length);
        for (int token : tokens) {
            TokenSequences.checkInVocabulary(logits, token, "repetition penalty");
            if (!seen.get(token)) {
                seen.set(token);
                float x = logits[token];
                logits[token] = x > 0 ? x / penalty : x * penalty;
            }
        }
    }
}
