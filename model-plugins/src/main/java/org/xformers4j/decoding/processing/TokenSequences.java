package org.xformers4j.decoding.processing;

import java.util.List;

/** Checks and matching of token sequences shared by the processors and criteria. */
final class TokenSequences {

    private TokenSequences() {
    }

    /**
     * A defensive copy of non-empty sequences of token ids &ge; 0.
     *
     * @throws IllegalArgumentException naming {@code what}, the index and the bad sequence or token
     */
    static List<int[]> copyOf(List<int[]> sequences, String what) {
        if (sequences == null || sequences.isEmpty()) {
            throw new IllegalArgumentException(what + " must contain at least one token sequence, got " + sequences);
        }
        for (int s = 0; s < sequences.size(); s++) {
            int[] sequence = sequences.get(s);
            if (sequence == null || sequence.length == 0) {
                throw new IllegalArgumentException(what + "[" + s + "] is " + (sequence == null ? "null" : "empty"));
            }
            tokenIds(sequence, what + "[" + s + "]");
        }
        return sequences.stream().map(int[]::clone).toList();
    }

    /**
     * A copy of at least one token id &ge; 0.
     *
     * @throws IllegalArgumentException naming {@code what} and the bad token
     */
    static int[] tokenIds(int[] tokens, String what) {
        if (tokens == null || tokens.length == 0) {
            throw new IllegalArgumentException(what + " must contain at least one token id");
        }
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0) {
                throw new IllegalArgumentException(what + " has token " + tokens[i] + " at position " + i
                        + "; token ids must be >= 0");
            }
        }
        return tokens.clone();
    }

    /** Whether {@code tokens} ends with the first {@code length} tokens of {@code suffix}. */
    static boolean endsWith(int[] tokens, int[] suffix, int length) {
        if (length > tokens.length) {
            return false;
        }
        int offset = tokens.length - length;
        for (int i = 0; i < length; i++) {
            if (tokens[offset + i] != suffix[i]) {
                return false;
            }
        }
        return true;
    }

    /** Sets the logit of {@code token} to -infinity, rejecting a token outside the logits. */
    static void ban(float[] logits, int token, String processor) {
        checkInVocabulary(logits, token, processor);
        logits[token] = Float.NEGATIVE_INFINITY;
    }

    static void checkInVocabulary(float[] logits, int token, String processor) {
        if (token >= logits.length) {
            throw new IllegalArgumentException(processor + ": token " + token + " is outside the vocabulary of "
                    + logits.length + " tokens");
        }
    }
}
