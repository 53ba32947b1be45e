package org.xformers4j.models.lm;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.Configurable;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.xformers4j.models.nn.Architecture;
import org.xformers4j.models.nn.ComponentSource;
import org.xformers4j.models.nn.TransformerEncoder;
import org.xformers4j.models.text.BytePairTokenizer;
import org.xformers4j.models.text.ByteTokenizer;
import org.xformers4j.models.text.Tokenizer;
import org.xformers4j.component.Hyperparameters;
import org.xformers4j.component.Range;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.RegistryAware;
import org.xformers4j.train.Evaluation;
import org.xformers4j.train.Optimization;
import org.xformers4j.train.Point;
import org.xformers4j.train.RunSettings;
import org.xformers4j.train.TrainingListener;
import org.xformers4j.train.TrainingLoop;

/**
 * The hyperparameters shared by the trainers of text models ({@link LanguageModelTrainer},
 * {@link Seq2SeqTrainer}): the tokenizer, the {@link Architecture} (a component of its own), the
 * training window, the optimisation and the checkpoints, as OLCUT {@code @Config} fields, so an
 * XML configuration or a builder sets them. {@link #postConfig()} checks every field and names the
 * bad one. The architecture's components are created through the registry handed to
 * {@link #useRegistry} (by a host, after configuring the trainer) or to {@link Builder#registry},
 * else through {@link ComponentRegistry#standalone()}.
 */
public abstract class TextModelTrainer implements Configurable, RegistryAware {

    /**
     * The architecture of a trainer configured without one: flash attention, rotary positions, 4
     * pre-norm blocks of width 128 with 4 heads and a GELU feed-forward of 512, tied embeddings, no
     * dropout, and mean pooling (no CLS token in a sequence-to-sequence model's encoder).
     */
    public static final Architecture DEFAULT_ARCHITECTURE = Architecture.builder().attention("flash", Map.of())
            .positional("rotary", Map.of()).modelDim(128).heads(4).layers(4)
            .pooling(TransformerEncoder.Pooling.MEAN).build();

    /** Where the architecture's components come from; see {@link #useRegistry}. */
    private final ComponentSource components = new ComponentSource();

    /**
     * What training produced.
     *
     * @param model the trained model, in evaluation mode
     * @param curve the learning curve, one point per evaluation
     * @param <M>   the kind of model
     */
    public record Result<M extends TextGenerator>(M model, List<Point> curve) {
    }

    /** The name of the held-out bits per character in an {@link Evaluation}'s metrics. */
    public static final String BITS_PER_CHARACTER = "bitsPerCharacter";

    /** Tokenizers a trainer can build from the training text. */
    public enum TokenizerKind {
        /** One token per UTF-8 byte (no unknown tokens); a character-level model for ASCII text. */
        BYTE,
        /** Byte-level byte-pair encoding trained on the training text up to {@code vocabularySize} tokens. */
        BPE
    }

    @Config(description = "Tokenizer: BYTE (one token per UTF-8 byte) or BPE (byte-level BPE trained on the text).")
    protected TokenizerKind tokenizer = TokenizerKind.BYTE;

    @Config(description = "Vocabulary size of a BPE tokenizer, special tokens included (>= 256 + special tokens).")
    @Range(min = 1, max = Integer.MAX_VALUE)
    protected int vocabularySize = 512;

    @Config(description = "The network (an org.xformers4j.models.nn.Architecture component): attention (it must "
            + "declare causal) and positional encoding by registry name, widths, depth, norms, dropout, tied "
            + "embeddings. Without one: flash attention, rotary positions, 4 pre-norm blocks of width 128 with 4 "
            + "heads, tied embeddings, mean pooling (for a sequence-to-sequence model's encoder).")
    protected Architecture architecture = DEFAULT_ARCHITECTURE;

    @Config(description = "Tokens per training window: the context the model learns to use, which it keeps "
            + "(generation shows it at most this many tokens). Not part of the architecture: no weight depends on "
            + "it; a positional encoding with a table of its own (learned, cosformer's maxLength) needs one at least "
            + "this long.")
    @Range(min = 1, max = Integer.MAX_VALUE)
    protected int contextLength = 128;

    @Config(description = "Optimiser steps; the learning-rate schedule spans them.")
    @Range(min = 1, max = Integer.MAX_VALUE)
    protected int steps = 2000;

    @Config(description = "Optimiser steps between validations (and progress lines).")
    @Range(min = 1, max = Integer.MAX_VALUE)
    protected int evaluateEvery = 100;

