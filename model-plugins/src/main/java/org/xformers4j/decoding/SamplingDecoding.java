package org.xformers4j.decoding;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.function.IntToDoubleFunction;
import java.util.stream.IntStream;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.decoding.DecodingCapabilities;
import org.xformers4j.component.decoding.DecodingModel;
import org.xformers4j.component.decoding.DecodingStrategy;
import org.xformers4j.component.decoding.GeneratedSequence;
import org.xformers4j.component.decoding.GenerationConfig;

/**
 * Sampling: at every step each row's next token is drawn at random from the model's next-token
 * distribution, after the {@link GenerationConfig#logitsProcessors() logits processors}, reshaped by
 * a temperature and truncated by any of four filters. The filters combine in the order of Hugging
 * Face's {@code generate} (its {@code _get_logits_processor}), each acting on the distribution the
 * previous ones left, renormalised:
 * <ol>
 *   <li><b>temperature</b> T: p ∝ exp(logit / T); below 1 sharpens, above 1 flattens;</li>
 *   <li><b>top-k</b> (Fan, Lewis and Dauphin, 2018): keeps the {@code topK} most probable tokens,
 *       and any token tied with the k-th (as Hugging Face's {@code TopKLogitsWarper});</li>
 *   <li><b>top-p</b>, nucleus sampling (Holtzman et al., 2020): keeps the smallest set of most
 *       probable tokens whose probability reaches {@code topP} (a token is kept while the mass of
 *       the more probable ones, lower id first on ties, is below {@code topP});</li>
 *   <li><b>min-p</b> (Nguyen et al., 2024): keeps the tokens whose probability is at least
 *       {@code minP} times the largest;</li>
 *   <li><b>typical-p</b>, locally typical sampling (Meister et al., 2023): orders the tokens by
 *       |−log p − H|, their surprisal's distance from the entropy H of the distribution, and keeps
 *       the smallest prefix of that order whose probability reaches {@code typicalP}.</li>
 * </ol>
 * Each filter keeps at least the most probable token, and each is off at its default, so the
 * default is pure ancestral sampling. With {@code topK = 1}, a {@code topP} or {@code temperature}
 * near 0, sampling picks the most probable token, as {@link GreedyDecoding} does (up to exact ties,
 * which greedy breaks by the lowest id and sampling draws among).
 *
 * <p><b>Randomness.</b> Row r draws from the r-th {@link SplittableRandom#split() split} of a
 * {@link SplittableRandom} seeded with {@link GenerationConfig#seed()}, one uniform number per token.
 * The same seed therefore gives the same sequences, and a row's sequence does not depend on when the
 * other rows finish. An instance holds only its hyperparameters: it may serve concurrent calls.
 *
 * <p><b>Several samples per prompt.</b> With {@link GenerationConfig#numReturnSequences()} n &gt; 1
 * every prompt p is decoded as n independent rows p·n, …, p·n + n − 1 (so sample j of prompt p
 * draws from split p·n + j), and the n samples are returned sorted by log-probability, most probable
 * first (ties in draw order). The {@link GenerationConfig#listener() listener}, and error messages,
 * then name the row p·n + j rather than the prompt.
 *
 * <p>The rows are decoded by the loop shared with {@link GreedyDecoding}: a row finishes at the end
 * token (kept), at a stopping criterion or at {@link GenerationConfig#maxNewTokens()}. The
 * log-probability of a sequence, and its score, is the sum of the chosen tokens' log-softmax of the
 * processed logits, before temperature and filters: the model's probability of the sample, so that
 * samples rank the same way as the sequences of other strategies.
 *
 * <p>References: A. Fan, M. Lewis and Y. Dauphin, "Hierarchical Neural Story Generation", ACL 2018;
 * A. Holtzman, J. Buys, L. Du, M. Forbes and Y. Choi, "The Curious Case of Neural Text
 * Degeneration", ICLR 2020; C. Meister, T. Pimentel, G. Wiher and R. Cotterell, "Locally Typical
 * Sampling", TACL 2023; M. N. Nguyen et al., "Turning Up the Heat: Min-p Sampling for Creative and
 * Coherent LLM Outputs", 2024; Hugging Face, "Text generation strategies"
 * (https://huggingface.co/docs/transformers/generation_strategies).
 */
