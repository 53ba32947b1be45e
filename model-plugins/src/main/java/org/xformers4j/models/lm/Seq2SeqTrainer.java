package org.xformers4j.models.lm;

import com.oracle.labs.mlrg.olcut.config.Config;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.logging.Logger;
import java.util.stream.IntStream;
import org.xformers4j.train.Evaluation;
import org.xformers4j.train.Point;
import org.xformers4j.train.TrainingListener;
import org.xformers4j.train.TrainingTask;
import org.xformers4j.models.text.Tokenizer;
import org.xformers4j.models.text.Utf8;

/**
 * Trains an encoder-decoder {@link Seq2SeqModel} from scratch on (source, target) pairs (Vaswani et
 * al., 2017, "Attention Is All You Need"): a random {@code run.validationFraction} of the pairs (at
 * least one), drawn with {@code run.seed}, is held out, so a file sorted by source, length or topic
 * is validated on a sample of all of it rather than on its tail; each step draws {@link #batchSize}
 * training pairs uniformly and minimises the mean cross-entropy of predicting each target and the
 * end token with teacher forcing. Progress reports the training loss, target tokens per second and
 * the held-out loss with its bits per target character ({@link #evaluationWindows}, if not 0, caps
 * the held-out pairs evaluated); checkpoints, resume, the time budget and the guard against
 * non-finite losses are those of {@link TrainingLoop}. Targets (with the start token) must fit in
 * {@link #contextLength} tokens; a longer source (with its end token) is cut to its first
 * {@code contextLength} tokens, as {@link Seq2SeqModel#generate} cuts it, with one warning that
 * counts such sources and gives the longest. The sources are texts, or with an {@link ImageSourceEncoder}
 * as {@link #source} images to caption (a Vision Transformer encoder); the rest is the same. Configure it
 * with OLCUT or {@link #builder()}.
 */
public final class Seq2SeqTrainer extends TextModelTrainer {

    private static final Logger LOGGER = Logger.getLogger(Seq2SeqTrainer.class.getName());

    /** A training example: the target the model should write for the source (a text, or an image to caption). */
    public record Pair(Source source, String target) {
        public Pair {
            if (source == null || target == null) {
                throw new IllegalArgumentException("Pair: source and target must not be null, got " + source + ", "
                        + target);
            }
        }

        /** A pair of texts. */
        public Pair(String source, String target) {
            this(source == null ? null : new Source.Text(source), target);
        }
    }

    @Config(description = "What the encoder reads (an org.xformers4j.models.lm.SourceEncoder): text through the "
            + "tokenizer (TextSourceEncoder, the default), or images as Vision Transformer patches "
            + "(ImageSourceEncoder: an image-to-caption model).")
    private SourceEncoder source = new TextSourceEncoder();

    /** For OLCUT; see {@link #builder()}. */
    private Seq2SeqTrainer() {
    }

    /** A builder starting from the defaults of every field. */
    public static Builder builder() {
        return new Builder();
    }

    /** What the encoder reads. */
    public SourceEncoder source() {
        return source;
    }

    @Override
    protected List<String> specialTokens() {
        return List.of(Seq2SeqModel.START_TOKEN, Seq2SeqModel.END_TOKEN);
    }

    /**
     * Trains on {@code pairs}.
     *
     * @param progress receives each point of the learning curve as it is measured
     * @throws IllegalArgumentException if there are fewer than two pairs, or a pair's target is too long for
     *                                  {@link #contextLength}, naming the pair's index
     */
    public Result<Seq2SeqModel> train(List<Pair> pairs, Consumer<Point> progress) {
        return train(pairs, List.of(TrainingListener.ofPoints(progress)), Map.of());
    }

