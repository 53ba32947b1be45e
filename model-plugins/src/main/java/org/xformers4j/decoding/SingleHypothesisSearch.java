package org.xformers4j.decoding;

import java.util.Arrays;
import java.util.List;
import org.xformers4j.component.decoding.DecodingModel;
import org.xformers4j.component.decoding.GeneratedSequence;
import org.xformers4j.component.decoding.GenerationConfig;
import org.xformers4j.component.decoding.LogitsProcessor;
import org.xformers4j.component.decoding.StoppingCriterion;
import org.xformers4j.tensor.Tensor;

/**
 * The decoding loop shared by the strategies that keep one hypothesis per row ({@link GreedyDecoding},
 * {@link SamplingDecoding}): each step applies the {@link GenerationConfig#logitsProcessors() logits
 * processors} to every active row, lets a {@link TokenChoice} pick its next token, tells the
 * {@link GenerationConfig#listener() listener}, checks the stopping rules, and
 * {@link DecodingModel#advance advances} only the rows still active, in row order, so a finished row
 * costs the model nothing further.
 *
 * <p>A row finishes when it produces the {@link GenerationConfig#endToken() end token} (kept in the
 * output), when any {@link GenerationConfig#stoppingCriteria() stopping criterion} says so, or after
 * {@link GenerationConfig#maxNewTokens()} tokens. The log-probability of a sequence is the sum of the
 * chosen tokens' log-softmax of the processed logits, whatever further transformation the choice
 * applies (temperature, filters); its score is the same value.
 */
final class SingleHypothesisSearch {

    /** Picks a row's next token. */
    @FunctionalInterface
    interface TokenChoice {
        /**
         * @param logits the row's processed logits, finite or -infinity, not all -infinity; not to be changed
         * @param argmax the lowest index of the largest logit
         * @param row    the row, in the order of the rows given to {@link #run}
         * @return a token whose logit is not -infinity
         */
        int choose(float[] logits, int argmax, int row);
    }

    private SingleHypothesisSearch() {
    }

    /**
     * Checks the prompts and the end token against the vocabulary.
     *
     * @throws IllegalArgumentException naming the prompt, position and token, or the end token
     */
    static void validate(int[][] prompts, GenerationConfig config, int vocabularySize) {
        if (vocabularySize < 1) {
            throw new IllegalArgumentException("model.vocabularySize() must be >= 1, got " + vocabularySize);
        }
        if (config.endToken() >= vocabularySize) {
            throw new IllegalArgumentException("endToken " + config.endToken() + " is outside the vocabulary of "
                    + vocabularySize + " tokens");
        }
        if (prompts.length == 0) {
            throw new IllegalArgumentException("prompts must not be empty");
        }
        for (int p = 0; p < prompts.length; p++) {
            if (prompts[p] == null || prompts[p].length == 0) {
                throw new IllegalArgumentException("prompt " + p + " is " + (prompts[p] == null ? "null" : "empty"));
            }
            for (int i = 0; i < prompts[p].length; i++) {
                int token = prompts[p][i];
                if (token < 0 || token >= vocabularySize) {
                    throw new IllegalArgumentException("prompt " + p + " has token " + token + " at position " + i
                            + ", outside the vocabulary of " + vocabularySize + " tokens");
                }
            }
        }
    }

    /**
     * Decodes every row until it finishes. The rows must have been {@link #validate validated}; the
     * listener receives the row index as its {@code prompt}.
     *
     * @return one sequence per row, in row order
     * @throws IllegalStateException if the model returns logits of the wrong shape, or a row's
     *                               processed logits contain NaN or +infinity or are all -infinity
     */
    static GeneratedSequence[] run(DecodingModel model, int[][] rows, GenerationConfig config, TokenChoice choice) {
        int vocabularySize = model.vocabularySize();
        Row[] state = new Row[rows.length];
        int[] active = new int[rows.length];
        for (int r = 0; r < rows.length; r++) {
            state[r] = new Row(rows[r], config.maxNewTokens());
            active[r] = r;
        }
        Tensor logits = model.start(rows);
        String source = "start";
        while (true) {
            float[] values = checkedLogits(logits, active.length, vocabularySize, source);
            int[] tokens = new int[active.length];
            int[] origins = new int[active.length];
            int kept = 0;
            for (int i = 0; i < active.length; i++) {
                int r = active[i];
                Row row = state[r];
                float[] rowLogits = Arrays.copyOfRange(values, i * vocabularySize, (i + 1) * vocabularySize);
                int token = row.extend(rowLogits, config.logitsProcessors(), choice, r);
                config.listener().onToken(r, token);
                if (!row.isFinished(token, config)) {
                    tokens[kept] = token;
                    origins[kept] = i;
                    active[kept] = r;
                    kept++;
                }
            }
            if (kept == 0) {
                break;
            }
            active = Arrays.copyOf(active, kept);
            logits = model.advance(Arrays.copyOf(tokens, kept), Arrays.copyOf(origins, kept));
            source = "advance";
        }
        GeneratedSequence[] out = new GeneratedSequence[rows.length];
        for (int r = 0; r < rows.length; r++) {
            out[r] = state[r].result();
        }
        return out;
    }