@ComponentInfo(name = "sample",
        summary = "Draws each next token at random, with temperature and top-k, top-p, min-p and typical-p filters.",
        reference = "Holtzman et al., 2020, The Curious Case of Neural Text Degeneration")
@DecodingCapabilities(stochastic = true, multipleHypotheses = false, greedyWhen = {"topK=1"})
public final class SamplingDecoding implements DecodingStrategy {

    private static final String NAME = "sample";

    @Config(description = "Divides the logits before sampling: below 1 sharpens the distribution, above 1 flattens it.")
    @Range(min = 0, minInclusive = false)
    private double temperature = 1.0;

    @Config(description = "Keeps only the topK most probable tokens (and ties with the k-th); 0 turns the filter off.")
    @Range(min = 0)
    private int topK = 0;

    @Config(description = "Nucleus sampling: keeps the smallest set of most probable tokens whose probability "
            + "reaches topP; 1 turns the filter off.")
    @Range(min = 0, minInclusive = false, max = 1)
    private double topP = 1.0;

    @Config(description = "Locally typical sampling: keeps the tokens closest to the expected surprisal until their "
            + "probability reaches typicalP; 1 turns the filter off.")
    @Range(min = 0, minInclusive = false, max = 1)
    private double typicalP = 1.0;

    @Config(description = "Keeps the tokens at least minP times as probable as the most probable one; 0 turns the "
            + "filter off.")
    @Range(min = 0, max = 1, maxInclusive = false)
    private double minP = 0.0;

    /** For OLCUT: pure sampling, every filter off. */
    private SamplingDecoding() {
    }

    /**
     * Sampling with the given temperature and filters.
     *
     * @param temperature &gt; 0 and finite
     * @param topK        &ge; 0, 0 = off
     * @param topP        in (0, 1], 1 = off
     * @param typicalP    in (0, 1], 1 = off
     * @param minP        in [0, 1), 0 = off
     * @throws PropertyException naming the field and the value if one is out of range
     */
    public SamplingDecoding(double temperature, int topK, double topP, double typicalP, double minP) {
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.typicalP = typicalP;
        this.minP = minP;
        postConfig();
    }

    /**
     * Rows sampled in one session at most: samples beyond it are drawn in further sessions, so the
     * memory a call needs (a KV cache per row) is that of this many rows, whatever
     * numReturnSequences asks for. Each row has its own generator, split from the seed in row
     * order, so the samples do not depend on how the rows are grouped.
     */
    static final int ROWS_AT_ONCE = 64;

    @Override
    public void postConfig() {
        DecodingStrategy.super.postConfig();
        if (Double.isInfinite(temperature)) {
            throw new PropertyException(NAME, "temperature", NAME + ".temperature = " + temperature + " must be finite");
        }
    }

