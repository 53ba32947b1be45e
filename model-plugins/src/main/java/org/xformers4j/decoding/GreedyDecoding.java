package org.xformers4j.decoding;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.decoding.DecodingCapabilities;
import org.xformers4j.component.decoding.DecodingModel;
import org.xformers4j.component.decoding.DecodingStrategy;
import org.xformers4j.component.decoding.GeneratedSequence;
import org.xformers4j.component.decoding.GenerationConfig;
import org.xformers4j.component.decoding.LogitsProcessor;
import org.xformers4j.component.decoding.StoppingCriterion;
import org.xformers4j.tensor.Tensor;

/**
 * Greedy decoding: at every step each prompt is extended with its most probable next token, the
 * argmax of the logits after the {@link GenerationConfig#logitsProcessors() logits processors}
 * (the lowest token id on ties). This is the left-to-right decoder of Sutskever et al. with a beam
 * of size one; it is deterministic and keeps one hypothesis per prompt, so it can miss a sequence
 * whose first token is less likely but whose total probability is higher (after "The", it picks
 * "nice" at 0.5 and ends with "The nice woman" at 0.2 although "The dog has" has 0.36).
 *
 * <p>All prompts are decoded together: {@link DecodingModel#start} gives one row of logits per
 * prompt, and each step {@link DecodingModel#advance advances} only the rows still active, in
 * prompt order, so a finished prompt costs the model nothing further. A row finishes when it
 * produces the {@link GenerationConfig#endToken() end token} (kept in the output), when any
 * {@link GenerationConfig#stoppingCriteria() stopping criterion} says so, or after
 * {@link GenerationConfig#maxNewTokens()} tokens. The log-probability of a sequence is the sum of
 * the chosen tokens' log-softmax of the processed logits; its score is the same value.
 *
 * <p>There are no hyperparameters and no state: one instance may serve concurrent calls.
 *
 * <p>Reference: I. Sutskever, O. Vinyals and Q. V. Le, "Sequence to Sequence Learning with Neural
 * Networks", NeurIPS 2014.
 */
@ComponentInfo(name = "greedy",
        summary = "Appends the most probable next token at every step (argmax, lowest id on ties).",
        reference = "Sutskever, Vinyals and Le, 2014, Sequence to Sequence Learning with Neural Networks")
@DecodingCapabilities(stochastic = false, multipleHypotheses = false)
public final class GreedyDecoding implements DecodingStrategy {

    /**
     * {@inheritDoc}
     *
     * @return per prompt, exactly one sequence
     * @throws IllegalArgumentException if there are no prompts, a prompt is empty or has a token
     *                                  outside the vocabulary, the end token is outside the
     *                                  vocabulary, or more than one sequence per prompt is asked for
     * @throws IllegalStateException    if the model returns logits of the wrong shape, or a row's
     *                                  processed logits contain NaN or +infinity or are all -infinity
     */
    @Override
    public List<List<GeneratedSequence>> generate(DecodingModel model, int[][] prompts, GenerationConfig config) {
        Objects.requireNonNull(model, "model must not be null");
        Objects.requireNonNull(prompts, "prompts must not be null");
        Objects.requireNonNull(config, "config must not be null");
        int vocabularySize = model.vocabularySize();
        validate(prompts, config, vocabularySize);

        Row[] rows = new Row[prompts.length];
        int[] active = new int[prompts.length];
        for (int p = 0; p < prompts.length; p++) {
            rows[p] = new Row(prompts[p], config.maxNewTokens());
            active[p] = p;
        }
        Tensor logits = model.start(prompts);
        String source = "start";
        while (true) {
            float[] values = checkedLogits(logits, active.length, vocabularySize, source);
            int[] tokens = new int[active.length];
            int[] origins = new int[active.length];
            int kept = 0;
            for (int r = 0; r < active.length; r++) {
                int p = active[r];
                Row row = rows[p];
                float[] rowLogits = Arrays.copyOfRange(values, r * vocabularySize, (r + 1) * vocabularySize);
                int token = row.extend(rowLogits, config.logitsProcessors(), p);
                config.listener().onToken(p, token);
                if (!row.isFinished(token, config)) {
                    tokens[kept] = token;
                    origins[kept] = r;
                    active[kept] = p;
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

        List<List<GeneratedSequence>> out = new ArrayList<>(prompts.length);
        for (Row row : rows) {
            out.add(List.of(row.result()));
        }
        return out;
    }

    private static void validate(int[][] prompts, GenerationConfig config, int vocabularySize) {
        if (vocabularySize < 1) {
            throw new IllegalArgumentException("model.vocabularySize() must be >= 1, got " + vocabularySize);
        }
        if (config.numReturnSequences() != 1) {
            throw new IllegalArgumentException("greedy decoding keeps one hypothesis per prompt; numReturnSequences must be 1, got "
                    + config.numReturnSequences());
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

    /** One prompt's sequence: the prompt followed by the tokens generated so far. */
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

        /** Processes the logits, appends their argmax and adds its log-probability; returns the token. */
        int extend(float[] logits, List<LogitsProcessor> processors, int prompt) {
            if (!processors.isEmpty()) {
                int[] sequence = sequence();
                for (LogitsProcessor processor : processors) {
                    processor.process(sequence, generated, logits);
                }
            }
            int token = argmax(logits, prompt);
            logProbability += logSoftmaxOfMax(logits, logits[token]);
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
        private int argmax(float[] logits, int prompt) {
            int best = 0;
            for (int i = 0; i < logits.length; i++) {
                if (Float.isNaN(logits[i]) || logits[i] == Float.POSITIVE_INFINITY) {
                    throw new IllegalStateException("logits of prompt " + prompt + " for new token " + (generated + 1)
                            + " are " + logits[i] + " at token " + i + "; they must be finite or -infinity");
                }
                if (logits[i] > logits[best]) {
                    best = i;
                }
            }
            if (logits[best] == Float.NEGATIVE_INFINITY) {
                throw new IllegalStateException("logits of prompt " + prompt + " for new token " + (generated + 1)
                        + " are all -infinity after logits processing; no token can be chosen");
            }
            return best;
        }

        /**
         * log softmax(x)[argmax] = -log sum_i exp(x_i - max), computed in double with the maximum
         * subtracted so that large logits cannot overflow.
         */
        private static double logSoftmaxOfMax(float[] logits, float max) {
            double sum = 0;
            for (float x : logits) {
                sum += Math.exp((double) x - max);
            }
            return -Math.log(sum);
        }

        GeneratedSequence result() {
            int[] generatedTokens = Arrays.copyOfRange(tokens, promptLength, promptLength + generated);
            return new GeneratedSequence(generatedTokens, logProbability, logProbability);
        }
    }
}
