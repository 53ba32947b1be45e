package org.xformers4j.decoding;

import com.oracle.labs.mlrg.olcut.config.Config;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.decoding.DecodingCapabilities;
import org.xformers4j.component.decoding.DecodingModel;
import org.xformers4j.component.decoding.DecodingStrategy;
import org.xformers4j.component.decoding.GeneratedSequence;
import org.xformers4j.component.decoding.GenerationConfig;
import org.xformers4j.component.decoding.HiddenStateModel;

/**
 * Contrastive search (Su et al., 2022): at every step each row picks, among its {@code topK} most
 * probable next tokens, the one that best trades the model's confidence against a degeneration
 * penalty, the largest cosine similarity between the candidate's hidden state and those of every
 * token before it:
 * <pre>
 *   v* = argmax over v in V(k) of  (1 − α) · p(v | x&lt;t) − α · max_{j &lt; t} cos(h_v, h_j)
 * </pre>
 * where V(k) are the k most probable tokens of the softmax p of the processed logits, α is
 * {@code penaltyAlpha}, h_v the final hidden state of the sequence extended by v and h_j those of
 * the prompt's tokens and of the tokens chosen so far. A candidate that would make the text repeat
 * itself (its representation close to an earlier one) loses against a slightly less probable one
 * that moves on, which avoids the loops of greedy decoding without the incoherence of sampling.
 * With α = 0, or with {@code topK} = 1, it is greedy decoding.
 *
 * <p><b>Model calls</b> (as Hugging Face's {@code _contrastive_search}). The model must be a
 * {@link HiddenStateModel}. {@link DecodingModel#start} gives the prompts' logits and hidden
 * states (of the prompt tokens the model sees: a model with a limited context shows only the last
 * ones of a longer prompt, and the penalty then compares with those). Each step then {@link DecodingModel#advance advances} the model once for all active rows
 * with one new row per candidate, row by row and candidates most probable first, reads the
 * candidates' hidden states from {@link HiddenStateModel#lastHiddenStates()}, and picks; the logits
 * of the chosen candidate's row are the next step's, and that row is the origin of the row's
 * candidates at the next step, so no further model call is needed. A row therefore costs its k
 * candidate rows per step, and a finished row nothing further.
 *
 * <p><b>Details.</b> Candidates are ordered by probability, the lower token id first on ties, and
 * a tie in score goes to the more probable candidate. Tokens of probability 0 (a logit of
 * -infinity, e.g. banned by a logits processor) are never candidates, so a row may have fewer than
 * k; Hugging Face takes the k most probable tokens even if some have probability 0, and could
 * choose one. The cosine similarity with a zero hidden state is taken as 0. Rows finish as in
 * {@link GreedyDecoding}: at the {@link GenerationConfig#endToken() end token} (kept), at a
 * {@link GenerationConfig#stoppingCriteria() stopping criterion} or after
 * {@link GenerationConfig#maxNewTokens()} tokens; the {@link GenerationConfig#listener() listener}
 * receives each chosen token. The log-probability of a sequence, and its score, is the sum of the
 * chosen tokens' log-softmax of the processed logits. One sequence per prompt; an instance holds
 * only its hyperparameters and may serve concurrent calls.
 *
 * <p>References: Y. Su, T. Lan, Y. Wang, D. Yogatama, L. Kong and N. Collier, "A Contrastive
 * Framework for Neural Text Generation", NeurIPS 2022; Hugging Face Transformers, "Text generation
 * strategies" ({@code penalty_alpha}, {@code top_k}).
 */
@ComponentInfo(name = "contrastive",
        summary = "Picks among the topK most probable tokens trading probability against similarity to earlier hidden states.",
        reference = "Su et al., 2022, A Contrastive Framework for Neural Text Generation")
@DecodingCapabilities(stochastic = false, multipleHypotheses = false, greedyWhen = {"penaltyAlpha=0"})
public final class ContrastiveSearchDecoding implements DecodingStrategy {

    @Config(description = "Weight α of the degeneration penalty (largest cosine similarity with earlier hidden "
            + "states) against the probability; 0 is greedy decoding.")
    @Range(min = 0, max = 1)
    private double penaltyAlpha = 0.6;

    @Config(description = "Number of most probable tokens considered at each step; 1 is greedy decoding.")
    @Range(min = 1)
    private int topK = 4;

    /** For OLCUT: α = 0.6 and k = 4, the settings Su et al. recommend. */
    private ContrastiveSearchDecoding() {
    }

    /**
     * Contrastive search with the given hyperparameters.
     *
     * @param penaltyAlpha in [0, 1]
     * @param topK         &ge; 1
     * @throws com.oracle.labs.mlrg.olcut.config.PropertyException naming the field and the value if one is out of range
     */
    public ContrastiveSearchDecoding(double penaltyAlpha, int topK) {
        this.penaltyAlpha = penaltyAlpha;
        this.topK = topK;
        postConfig();
    }

