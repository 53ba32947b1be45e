package org.xformers4j.models.lm;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.Configurable;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
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
import org.xformers4j.nn.FeedForward;

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
    public record Result<M extends TextGenerator>(M model, List<TrainingLoop.Point> curve) {
    }

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

    @Config(description = "Windows (sequences) per optimiser step.")
    protected int batchSize = 32;

    @Config(description = "Optimiser steps; the cosine learning-rate schedule spans them.")
    protected int steps = 2000;

    @Config(description = "Stop training after this many minutes even if steps remain; 0 for no limit.")
    protected double maxMinutes = 0;

    @Config(description = "Peak learning rate of AdamW, reached after the warm-up.")
    protected float learningRate = 2e-3f;

    @Config(description = "AdamW's decoupled weight decay (biases, norms and embeddings are not decayed).")
    protected float weightDecay = 0.1f;

    @Config(description = "Steps of linear learning-rate warm-up before the cosine decay.")
    protected int warmupSteps = 100;

    @Config(description = "Largest global gradient norm; gradients above it are rescaled. 0 for no clipping.")
    protected float gradientClip = 1f;

    @Config(description = "Fraction of the data held out for validation, in (0, 1).")
    protected float validationFraction = 0.1f;

    @Config(description = "Optimiser steps between validations (and progress lines).")
    protected int evaluateEvery = 100;

    @Config(description = "Most validation windows evaluated each time (0 for the whole validation data).")
    protected int evaluationWindows = 0;

    @Config(description = "Seed of every random choice: weights, batches, dropout.")
    protected long seed = 1;

    @Config(description = "Directory for the checkpoint " + TrainingLoop.CHECKPOINT_FILE + "; empty for none.")
    protected String checkpointDirectory = "";

    @Config(description = "Optimiser steps between checkpoints.")
    protected int checkpointEvery = 500;

    @Config(description = "Checkpoint file to resume from, written by a run with the same configuration and data.")
    protected String resumeFrom = "";

    /** Checks every field, naming the bad one and its value, and resolves the components once. */
    @Override
    public void postConfig() {
        ConfigFields.positive("modelDim", modelDim);
        ConfigFields.positive("heads", heads);
        ConfigFields.positive("layers", layers);
        ConfigFields.positive("contextLength", contextLength);
        ConfigFields.positive("batchSize", batchSize);
        ConfigFields.positive("steps", steps);
        ConfigFields.positive("evaluateEvery", evaluateEvery);
        ConfigFields.positive("checkpointEvery", checkpointEvery);
        if (modelDim % heads != 0) {
            throw new PropertyException("", "heads", "heads = " + heads + " must divide modelDim = " + modelDim);
        }
        if (hidden < 0) {
            throw new PropertyException("", "hidden", "hidden must be >= 0 (0 for 4 * modelDim), got " + hidden);
        }
        if (evaluationWindows < 0) {
            throw new PropertyException("", "evaluationWindows", "evaluationWindows must be >= 0 (0 for all), got "
                    + evaluationWindows);
        }
        ConfigFields.probability("dropout", dropout);
        ConfigFields.probability("attentionDropout", attentionDropout);
        if (!(validationFraction > 0f && validationFraction < 1f)) {
            throw new PropertyException("", "validationFraction", "validationFraction must be in (0, 1), got "
                    + validationFraction);
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
            settings();
        } catch (IllegalArgumentException e) {
            String field = e.getMessage().substring(0, Math.max(0, e.getMessage().indexOf(' ')));
            throw new PropertyException(e, "", field, e.getMessage());
        }
        ConfigFields.component(AttentionMechanism.class, "attention", attention, attentionOptions);
        ConfigFields.component(PositionalEncoding.class, "positional", positional, positionalOptions);
        ConfigFields.path("checkpointDirectory", checkpointDirectory);
        ConfigFields.path("resumeFrom", resumeFrom);
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

    /** The training loop's settings these fields describe. */
    protected TrainingLoop.Settings settings() {
        return new TrainingLoop.Settings(steps, maxMinutes * 60, learningRate, weightDecay, warmupSteps, gradientClip,
                evaluateEvery, checkpointDirectory.isEmpty() ? null : Path.of(checkpointDirectory), checkpointEvery,
                resumeFrom.isEmpty() ? null : Path.of(resumeFrom));
    }

    /** What a checkpoint must match to be resumed: the architecture, batch shape and seed, and the data. */
    protected Map<String, String> identity(String data) {
        Map<String, String> identity = new TreeMap<>(spec().toMetadata());
        identity.put("run.tokenizer", tokenizer + (tokenizer == TokenizerKind.BPE ? " " + vocabularySize : ""));
        identity.put("run.batchSize", Integer.toString(batchSize));
        identity.put("run.seed", Long.toString(seed));
        identity.put("run.validationFraction", Float.toString(validationFraction));
        identity.put("run.dataSha256", ModelFiles.sha256(data.getBytes(StandardCharsets.UTF_8)));
        return identity;
    }

    /**
     * How a model was trained, for {@link TextGenerator#provenance()}: the run's {@link #identity} entries
     * (architecture, tokenizer, batch size, seed, data hash), the optimisation settings, and what
     * the run reached: steps, final training and validation loss, validation bits per character,
     * training seconds, the date and the Java version.
     */
    protected Map<String, String> provenance(Map<String, String> identity, List<TrainingLoop.Point> curve) {
        Map<String, String> out = new TreeMap<>(identity);
        out.put("trainer", getClass().getName());
        out.put("run.steps", Integer.toString(steps));
        out.put("run.maxMinutes", Double.toString(maxMinutes));
        out.put("run.learningRate", Float.toString(learningRate));
        out.put("run.weightDecay", Float.toString(weightDecay));
        out.put("run.warmupSteps", Integer.toString(warmupSteps));
        out.put("run.gradientClip", Float.toString(gradientClip));
        out.put("run.resumeFrom", resumeFrom);
        TrainingLoop.Point last = curve.get(curve.size() - 1);
        out.put("result.steps", Long.toString(last.step()));
        out.put("result.trainLoss", Double.toString(last.trainLoss()));
        out.put("result.validationLoss", Double.toString(last.evaluation().loss()));
        out.put("result.validationBitsPerCharacter", Double.toString(last.evaluation().bitsPerCharacter()));
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

        public B batchSize(int value) {
            trainer.batchSize = value;
            return self();
        }

        public B steps(int value) {
            trainer.steps = value;
            return self();
        }

        public B maxMinutes(double value) {
            trainer.maxMinutes = value;
            return self();
        }

        public B learningRate(float value) {
            trainer.learningRate = value;
            return self();
        }

        public B weightDecay(float value) {
            trainer.weightDecay = value;
            return self();
        }

        public B warmupSteps(int value) {
            trainer.warmupSteps = value;
            return self();
        }

        public B gradientClip(float value) {
            trainer.gradientClip = value;
            return self();
        }

        public B validationFraction(float value) {
            trainer.validationFraction = value;
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

        public B seed(long value) {
            trainer.seed = value;
            return self();
        }

        public B checkpointDirectory(String value) {
            trainer.checkpointDirectory = value;
            return self();
        }

        public B checkpointEvery(int value) {
            trainer.checkpointEvery = value;
            return self();
        }

        public B resumeFrom(String value) {
            trainer.resumeFrom = value;
            return self();
        }

        /** The trainer, after {@link TextModelTrainer#postConfig()} has checked every field. */
        public T build() {
            trainer.postConfig();
            return trainer;
        }
    }
}