    /** The logits as a flat row-major array, after checking they are [rows, vocabularySize]. */
    private static float[] checkedLogits(Tensor logits, int rows, int vocabularySize, String method) {
        if (logits == null) {
            throw new IllegalStateException("model." + method + " returned null logits");
        }
        int[] shape = logits.shape();
        if (shape.length != 2 || shape[0] != rows || shape[1] != vocabularySize) {
            throw new IllegalStateException("model." + method + " returned logits of shape " + Arrays.toString(shape)
                    + ", expected [" + rows + ", " + vocabularySize + "] (active rows, vocabularySize)");
        }
        return logits.toFloatArray();
    }

    /** One row's sequence: the prompt followed by the tokens generated so far. */
    private static final class Row {
        private final int[] tokens;
        private final int promptLength;
        private int generated;
        private double logProbability;

        Row(int[] prompt, int maxNewTokens) {
            this.tokens = Arrays.copyOf(prompt, prompt.length + maxNewTokens);
            this.promptLength = prompt.length;
        }

        /** The prompt and the generated tokens, as processors and stopping criteria see them. */
        int[] sequence() {
            return Arrays.copyOf(tokens, promptLength + generated);
        }

        /** Processes the logits, appends the chosen token and adds its log-probability; returns the token. */
        int extend(float[] logits, List<LogitsProcessor> processors, TokenChoice choice, int row) {
            if (!processors.isEmpty()) {
                int[] sequence = sequence();
                for (LogitsProcessor processor : processors) {
                    processor.process(sequence, generated, logits);
                }
            }
            int argmax = argmax(logits, row);
            int token = choice.choose(logits, argmax, row);
            logProbability += logSoftmax(logits, logits[argmax], token);
            tokens[promptLength + generated] = token;
            generated++;
            return token;
        }

        /** Whether the row ends with {@code token}, the last one appended. */
        boolean isFinished(int token, GenerationConfig config) {
            if (token == config.endToken() || generated == tokens.length - promptLength) {
                return true;
            }
            int[] sequence = sequence();
            for (StoppingCriterion criterion : config.stoppingCriteria()) {
                if (criterion.isDone(sequence, generated)) {
                    return true;
                }
            }
            return false;
        }

        /** The lowest index holding the largest logit; rejects NaN, +infinity and all -infinity. */
        private int argmax(float[] logits, int row) {
            int best = 0;
            for (int i = 0; i < logits.length; i++) {
                if (Float.isNaN(logits[i]) || logits[i] == Float.POSITIVE_INFINITY) {
                    throw new IllegalStateException("logits of prompt " + row + " for new token " + (generated + 1)
                            + " are " + logits[i] + " at token " + i + "; they must be finite or -infinity");
                }
                if (logits[i] > logits[best]) {
                    best = i;
                }
            }
            if (logits[best] == Float.NEGATIVE_INFINITY) {
                throw new IllegalStateException("logits of prompt " + row + " for new token " + (generated + 1)
                        + " are all -infinity after logits processing; no token can be chosen");
            }
            return best;
        }

        /**
         * log softmax(x)[token] = (x_token - max) - log sum_i exp(x_i - max), computed in double with
         * the maximum subtracted so that large logits cannot overflow.
         */
        private static double logSoftmax(float[] logits, float max, int token) {
            double sum = 0;
            for (float x : logits) {
                sum += Math.exp((double) x - max);
            }
            return ((double) logits[token] - max) - Math.log(sum);
        }

        GeneratedSequence result() {
            int[] generatedTokens = Arrays.copyOfRange(tokens, promptLength, promptLength + generated);
            return new GeneratedSequence(generatedTokens, logProbability, logProbability);
        }
    }
}