    @Config(description = "Most validation windows evaluated each time (0 for the whole validation data).")
    @Range(min = 0, max = Integer.MAX_VALUE)
    protected int evaluationWindows = 0;

    @Config(description = "The optimiser, learning-rate schedule and clipping (org.xformers4j.train.Optimization); "
            + "by default AdamW at 2e-3 with betas (0.9, 0.95), weight decay 0.1, 100 warm-up steps, cosine decay "
            + "to 0.1·lr and clipping at norm 1, as nanoGPT.")
    protected Optimization optimization = optimizationDefaults().build();

    @Config(description = "Batch size (windows per step), micro-batches, seed, held-out fraction (> 0), early "
            + "stopping, time budget and checkpoints (org.xformers4j.train.RunSettings).")
    protected RunSettings run = RunSettings.builder().build();

    /**
     * The text trainers' optimisation defaults, as nanoGPT's: AdamW at 2e-3 with betas (0.9, 0.95), weight
     * decay 0.1, 100 warm-up steps, cosine decay to 0.1·lr, clipping at norm 1; a builder to change some.
     */
    public static Optimization.Builder optimizationDefaults() {
        return Optimization.builder().learningRate(2e-3f).betas(0.9f, 0.95f).weightDecay(0.1f).warmupSteps(100)
                .finalLearningRateFraction(0.1f).gradientClip(1f);
    }

    /**
     * Checks every field, naming the bad one and its value (the architecture checked its own when it
     * was configured, but a decoder cannot be reversible); the component names are checked by
     * {@link #useRegistry}, or when training.
     */
    @Override
    public void postConfig() {
        Hyperparameters.validate(this);
        if (architecture.reversible()) {
            throw new PropertyException("", "architecture", "architecture.reversible = true, but a text model's "
                    + "decoder has no reversible blocks");
        }
        if (run.validationFraction() == 0f) {
            throw new PropertyException("", "run", "run.validationFraction must be > 0: a text model is validated on "
                    + "held-out text");
        }
        if (tokenizer == TokenizerKind.BPE && vocabularySize < ByteTokenizer.BYTE_TOKENS + specialTokens().size()) {
            throw new PropertyException("", "vocabularySize", "vocabularySize must be at least "
                    + (ByteTokenizer.BYTE_TOKENS + specialTokens().size()) + " (the bytes and special tokens), got "
                    + vocabularySize);
        }
    }

    /**
     * Creates the architecture's components through {@code registry} from now on, after checking
     * that it knows them and takes their options.
     */
    @Override
    public void useRegistry(ComponentRegistry registry) {
        components.use(registry, architecture);
    }

    /** The registry handed to {@link #useRegistry}, or the class path's when none was. */
    protected ComponentRegistry registry() {
        return components.registry();
    }

    /** The network's architecture. */
    public Architecture architecture() {
        return architecture;
    }

    /** Tokens per training window. */
    public int contextLength() {
        return contextLength;
    }

    /** The special tokens the trained model's tokenizer has (the sequence-to-sequence trainer's start and end). */
    protected abstract List<String> specialTokens();

    /** The tokenizer for {@code text}: bytes, or BPE trained on it. */
    protected Tokenizer tokenizerFor(String text) {
        return tokenizer == TokenizerKind.BYTE ? new ByteTokenizer(specialTokens())
                : BytePairTokenizer.train(text, vocabularySize, specialTokens());
    }

    /**
     * The generator of step {@code step}'s batch: a function of the run's batch seed and the step
     * alone, so a resumed run draws the batches it would have drawn (golden-ratio mixing of the step).
     */
    protected static SplittableRandom batchRandom(long batchSeed, long step) {
        return new SplittableRandom(batchSeed ^ (step * 0x9E3779B97F4A7C15L));
    }

    /** Whether training draws random numbers in the network (dropout, stochastic depth), which resuming replays. */
    protected boolean trainsWithDropout() {
        return architecture.isStochastic();
    }

    /** The training loop these fields describe, watched by {@code listeners} after its own. */
    protected TrainingLoop loop(List<? extends TrainingListener> listeners) {
        TrainingLoop loop = new TrainingLoop(optimization, run, steps, evaluateEvery);
        listeners.forEach(loop::addListener);
        return loop;
    }

    /**
     * The windows of micro-batch {@code part} of {@code parts} among a step's {@code run.batchSize()}:
     * [part·B/parts, (part + 1)·B/parts).
     */
    protected int[] partRange(int part, int parts) {
        return new int[] {part * run.batchSize() / parts, (part + 1) * run.batchSize() / parts};
    }

