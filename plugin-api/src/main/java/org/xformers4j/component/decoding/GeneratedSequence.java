package org.xformers4j.component.decoding;

/**
 * One generated continuation.
 *
 * @param tokens         the new tokens, without the prompt (ending with the end token if it was produced)
 * @param logProbability sum of the log-probabilities of the chosen tokens after logits processing
 * @param score          the strategy's ranking score (equal to logProbability unless it applies a length penalty),
 *                       which {@link DecodingStrategy#scoreDescription()} names
 */
public record GeneratedSequence(int[] tokens, double logProbability, double score) {

    public GeneratedSequence {
        tokens = tokens.clone();
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GeneratedSequence s && java.util.Arrays.equals(tokens, s.tokens)
                && Double.compare(logProbability, s.logProbability) == 0 && Double.compare(score, s.score) == 0;
    }

    @Override
    public int hashCode() {
        return java.util.Arrays.hashCode(tokens) * 31 + Double.hashCode(score);
    }

    @Override
    public String toString() {
        return "GeneratedSequence" + java.util.Arrays.toString(tokens) + " logP=" + logProbability + " score=" + score;
    }
}