    /**
     * Trains on {@code pairs}, watched by {@code listeners} (progress, metrics) for this run only, in
     * their order, after the loop's own, adding {@code runProvenance} to the model's {@link
     * TextGenerator#provenance() provenance} (such as the configuration a command trained it with).
     *
     * @throws IllegalArgumentException if there are fewer than two pairs, or a pair's target is too long for
     *                                  {@link #contextLength} or its source not of the kind {@link #source} reads,
     *                                  naming the pair's index
     */
    public Result<Seq2SeqModel> train(List<Pair> pairs, List<? extends TrainingListener> listeners,
                                      Map<String, String> runProvenance) {
        if (pairs == null || pairs.size() < 2) {
            throw new IllegalArgumentException("training needs at least 2 pairs (one to train on, one to validate), got "
                    + (pairs == null ? null : pairs.size()));
        }
        int[] validation = validationSample(pairs.size(), run.validationFraction(), run.seed());
        int[] training = complement(validation, pairs.size());
        int held = validation.length;
        StringBuilder trainText = new StringBuilder();
        for (int i : training) {
            if (pairs.get(i).source() instanceof Source.Text text) {
                trainText.append(text.text()).append('\n');
            }
            trainText.append(pairs.get(i).target()).append('\n');
        }
        Tokenizer tokenizer = tokenizerFor(trainText.toString());
        SplittableRandom rng = new SplittableRandom(run.seed());
        Seq2SeqModel model = Seq2SeqModel.create(source, architecture, contextLength, tokenizer, registry(), rng);
        List<Source> sources = pairs.stream().map(Pair::source).toList();
        int[][] targets = new int[pairs.size()][];
        int longSources = 0;
        int longest = 0;
        for (int i = 0; i < pairs.size(); i++) {
            int tokens;
            try {
                tokens = model.sourceTokens(sources.get(i));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("pair " + i + ": " + e.getMessage(), e);
            }
            if (tokens > model.maxSourceTokens()) {
                longSources++;
                longest = Math.max(longest, tokens);
            }
            targets[i] = model.targetTokens(pairs.get(i).target());
            if (targets[i].length + 1 > contextLength) {
                throw new IllegalArgumentException("pair " + i + ": its target (with " + Seq2SeqModel.START_TOKEN
                        + ") is " + (targets[i].length + 1) + " tokens, more than contextLength = " + contextLength);
            }
        }
        if (longSources > 0) {
            LOGGER.warning(String.format(Locale.ROOT, "%,d of %,d sources are longer than contextLength = %d tokens "
                    + "(the longest %d, with %s); each is cut to its first %d tokens and %s", longSources, pairs.size(),
                    contextLength, longest, Seq2SeqModel.END_TOKEN, contextLength - 1, Seq2SeqModel.END_TOKEN));
        }
        int evaluated = evaluationWindows == 0 ? held : Math.min(held, evaluationWindows);
        int[] evaluatedPairs = Arrays.copyOf(validation, evaluated);
        List<Source> validationSources = Arrays.stream(evaluatedPairs).mapToObj(sources::get).toList();
        int[][] validationTargets = Arrays.stream(evaluatedPairs).mapToObj(i -> targets[i]).toArray(int[][]::new);
        long validationCharacters = Arrays.stream(evaluatedPairs).mapToObj(i -> pairs.get(i).target())
                .mapToLong(t -> t.codePointCount(0, t.length())).sum();
        long batchSeed = rng.nextLong();
        Map<String, String> identity = new TreeMap<>(identity(data(pairs)));
        identity.putAll(source.toMetadata());
        TrainingTask task = new TrainingTask() {
            @Override
            public Batch batch(long step, int part, int parts) {
                SplittableRandom draw = batchRandom(batchSeed, step);
                int[] range = partRange(part, parts);
                List<Source> batchSources = new ArrayList<>(range[1] - range[0]);
                int[][] batchTargets = new int[range[1] - range[0]][];
                for (int b = 0; b < range[1]; b++) {
                    int i = training[draw.nextInt(training.length)];
                    if (b >= range[0]) {
                        batchSources.add(sources.get(i));
                        batchTargets[b - range[0]] = targets[i];
                    }
                }
                return new Batch(model.loss(batchSources, batchTargets), Seq2SeqModel.predictedTokens(batchTargets));
            }

            @Override
            public Evaluation evaluate() {
                return model.evaluate(validationSources, validationTargets, validationCharacters, run.batchSize());
            }

            @Override
            public Map<String, String> identity() {
                return identity;
            }

            @Override
            public boolean usesDropout() {
                return trainsWithDropout();
            }
        };
        List<Point> curve = loop(listeners).run(model.network(), task).curve();
        return new Result<>(model.withProvenance(provenance(identity, curve, runProvenance)), curve);
    }

