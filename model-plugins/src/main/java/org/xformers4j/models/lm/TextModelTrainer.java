package org.xformers4j.models.lm;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.Configurable;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.models.nn.BlockConfig;
import org.xformers4j.models.nn.NormKind;
import org.xformers4j.models.nn.NormPlacement;
import org.xformers4j.models.text.BytePairTokenizer;
import org.xformers4j.models.text.ByteTokenizer;
import org.xformers4j.models.text.Tokenizer;
import org.xformers4j.models.tribuo.ConfigFields;
import org.xformers4j.component.Hyperparameters;
import org.xformers4j.component.Range;
import org.xformers4j.nn.FeedForward;
import org.xformers4j.train.Evaluation;
import org.xformers4j.train.Optimization;
import org.xformers4j.train.Point;
import org.xformers4j.train.RunSettings;
import org.xformers4j.train.TrainingLoop;

/**
 * The hyperparameters shared by the trainers of text models ({@link LanguageModelTrainer},
 * {@link Seq2SeqTrainer}): the tokenizer, the architecture by registered component names, the
 * optimisation and the checkpoints, as OLCUT {@code @Config} fields, so an XML configuration or a
 * builder sets them. {@link #postConfig()} checks every field and names the bad one.
 */
public abstract class TextModelTrainer implements Configurable {

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
    protected int vocabularySize = 512;

    @Config(description = "Registry name of the attention mechanism; it must declare causal (e.g. full, flash, "
            + "sliding-window).")
    protected String attention = "flash";

    @Config(description = "Hyperparameters of the attention mechanism, by name, as strings.")
    protected Map<String, String> attentionOptions = new HashMap<>();

    @Config(description = "Registry name of the positional encoding, e.g. rotary, alibi, learned, sinusoidal.")
    protected String positional = "rotary";

    @Config(description = "Hyperparameters of the positional encoding, by name, as strings.")
    protected Map<String, String> positionalOptions = new HashMap<>();

    @Config(description = "Width D of the residual stream; a multiple of heads.")
    protected int modelDim = 128;

    @Config(description = "Number of attention heads; must divide modelDim.")
    protected int heads = 4;

    @Config(description = "Number of transformer blocks.")
    protected int layers = 4;

    @Config(description = "Hidden size of the feed-forward sublayer; 0 for 4 * modelDim.")
    protected int hidden = 0;

    @Config(description = "Feed-forward activation or gated variant.")
    protected FeedForward.Activation activation = FeedForward.Activation.GELU;

    @Config(description = "Normalisation layer.")
    protected NormKind norm = NormKind.LAYER;

    @Config(description = "Where the norms sit around each sublayer (PRE, POST, SANDWICH).")
    protected NormPlacement normPlacement = NormPlacement.PRE;

    @Config(description = "Dropout probability on each sublayer's output before the residual sum, in [0, 1).")
    protected float dropout = 0f;

    @Config(description = "Dropout probability on the attention weights, in [0, 1).")
    protected float attentionDropout = 0f;

    @Config(description = "Compute the logits with the token embedding table (Press and Wolf, 2017).")
    protected boolean tiedEmbeddings = true;

    @Config(description = "Tokens per training window: the context the model learns to use.")
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

    @Config(description = "Batch size (windows per step), micro-batches, seed, held-out fraction, early stopping, "
            + "time budget and checkpoints (org.xformers4j.train.RunSettings).")
    protected RunSettings run = RunSettings.builder().build();

    /**
     * The text trainers' optimisation defaults, as nanoGPT's: AdamW at 2e-3 with betas (0.9, 0.95), weight
     * decay 0.1, 100 warm-up steps, cosine decay to 0.1·lr, clipping at norm 1; a builder to change some.
     */
    public static Optimization.Builder optimizationDefaults() {
        return Optimization.builder().learningRate(2e-3f).betas(0.9f, 0.95f).weightDecay(0.1f).warmupSteps(100)
                .finalLearningRateFraction(0.1f).gradientClip(1f);
    }