    /**
     * {@inheritDoc}
     *
     * @return per prompt, exactly one sequence
     * @throws IllegalArgumentException if the model is not a {@link HiddenStateModel} or its hidden size
     *                                  is below 1, there are no prompts, a prompt is empty or has a token
     *                                  outside the vocabulary, the end token is outside the vocabulary,
     *                                  or more than one sequence per prompt is asked for
     * @throws IllegalStateException    if the model returns logits or hidden states of the wrong shape,
     *                                  non-finite hidden states, or a row's processed logits contain NaN
     *                                  or +infinity or are all -infinity
     */
    @Override
    public List<List<GeneratedSequence>> generate(DecodingModel model, int[][] prompts, GenerationConfig config) {
        Objects.requireNonNull(model, "model must not be null");
        Objects.requireNonNull(prompts, "prompts must not be null");
        Objects.requireNonNull(config, "config must not be null");
        if (!(model instanceof HiddenStateModel hiddenStateModel)) {
            throw new IllegalArgumentException("contrastive search needs the model's hidden states: the model must be a "
                    + HiddenStateModel.class.getSimpleName() + ", got " + model.getClass().getName());
        }
        if (config.numReturnSequences() != 1) {
            throw new IllegalArgumentException("contrastive search keeps one hypothesis per prompt; numReturnSequences "
                    + "must be 1, got " + config.numReturnSequences());
        }
        if (hiddenStateModel.hiddenSize() < 1) {
            throw new IllegalArgumentException("model.hiddenSize() must be >= 1, got " + hiddenStateModel.hiddenSize());
        }
        SingleHypothesisSearch.validate(prompts, config, model.vocabularySize());
        GeneratedSequence[] sequences = SingleHypothesisSearch.run(prompts, config, model.vocabularySize(),
                new Search(hiddenStateModel));
        return Arrays.stream(sequences).map(List::of).toList();
    }

    /** One call's search state: every row's earlier hidden states and where its row lies in the model. */
    private final class Search implements SingleHypothesisSearch.Stepper {
        private final HiddenStateModel model;
        private final int vocabularySize;
        private final int hiddenSize;
        /** Per row (prompt), the unit-length (or zero) hidden states of its tokens so far. */
        private final List<List<double[]>> history = new ArrayList<>();
        /** Per active row, its row in the model's latest call. */
        private int[] modelRows;
        /** The logits of the latest candidate call, [candidate rows, vocabularySize] row-major. */
        private float[] candidateLogits;
        /** Per active row of the latest {@link #choose}, the candidate row it chose. */
        private int[] chosenRows;

        Search(HiddenStateModel model) {
            this.model = model;
            this.vocabularySize = model.vocabularySize();
            this.hiddenSize = model.hiddenSize();
        }

        @Override
        public float[] start(int[][] rows) {
            float[] logits = SingleHypothesisSearch.checkedLogits(model.start(rows), rows.length, vocabularySize, "start");
            int[] lengths = Arrays.stream(rows).mapToInt(row -> row.length).toArray();
            float[][] states = hiddenStates(lengths, false, "start");
            modelRows = new int[rows.length];
            for (int r = 0; r < rows.length; r++) {
                List<double[]> prompt = new ArrayList<>();
                for (int j = 0; j < states[r].length / hiddenSize; j++) {
                    prompt.add(unit(states[r], j));
                }
                history.add(prompt);
                modelRows[r] = r;
            }
            return logits;
        }

        @Override
        public int[] choose(float[][] logits, int[] argmax, int[] rows) {
            int[][] candidates = new int[rows.length][];
            double[][] probabilities = new double[rows.length][];
            int total = 0;
            for (int i = 0; i < rows.length; i++) {
                probabilities[i] = softmax(logits[i], logits[i][argmax[i]]);
                candidates[i] = mostProbable(logits[i]);
                total += candidates[i].length;
            }
            int[] tokens = new int[total];
            int[] origins = new int[total];
            int[] lengths = new int[total];
            for (int i = 0, c = 0; i < rows.length; i++) {
                for (int token : candidates[i]) {
                    tokens[c] = token;
                    origins[c] = modelRows[i];
                    lengths[c] = 1;
                    c++;
                }
            }
            candidateLogits = SingleHypothesisSearch.checkedLogits(model.advance(tokens, origins), total,
                    vocabularySize, "advance");
            float[][] states = hiddenStates(lengths, true, "advance");
            int[] chosen = new int[rows.length];
            chosenRows = new int[rows.length];
            for (int i = 0, first = 0; i < rows.length; first += candidates[i].length, i++) {
                List<double[]> earlier = history.get(rows[i]);
                int best = 0;
                double bestScore = Double.NEGATIVE_INFINITY;
                double[] bestState = null;
                for (int c = 0; c < candidates[i].length; c++) {
                    double[] state = unit(states[first + c], 0);
                    double score = (1 - penaltyAlpha) * probabilities[i][candidates[i][c]]
                            - penaltyAlpha * maxCosine(state, earlier);
                    if (score > bestScore) {
                        best = c;
                        bestScore = score;
                        bestState = state;
                    }
                }
                earlier.add(bestState);
                chosen[i] = candidates[i][best];
                chosenRows[i] = first + best;
            }
            return chosen;
        }