    /**
     * The pairs held out for validation: a random {@code fraction} of {@code pairs} (at least one, and not all),
     * drawn with {@code seed}, in the order drawn (so its first k, which {@link #evaluationWindows} evaluates, are a
     * random sample too). A file sorted by source, length or topic is thus validated on a sample of all of it
     * rather than on its tail.
     *
     * @throws IllegalArgumentException if there are fewer than two pairs or fraction is not in [0, 1)
     */
    public static int[] validationSample(int pairs, float fraction, long seed) {
        if (pairs < 2 || !(fraction >= 0 && fraction < 1)) {
            throw new IllegalArgumentException("validationSample: need at least 2 pairs and a fraction in [0, 1), got "
                    + pairs + " and " + fraction);
        }
        int held = Math.max(1, Math.min(pairs - 1, (int) (pairs * fraction)));
        SplittableRandom rng = new SplittableRandom(seed);
        int[] order = new int[pairs];                                    // a random permutation (Fisher–Yates)
        for (int i = 0; i < pairs; i++) {
            int j = rng.nextInt(i + 1);
            order[i] = order[j];
            order[j] = i;
        }
        return Arrays.copyOf(order, held);
    }

    /** The indices in [0, n) that are not in {@code indices}, in increasing order. */
    private static int[] complement(int[] indices, int n) {
        boolean[] taken = new boolean[n];
        Arrays.stream(indices).forEach(i -> taken[i] = true);
        return IntStream.range(0, n).filter(i -> !taken[i]).toArray();
    }

    /** The pairs as one text, for the data's identity in checkpoints. */
    private static String data(List<Pair> pairs) {
        StringBuilder out = new StringBuilder();
        pairs.forEach(p -> out.append(p.source().identity()).append('\t').append(p.target()).append('\n'));
        return out.toString();
    }

    /**
     * Reads pairs from a UTF-8 file of {@code source<TAB>target} lines; empty lines are skipped.
     *
     * @throws IllegalArgumentException naming the line (1-based) that has no tab or more than one
     * @throws UncheckedIOException     if the file cannot be read or is not UTF-8, naming it and the first bad byte
     */
    public static List<Pair> readPairs(Path tsv) {
        List<String> lines;
        try {
            lines = Utf8.read(tsv).lines().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("reading pairs from " + tsv + " failed: " + e.getMessage(), e);
        }
        List<Pair> pairs = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isEmpty()) {
                continue;
            }
            int tab = line.indexOf('\t');
            if (tab < 0 || line.indexOf('\t', tab + 1) >= 0) {
                throw new IllegalArgumentException(tsv + " line " + (i + 1) + ": expected source<TAB>target with "
                        + "exactly one tab, got '" + line + "'");
            }
            pairs.add(new Pair(line.substring(0, tab), line.substring(tab + 1)));
        }
        return pairs;
    }

    /** Builds a {@link Seq2SeqTrainer} from code; each setter names the {@code @Config} field it sets. */
    public static final class Builder extends TextModelTrainer.Builder<Seq2SeqTrainer, Builder> {
        private final Seq2SeqTrainer trainer;

        private Builder() {
            this(new Seq2SeqTrainer());
        }

        private Builder(Seq2SeqTrainer trainer) {
            super(trainer);
            this.trainer = trainer;
        }

        /** What the encoder reads; without one, text ({@link TextSourceEncoder}). */
        public Builder source(SourceEncoder value) {
            trainer.source = value;
            return this;
        }
    }
}