    /** Checks every field, naming the bad one and its value, and resolves the components once. */
    @Override
    public void postConfig() {
        ConfigFields.positive("modelDim", modelDim);
        ConfigFields.positive("heads", heads);
        ConfigFields.positive("layers", layers);
        ConfigFields.positive("contextLength", contextLength);
        Hyperparameters.validate(this);
        if (modelDim % heads != 0) {
            throw new PropertyException("", "heads", "heads = " + heads + " must divide modelDim = " + modelDim);
        }
        if (hidden < 0) {
            throw new PropertyException("", "hidden", "hidden must be >= 0 (0 for 4 * modelDim), got " + hidden);
        }
        ConfigFields.probability("dropout", dropout);
        ConfigFields.probability("attentionDropout", attentionDropout);
        if (optimization == null || run == null) {
            throw new PropertyException("", "optimization/run", "must not be null, got " + optimization + ", " + run);
        }
        if (run.validationFraction() == 0f) {
            throw new PropertyException("", "run", "run.validationFraction must be > 0: a text model is validated on "
                    + "held-out text");
        }
        if (tokenizer == null || activation == null || norm == null || normPlacement == null) {
            throw new PropertyException("", "tokenizer/activation/norm/normPlacement", "must not be null, got "
                    + tokenizer + ", " + activation + ", " + norm + ", " + normPlacement);
        }
        if (tokenizer == TokenizerKind.BPE && vocabularySize < ByteTokenizer.BYTE_TOKENS + specialTokens().size()) {
            throw new PropertyException("", "vocabularySize", "vocabularySize must be at least "
                    + (ByteTokenizer.BYTE_TOKENS + specialTokens().size()) + " (the bytes and special tokens), got "
                    + vocabularySize);
        }
        try {
            loop();
        } catch (IllegalArgumentException e) {
            throw new PropertyException(e, "", "optimization", e.getMessage());
        }
        ConfigFields.component(AttentionMechanism.class, "attention", attention, attentionOptions);
        ConfigFields.component(PositionalEncoding.class, "positional", positional, positionalOptions);
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

    /** Whether training draws dropout masks (residual or attention dropout), which resuming replays. */
    protected boolean trainsWithDropout() {
        return dropout > 0f || attentionDropout > 0f;
    }

    /** The architecture these fields describe. */
    protected DecoderSpec spec() {
        BlockConfig block = BlockConfig.builder(modelDim, heads).hidden(hidden == 0 ? 4 * modelDim : hidden)
                .activation(activation).norm(norm).placement(normPlacement).residualDropout(dropout).build();
        return new DecoderSpec(attention, attentionOptions, positional, positionalOptions, block, layers,
                tiedEmbeddings, attentionDropout, contextLength);
    }

    /** The training loop these fields describe. */
    protected TrainingLoop loop() {
        return new TrainingLoop(optimization, run, steps, evaluateEvery);
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
        Map<String, String> identity = new TreeMap<>(spec().toMetadata());
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
     * training seconds, the date and the Java version.
     */
    protected Map<String, String> provenance(Map<String, String> identity, List<Point> curve) {
        Map<String, String> out = new TreeMap<>(identity);
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

        protected Builder(T trainer) {
            this.trainer = trainer;
        }

        @SuppressWarnings("unchecked")
        private B self() {
            return (B) this;
        }

        public B attention(String name, Map<String, String> options) {
            trainer.attention = name;
            trainer.attentionOptions = new HashMap<>(options);
            return self();
        }

        public B positional(String name, Map<String, String> options) {
            trainer.positional = name;
            trainer.positionalOptions = new HashMap<>(options);
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

        public B modelDim(int value) {
            trainer.modelDim = value;
            return self();
        }

        public B heads(int value) {
            trainer.heads = value;
            return self();
        }

        public B layers(int value) {
            trainer.layers = value;
            return self();
        }

        public B hidden(int value) {
            trainer.hidden = value;
            return self();
        }

        public B activation(FeedForward.Activation value) {
            trainer.activation = value;
            return self();
        }

        public B norm(NormKind value) {
            trainer.norm = value;
            return self();
        }

        public B normPlacement(NormPlacement value) {
            trainer.normPlacement = value;
            return self();
        }

        public B dropout(float value) {
            trainer.dropout = value;
            return self();
        }

        public B attentionDropout(float value) {
            trainer.attentionDropout = value;
            return self();
        }

        public B tiedEmbeddings(boolean value) {
            trainer.tiedEmbeddings = value;
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





        /** The trainer, after {@link TextModelTrainer#postConfig()} has checked every field. */
        public T build() {
            trainer.postConfig();
            return trainer;
        }
    }
}