    /** What a checkpoint must match to be resumed: the architecture, batch shape and seed, and the data. */
    protected Map<String, String> identity(String data) {
        Map<String, String> identity = new TreeMap<>(architecture.toMetadata());
        identity.put("run.contextLength", Integer.toString(contextLength));
        identity.put("run.tokenizer", tokenizer + (tokenizer == TokenizerKind.BPE ? " " + vocabularySize : ""));
        identity.put("run.batchSize", Integer.toString(run.batchSize()));
        identity.put("run.gradientAccumulation", Integer.toString(run.gradientAccumulation()));
        identity.put("run.seed", Long.toString(run.seed()));
        identity.put("run.validationFraction", Float.toString(run.validationFraction()));
        identity.put("run.dataSha256", ModelFiles.sha256(data.getBytes(StandardCharsets.UTF_8)));
        return identity;
    }

    /**
     * How a model was trained, for {@link TextGenerator#provenance()}: the run's {@link #identity} entries
     * (architecture, tokenizer, batch size, seed, data hash), the optimisation settings, and what
     * the run reached: steps, final training and validation loss, validation bits per character,
     * training seconds, the date and the Java version; and the caller's {@code runProvenance} entries
     * (as Tribuo's run provenance: a command records the configuration file, its overrides and the
     * effective configuration), which cannot replace any of these.
     */
    protected Map<String, String> provenance(Map<String, String> identity, List<Point> curve,
                                             Map<String, String> runProvenance) {
        Map<String, String> out = new TreeMap<>(runProvenance);
        out.putAll(identity);
        out.put("trainer", getClass().getName());
        out.put("run.steps", Integer.toString(steps));
        out.put("run.optimization", optimization.toString());
        out.put("run.settings", run.toString());
        Point last = curve.get(curve.size() - 1);
        out.put("result.steps", Long.toString(last.step()));
        out.put("result.trainLoss", Double.toString(last.trainLoss()));
        out.put("result.validationLoss", Double.toString(last.evaluation().loss()));
        out.put("result.validationBitsPerCharacter", Double.toString(last.evaluation().metric(BITS_PER_CHARACTER)));
        out.put("result.trainSeconds", Double.toString(last.seconds()));
        out.put("trainedAt", OffsetDateTime.now().toString());
        out.put("javaVersion", System.getProperty("java.version"));
        return out;
    }

    /**
     * Sets a trainer's fields from code, each setter named after the {@code @Config} field it sets;
     * {@link #build()} checks them all with {@link #postConfig()}.
     *
     * @param <T> the trainer
     * @param <B> the concrete builder
     */
    public abstract static class Builder<T extends TextModelTrainer, B extends Builder<T, B>> {
        private final T trainer;
        private ComponentRegistry registry;

        protected Builder(T trainer) {
            this.trainer = trainer;
        }

        @SuppressWarnings("unchecked")
        private B self() {
            return (B) this;
        }

        /** The network; without one, {@link TextModelTrainer#DEFAULT_ARCHITECTURE}. */
        public B architecture(Architecture value) {
            trainer.architecture = value;
            return self();
        }

        /**
         * The registry the architecture's components are created through (the OSGi service inside a
         * host); without one, {@link ComponentRegistry#standalone()}.
         */
        public B registry(ComponentRegistry value) {
            registry = value;
            return self();
        }

        public B tokenizer(TokenizerKind value) {
            trainer.tokenizer = value;
            return self();
        }

        public B vocabularySize(int value) {
            trainer.vocabularySize = value;
            return self();
        }

        public B contextLength(int value) {
            trainer.contextLength = value;
            return self();
        }

        public B optimization(Optimization value) {
            trainer.optimization = value;
            return self();
        }

        public B run(RunSettings value) {
            trainer.run = value;
            return self();
        }

        public B steps(int value) {
            trainer.steps = value;
            return self();
        }

        public B evaluateEvery(int value) {
            trainer.evaluateEvery = value;
            return self();
        }

        public B evaluationWindows(int value) {
            trainer.evaluationWindows = value;
            return self();
        }

        /**
         * The trainer, after {@link TextModelTrainer#postConfig()} has checked every field and
         * {@link TextModelTrainer#useRegistry} the component names against the registry.
         */
        public T build() {
            trainer.postConfig();
            trainer.useRegistry(registry == null ? ComponentRegistry.standalone() : registry);
            return trainer;
        }
    }
}