    /**
     * {@inheritDoc}
     *
     * @return per prompt, {@link GenerationConfig#numReturnSequences()} samples, most probable first
     * @throws IllegalArgumentException if there are no prompts, a prompt is empty or has a token
     *                                  outside the vocabulary, or the end token is outside the vocabulary
     * @throws IllegalStateException    if the model returns logits of the wrong shape, or a row's
     *                                  processed logits contain NaN or +infinity or are all -infinity
     */
    @Override
    public List<List<GeneratedSequence>> generate(DecodingModel model, int[][] prompts, GenerationConfig config) {
        Objects.requireNonNull(model, "model must not be null");
        Objects.requireNonNull(prompts, "prompts must not be null");
        Objects.requireNonNull(config, "config must not be null");
        SingleHypothesisSearch.validate(prompts, config, model.vocabularySize());
        int samples = config.numReturnSequences();
        long total = (long) prompts.length * samples;
        if (total > GenerationConfig.MAX_RETURN_SEQUENCES) {
            throw new IllegalArgumentException(prompts.length + " prompts × numReturnSequences " + samples + " = " + total
                    + " samples, more than the " + GenerationConfig.MAX_RETURN_SEQUENCES + " one call may return");
        }
        GeneratedSequence[] sequences = new GeneratedSequence[(int) total];
        SplittableRandom root = new SplittableRandom(config.seed());
        for (int from = 0; from < sequences.length; from += ROWS_AT_ONCE) {
            int first = from;
            int[][] rows = new int[Math.min(ROWS_AT_ONCE, sequences.length - first)][];
            SplittableRandom[] randoms = new SplittableRandom[rows.length];
            for (int r = 0; r < rows.length; r++) {
                rows[r] = prompts[(first + r) / samples];
                randoms[r] = root.split();
            }
            GenerationConfig chunk = config.toBuilder()
                    .listener((row, token) -> config.listener().onToken(first + row, token)).build();
            GeneratedSequence[] sampled = SingleHypothesisSearch.run(model, rows, chunk,
                    (logits, argmax, row) -> draw(logits, argmax, randoms[row]));
            System.arraycopy(sampled, 0, sequences, first, sampled.length);
        }
        List<List<GeneratedSequence>> out = new ArrayList<>(prompts.length);
        for (int p = 0; p < prompts.length; p++) {
            List<GeneratedSequence> ofPrompt = new ArrayList<>(Arrays.asList(sequences).subList(p * samples, (p + 1) * samples));
            ofPrompt.sort(Comparator.comparingDouble(GeneratedSequence::logProbability).reversed());
            out.add(List.copyOf(ofPrompt));
        }
        return out;
    }

    /** Draws a token from the tempered, filtered distribution of one row's processed logits. */
    private int draw(float[] logits, int argmax, SplittableRandom random) {
        double[] p = new double[logits.length];
        double max = logits[argmax];
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp((logits[i] - max) / temperature);
        }
        normalise(p);
        if (topK > 0 && topK < p.length) {
            double kth = Arrays.stream(p).boxed().sorted(Comparator.reverseOrder()).skip(topK - 1).findFirst().orElseThrow();
            removeBelow(p, kth);
        }
        if (topP < 1) {
            keepMassPrefix(p, i -> -p[i], topP);
        }
        if (minP > 0) {
            removeBelow(p, minP * Arrays.stream(p).max().orElseThrow());
        }
        if (typicalP < 1) {
            double entropy = 0;
            for (double q : p) {
                entropy -= q > 0 ? q * Math.log(q) : 0;
            }
            double h = entropy;
            keepMassPrefix(p, i -> Math.abs(-Math.log(p[i]) - h), typicalP);
        }
        double u = random.nextDouble();
        double cumulative = 0;
        int last = argmax;
        for (int i = 0; i < p.length; i++) {
            if (p[i] > 0) {
                cumulative += p[i];
                last = i;
                if (u < cumulative) {
                    return i;
                }
            }
        }
        return last; // u fell in the rounding gap between the cumulative sum and 1
    }

    /** Sets the probabilities below {@code threshold} to 0 and renormalises. */
    private static void removeBelow(double[] p, double threshold) {
        for (int i = 0; i < p.length; i++) {
            if (p[i] < threshold) {
                p[i] = 0;
            }
        }
        normalise(p);
    }

    /**
     * Orders the tokens of non-zero probability by {@code key} ascending (lower id first on ties),
     * keeps each while the mass of those before it is below {@code mass}, and renormalises.
     */
    private static void keepMassPrefix(double[] p, IntToDoubleFunction key, double mass) {
        int[] order = IntStream.range(0, p.length).filter(i -> p[i] > 0).boxed()
                .sorted(Comparator.comparingDouble(key::applyAsDouble)).mapToInt(Integer::intValue).toArray();
        double before = 0;
        for (int i : order) {
            if (before >= mass) {
                p[i] = 0;
            } else {
                before += p[i];
            }
        }
        normalise(p);
    }

    private static void normalise(double[] p) {
        double sum = 0;
        for (double q : p) {
            sum += q;
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
    }
}
