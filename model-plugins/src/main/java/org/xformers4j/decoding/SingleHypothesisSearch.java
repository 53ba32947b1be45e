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
 * {@link SamplingDecoding}, {@link ContrastiveSearchDecoding}): each step applies the
 * {@link GenerationConfig#logitsProcessors() logits processors} to every active row, lets a
 * {@link Stepper} pick every row's next token, tells the {@link GenerationConfig#listener() listener},
 * checks the stopping rules, and has the stepper continue only the rows still active, in row order, so
 * a finished row costs the model nothing further.
 *
 * <p>A row finishes when it produces the {@link GenerationConfig#endToken() end token} (kept in the
 * output), when any {@link GenerationConfig#stoppingCriteria() stopping criterion} says so, or after
 * {@link GenerationConfig#maxNewTokens()} tokens. The log-probability of a sequence is the sum of the
 * chosen tokens' log-softmax of the processed logits, whatever further transformation the choice
 * applies (temperature, filters, degeneration penalty); its score is the same value.
 */
final class SingleHypothesisSearch {

    /** Picks a row's next token from its logits alone, one {@link DecodingModel#advance} per step. */
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

    /** How the rows move forward: the model calls of one decoding and the choice of every row's next token. */
    interface Stepper {
        /** Starts the model on {@code rows}; returns their next-token logits, [rows.length, vocabularySize] row-major. */
        float[] start(int[][] rows);

        /**
         * Chooses the next token of every active row.
         *
         * @param logits per active row, its processed logits, finite or -infinity, not all -infinity; not to be changed
         * @param argmax per active row, the lowest index of its largest logit
         * @param rows   per active row, its index in the rows given to {@link #run}
         * @return per active row, a token whose logit is not -infinity
         */
        int[] choose(float[][] logits, int[] argmax, int[] rows);

        /**
         * Continues the active rows at {@code positions} (indices into the latest {@link #choose}
         * call's rows, increasing) with their chosen {@code tokens}; the others have finished.
         *
         * @return the continued rows' next-token logits, [positions.length, vocabularySize] row-major
         */
        float[] advance(int[] positions, int[] tokens);
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
     * Decodes every row until it finishes, choosing each row's token from its own logits and
     * {@link DecodingModel#advance advancing} the model once per step. The rows must have been
     * {@link #validate validated}; the listener receives the row index as its {@code prompt}.
     *
     * @return one sequence per row, in row order
     * @throws IllegalStateException if the model returns logits of the wrong shape, or a row's
     *                               processed logits contain NaN or +infinity or are all -infinity
     */
    static GeneratedSequence[] run(DecodingModel model, int[][] rows, GenerationConfig config, TokenChoice choice) {
        int vocabularySize = model.vocabularySize();
        return run(rows, config, vocabularySize, new Stepper() {
            @Override
            public float[] start(int[][] prompts) {
                return checkedLogits(model.start(prompts), prompts.length, vocabularySize, "start");
            }

            @Override
            public int[] choose(float[][] logits, int[] argmax, int[] active) {
                int[] tokens = new int[active.length];
                for (int i = 0; i < active.length; i++) {
                    tokens[i] = choice.choose(logits[i], argmax[i], active[i]);
                }
                return tokens;
            }

            @Override
            public float[] advance(int[] positions, int[] tokens) {
                return checkedLogits(model.advance(tokens, positions), positions.length, vocabularySize, "advance");
            }
        });
    }

    /**
     * Decodes every row until it finishes, with {@code stepper} calling the model and choosing the
     * tokens. The rows must have been {@link #validate validated}; the listener receives the row
     * index as its {@code prompt}.
     *
     * @return one sequence per row, in row order
     * @throws IllegalStateException if a row's processed logits contain NaN or +infinity or are all -infinity
     */
    static GeneratedSequence[] run(int[][] rows, GenerationConfig config, int vocabularySize, Stepper stepper) {
        Row[] state = new Row[rows.length];
        int[] active = new int[rows.length];
        for (int r = 0; r < rows.length; r++) {
            state[r] = new Row(rows[r], config.maxNewTokens());
            active[r] = r;
        }
        float[] values = stepper.start(rows);
        while (true) {
            float[][] logits = new float[active.length][];
            int[] argmax = new int[active.length];
            for (int i = 0; i < active.length; i++) {
                logits[i] = Arrays.copyOfRange(values, i * vocabularySize, (i + 1) * vocabularySize);
                argmax[i] = state[active[i]].process(logits[i], config.logitsProcessors(), active[i]);
            }
            int[] chosen = stepper.choose(logits, argmax, active);
            int[] tokens = new int[active.length];
            int[] positions = new int[active.length];
            int kept = 0;
            for (int i = 0; i < active.length; i++) {
                int r = active[i];
                state[r].append(chosen[i], logits[i], argmax[i]);
                config.listener().onToken(r, chosen[i]);
                if (!state[r].isFinished(chosen[i], config)) {
                    tokens[kept] = chosen[i];
                    positions[kept] = i;
                    active[kept] = r;
                    kept++;
                }
            }
            if (kept == 0) {
                break;
            }
            active = Arrays.copyOf(active, kept);
            values = stepper.advance(Arrays.copyOf(positions, kept), Arrays.copyOf(tokens, kept));
        }
        GeneratedSequence[] out = new GeneratedSequence[rows.length];
        for (int r = 0; r < rows.length; r++) {
            out[r] = state[r].result();
        }
        return out;
    }

    /**
     * The logits as a flat row-major array, after checking they are [rows, vocabularySize].
     *
     * @param method the model method that returned them, for the message
     * @throws IllegalStateException if they are null or of another shape
     */
    static float[] checkedLogits(Tensor logits, int rows, int vocabularySize, String method) {
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

    /**
     * One row's sequence: the prompt followed by the tokens generated so far, in an array that
     * grows as they come (doubling), so a generous maxNewTokens costs nothing until it is used.
     */
    private static final class Row {
        private int[] tokens;
        private final int promptLength;
        private final int maxNewTokens;
        private int generated;
        private double logProbability;

        Row(int[] prompt, int maxNewTokens) {
            this.tokens = Arrays.copyOf(prompt, prompt.length + Math.min(maxNewTokens, 16));
            this.promptLength = prompt.length;
            this.maxNewTokens = maxNewTokens;
        }

        /** The prompt and the generated tokens, as processors and stopping criteria see them. */
        int[] sequence() {
            return Arrays.copyOf(tokens, promptLength + generated);
        }

        /**
         * Applies the processors to {@code logits} in place and returns the lowest index of the
         * largest processed logit.
         *
         * @param row the row, for error messages
         */
        int process(float[] logits, List<LogitsProcessor> processors, int row) {
            if (!processors.isEmpty()) {
                int[] sequence = sequence();
                for (LogitsProcessor processor : processors) {
                    processor.process(sequence, generated, logits);
                }
            }
            return argmax(logits, row);
        }

        /** Appends {@code token} and adds its log-softmax of the processed {@code logits}, whose largest is at {@code argmax}. */
        void append(int token, float[] logits, int argmax) {
            logProbability += logSoftmax(logits, logits[argmax], token);
            if (promptLength + generated == tokens.length) {
                tokens = Arrays.copyOf(tokens, tokens.length + Math.min(tokens.length, maxNewTokens - generated));
            }
            tokens[promptLength + generated] = token;
            generated++;
        }

        /** Whether the row ends with {@code token}, the last one appended. */
        boolean isFinished(int token, GenerationConfig config) {
            if (token == config.endToken() || generated == maxNewTokens) {
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