        /** The chosen candidates' rows of the latest call already hold the continued rows: no model call. */
        @Override
        public float[] advance(int[] positions, int[] tokens) {
            float[] next = new float[positions.length * vocabularySize];
            int[] rows = new int[positions.length];
            for (int j = 0; j < positions.length; j++) {
                rows[j] = chosenRows[positions[j]];
                System.arraycopy(candidateLogits, rows[j] * vocabularySize, next, j * vocabularySize, vocabularySize);
            }
            modelRows = rows;
            return next;
        }

        /**
         * The model's latest hidden states, checked to hold {@code tokensFed[i]} finite states of
         * {@code hiddenSize} for each row i, or, unless {@code exact}, between 1 and that many (the
         * last prompt tokens, which a model with a limited context sees).
         */
        private float[][] hiddenStates(int[] tokensFed, boolean exact, String method) {
            float[][] states = model.lastHiddenStates();
            String after = "model.lastHiddenStates() after " + method;
            if (states == null || states.length != tokensFed.length) {
                throw new IllegalStateException(after + " returned " + (states == null ? "null" : states.length + " rows")
                        + ", expected " + tokensFed.length + " (one per row of that call)");
            }
            for (int i = 0; i < states.length; i++) {
                int expected = tokensFed[i] * hiddenSize;
                boolean fits = states[i] != null && (exact ? states[i].length == expected
                        : states[i].length > 0 && states[i].length <= expected && states[i].length % hiddenSize == 0);
                if (!fits) {
                    throw new IllegalStateException(after + " returned " + (states[i] == null ? "null"
                            : states[i].length + " values") + " for row " + i + ", expected "
                            + (exact ? expected + " (" + tokensFed[i] + " tokens × hiddenSize " + hiddenSize + ")"
                            : "k × hiddenSize " + hiddenSize + " for the prompt's last 1 ≤ k ≤ " + tokensFed[i]
                            + " tokens"));
                }
                for (float value : states[i]) {
                    if (!Float.isFinite(value)) {
                        throw new IllegalStateException(after + " returned " + value + " in row " + i
                                + "; hidden states must be finite");
                    }
                }
            }
            return states;
        }

        /** The hidden state of token {@code j} in {@code states}, scaled to unit length (a zero state stays zero). */
        private double[] unit(float[] states, int j) {
            double[] u = new double[hiddenSize];
            double norm = 0;
            for (int d = 0; d < hiddenSize; d++) {
                u[d] = states[j * hiddenSize + d];
                norm += u[d] * u[d];
            }
            norm = Math.sqrt(norm);
            if (norm > 0) {
                for (int d = 0; d < hiddenSize; d++) {
                    u[d] /= norm;
                }
            }
            return u;
        }

        /**
         * The tokens of non-zero probability with the {@code topK} largest logits, largest first,
         * the lower id first on ties (an insertion into a sorted array of at most topK tokens).
         */
        private int[] mostProbable(float[] logits) {
            int[] top = new int[Math.min(topK, logits.length)];
            int size = 0;
            for (int t = 0; t < logits.length; t++) {
                if (logits[t] == Float.NEGATIVE_INFINITY || (size == top.length && logits[t] <= logits[top[size - 1]])) {
                    continue;
                }
                int at = Math.min(size, top.length - 1);
                while (at > 0 && logits[top[at - 1]] < logits[t]) {
                    top[at] = top[at - 1];
                    at--;
                }
                top[at] = t;
                size = Math.min(size + 1, top.length);
            }
            return Arrays.copyOf(top, size);
        }
    }

    /** softmax(x)_i = exp(x_i − max) / Σ_j exp(x_j − max), in double. */
    private static double[] softmax(float[] logits, float max) {
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp((double) logits[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    /** The degeneration penalty: the largest cos(u, w) over the earlier states w, all unit length or zero. */
    private static double maxCosine(double[] u, List<double[]> earlier) {
        double max = Double.NEGATIVE_INFINITY;
        for (double[] w : earlier) {
            double dot = 0;
            for (int d = 0; d < u.length; d++) {
                dot += u[d] * w[d];
            }
            max = Math.max(max, dot);
        }
        return max;
    }
}
