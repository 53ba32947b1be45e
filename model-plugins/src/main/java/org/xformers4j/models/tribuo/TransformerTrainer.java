package org.xformers4j.models.tribuo;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import com.oracle.labs.mlrg.olcut.provenance.Provenance;
import org.tribuo.Dataset;
import org.tribuo.Example;
import org.tribuo.ImmutableFeatureMap;
import org.tribuo.ImmutableOutputInfo;
import org.tribuo.Output;
import org.tribuo.Trainer;
import org.tribuo.provenance.ModelProvenance;
import org.tribuo.provenance.TrainerProvenance;
import org.tribuo.provenance.impl.TrainerProvenanceImpl;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.models.nn.BlockConfig;
import org.xformers4j.models.nn.EncoderConfig;
import org.xformers4j.models.nn.NormKind;
import org.xformers4j.models.nn.NormPlacement;
import org.xformers4j.models.nn.TransformerEncoder;
import org.xformers4j.nn.FeedForward;
import org.xformers4j.nn.Linear;
import org.xformers4j.nn.ParameterState;
import org.xformers4j.optim.AdamW;
import org.xformers4j.optim.GradientClipping;
import org.xformers4j.optim.LearningRateSchedule;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Trains a transformer encoder (Vaswani et al., 2017, "Attention Is All You Need") on any Tribuo
 * dataset: an {@link InputEncoder} turns each example into tokens (feature tokens as in
 * FT-Transformer, Gorishniy et al., 2021; image patches as in ViT, Dosovitskiy et al., 2021;
 * ordered text tokens), a stack of transformer blocks with the configured attention mechanism and
 * positional encoding reads them, the pooled vector (CLS token or mean) goes through one linear
 * layer to the K outputs of the {@link OutputHead}, which owns the loss and the predictions.
 *
 * <p>The attention mechanism and positional encoding are named by their component registry names
 * ({@code "full"}, {@code "flash"}, {@code "sinusoidal"}, …) with string hyperparameters, and are
 * found through {@link ComponentResolver}; an unknown name fails in {@link #postConfig()} naming the
 * closest registered ones.
 *
 * <p>Optimisation is AdamW (Loshchilov and Hutter, 2019, "Decoupled Weight Decay Regularization")
 * on shuffled mini-batches, with a linear warm-up of {@code warmupSteps} steps followed by cosine
 * decay to zero over the remaining steps (Loshchilov and Hutter, 2017, "SGDR"), and optional
 * gradient-norm clipping (Pascanu et al., 2013). With {@code validationFraction > 0}, that fraction
 * of the training data is held out; after each epoch its loss is computed, and training stops after
 * {@code patience} epochs without improvement, returning the weights of the best epoch (early
 * stopping, Prechelt, 1998). A NaN or infinite training loss stops training with an
 * {@link IllegalStateException}. Progress (epoch, loss, validation loss, examples per second) is
 * logged at {@link Level#INFO}.
 *
 * <p>Each call to {@link #train} draws its generator from a {@link SplittableRandom} seeded with
 * {@code seed} and split once per previous call (the invocation count), as Tribuo's SGD trainers
 * do, so repeated calls give different models and {@link #setInvocationCount(int)} reproduces one.
 *
 * @param <T> the Tribuo output type, matching the {@link OutputHead}
 */
public final class TransformerTrainer<T extends Output<T>> implements Trainer<T> {

    private static final Logger logger = Logger.getLogger(TransformerTrainer.class.getName());

    @Config(mandatory = true, description = "Turns examples into tokens (FeatureTokens, ImagePatches, TextTokens).")
    private InputEncoder encoder;

    @Config(mandatory = true, description = "Owns the loss and the predictions (LabelHead, RegressorHead, MultiLabelHead).")
    private OutputHead<T> head;

    @Config(description = "Registry name of the attention mechanism, e.g. full, flash, local, sliding-window, lsh.")
    private String attention = "full";

    @Config(description = "Hyperparameters of the attention mechanism, by name, as strings.")
    private Map<String, String> attentionOptions = new HashMap<>();

    @Config(description = "Registry name of the positional encoding, e.g. none, sinusoidal, learned, rotary.")
    private String positional = "none";

    @Config(description = "Hyperparameters of the positional encoding, by name, as strings.")
    private Map<String, String> positionalOptions = new HashMap<>();

    @Config(description = "Width D of the residual stream; a multiple of heads.")
    private int modelDim = 64;

    @Config(description = "Number of attention heads; must divide modelDim.")
    private int heads = 4;

    @Config(description = "Number of transformer blocks.")
    private int layers = 2;

    @Config(description = "Hidden size of the feed-forward sublayer; 0 for 4 * modelDim.")
    private int hidden = 0;

    @Config(description = "Feed-forward activation or gated variant.")
    private FeedForward.Activation activation = FeedForward.Activation.GELU;

    @Config(description = "Normalisation layer.")
    private NormKind norm = NormKind.LAYER;

    @Config(description = "Where the norms sit around each sublayer (PRE, POST, SANDWICH).")
    private NormPlacement normPlacement = NormPlacement.PRE;

    @Config(description = "How the sequence becomes one vector per example (CLS or MEAN).")
    private TransformerEncoder.Pooling pooling = TransformerEncoder.Pooling.CLS;

    @Config(description = "Dropout probability on each sublayer's output before the residual sum, in [0, 1).")
    private float dropout = 0f;

    @Config(description = "Number of passes over the training data (an upper bound with early stopping).")
    private int epochs = 10;

    @Config(description = "Examples per gradient step, and per forward pass when predicting.")
    private int batchSize = 64;

    @Config(description = "Peak learning rate of AdamW, reached after the warm-up.")
    private float learningRate = 1e-3f;

    @Config(description = "AdamW's decoupled weight decay (biases, norms and embeddings are not decayed).")
    private float weightDecay = 0.01f;

    @Config(description = "Steps of linear learning rate warm-up before the cosine decay.")
    private int warmupSteps = 0;

    @Config(description = "Largest global gradient norm; gradients above it are rescaled. 0 for no clipping.")
    private float gradientClip = 0f;

    @Config(description = "Fraction of the training data held out for early stopping, in [0, 1); 0 for none.")
    private float validationFraction = 0f;

    @Config(description = "Epochs without a better validation loss before training stops.")
    private int patience = 3;

    @Config(description = "Seed of the random number generator.")
    private long seed = Trainer.DEFAULT_SEED;

    private SplittableRandom rng;

    private int trainInvocationCounter;

    /** For OLCUT. */
    private TransformerTrainer() {
    }

    /**
     * A trainer with the architecture's and the optimiser's defaults ({@code full} attention, no
     * positional encoding, modelDim 64, 4 heads, 2 pre-norm LayerNorm blocks with a GELU
     * feed-forward, CLS pooling, no dropout, 10 epochs of batch 64 at learning rate 1e-3); change
     * them with the {@link Builder}.
     */
    public TransformerTrainer(InputEncoder encoder, OutputHead<T> head) {
        this.encoder = encoder;
        this.head = head;
        postConfig();
    }

    /** A builder starting from the defaults of {@link #TransformerTrainer(InputEncoder, OutputHead)}. */
    public static <T extends Output<T>> Builder<T> builder(InputEncoder encoder, OutputHead<T> head) {
        return new Builder<>(encoder, head);
    }

    /** Checks every field, naming the bad one and its value, and resolves the components once. */
    @Override
    public synchronized void postConfig() {
        if (encoder == null) {
            throw new PropertyException("", "encoder", "encoder must not be null");
        }
        if (head == null) {
            throw new PropertyException("", "head", "head must not be null");
        }
        positive("modelDim", modelDim);
        positive("heads", heads);
        positive("layers", layers);
        if (modelDim % heads != 0) {
            throw new PropertyException("", "heads", "heads = " + heads + " must divide modelDim = " + modelDim);
        }
        if (hidden < 0) {
            throw new PropertyException("", "hidden", "hidden must be >= 0 (0 for 4 * modelDim), got " + hidden);
        }
        probability("dropout", dropout);
        probability("validationFraction", validationFraction);
        positive("epochs", epochs);
        positive("batchSize", batchSize);
        positive("patience", patience);
        if (!(learningRate > 0f) || Float.isInfinite(learningRate)) {
            throw new PropertyException("", "learningRate", "learningRate must be finite and > 0, got " + learningRate);
        }
        if (!(weightDecay >= 0f) || Float.isInfinite(weightDecay)) {
            throw new PropertyException("", "weightDecay", "weightDecay must be finite and >= 0, got " + weightDecay);
        }
        if (warmupSteps < 0) {
            throw new PropertyException("", "warmupSteps", "warmupSteps must be >= 0, got " + warmupSteps);
        }
        if (!(gradientClip >= 0f) || Float.isInfinite(gradientClip)) {
            throw new PropertyException("", "gradientClip", "gradientClip must be finite and >= 0 (0 for none), got "
                    + gradientClip);
        }
        if (activation == null || norm == null || normPlacement == null || pooling == null) {
            throw new PropertyException("", "activation/norm/normPlacement/pooling", "must not be null, got "
                    + activation + ", " + norm + ", " + normPlacement + ", " + pooling);
        }
        createAttention();
        createPositional();
        this.rng = new SplittableRandom(seed);
        this.trainInvocationCounter = 0;
    }

    @Override
    public TransformerModel<T> train(Dataset<T> examples) {
        return train(examples, Collections.emptyMap());
    }

    @Override
    public TransformerModel<T> train(Dataset<T> examples, Map<String, Provenance> runProvenance) {
        return train(examples, runProvenance, INCREMENT_INVOCATION_COUNT);
    }

    @Override
    public TransformerModel<T> train(Dataset<T> dataset, Map<String, Provenance> runProvenance, int invocationCount) {
        if (dataset.size() == 0) {
            throw new IllegalArgumentException("TransformerTrainer: the training dataset is empty");
        }
        SplittableRandom localRng;
        TrainerProvenance trainerProvenance;
        synchronized (this) {
            if (invocationCount != INCREMENT_INVOCATION_COUNT) {
                setInvocationCount(invocationCount);
            }
            localRng = rng.split();
            trainerProvenance = getProvenance();
            trainInvocationCounter++;
        }
        ImmutableFeatureMap featureMap = dataset.getFeatureIDMap();
        ImmutableOutputInfo<T> outputInfo = dataset.getOutputIDInfo();

        // Hold out the validation examples from a shuffled copy of the data.
        List<Example<T>> all = new ArrayList<>(dataset.getData());
        shuffle(all, localRng);
        int validationSize = (int) Math.floor(all.size() * (double) validationFraction);
        if (validationFraction > 0f && (validationSize == 0 || validationSize == all.size())) {
            throw new IllegalArgumentException("TransformerTrainer: validationFraction = " + validationFraction
                    + " of " + all.size() + " examples leaves an empty training or validation set");
        }
        List<Example<T>> validation = all.subList(0, validationSize);
        List<Example<T>> train = new ArrayList<>(all.subList(validationSize, all.size()));

        OutputHead.Fitted<T> fitted = head.fit(outputInfo);
        TransformerNetwork network = new TransformerNetwork(
                encoder.fit(featureMap, train, modelDim, localRng),
                new TransformerEncoder(encoderConfig(), this::createAttention, createPositional(), localRng),
                new Linear(modelDim, fitted.numOutputs(), true, localRng));

        int stepsPerEpoch = (train.size() + batchSize - 1) / batchSize;
        int totalSteps = epochs * stepsPerEpoch;
        AdamW optimizer = new AdamW(network, learningRate, 0.9f, 0.999f, 1e-8f, weightDecay);
        LearningRateSchedule schedule = LearningRateSchedule.cosineDecay(learningRate, 0.0, warmupSteps,
                Math.max(1, totalSteps - warmupSteps));

        double bestValidationLoss = Double.POSITIVE_INFINITY;
        Map<String, ParameterState> best = null;
        int epochsWithoutImprovement = 0;
        for (int e = 1; e <= epochs; e++) {
            int epoch = e;
            long start = System.nanoTime();
            network.train();
            shuffle(train, localRng);
            double lossSum = 0;
            for (int from = 0; from < train.size(); from += batchSize) {
                List<Example<T>> batch = train.subList(from, Math.min(from + batchSize, train.size()));
                Tensor loss = fitted.loss(network.forward(batch), batch);                  // logits [B, K] → scalar
                float value = loss.item();
                if (!Float.isFinite(value)) {
                    throw new IllegalStateException("TransformerTrainer: training loss is " + value + " at epoch "
                            + epoch + ", step " + (optimizer.stepCount() + 1) + "; lower learningRate ("
                            + learningRate + ") or set gradientClip");
                }
                lossSum += (double) value * batch.size();
                loss.backward();
                if (gradientClip > 0f) {
                    GradientClipping.clipGradNorm(network.parameters(), gradientClip);
                }
                schedule.applyTo(optimizer);
                optimizer.step();
                optimizer.zeroGrad();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            double trainLoss = lossSum / train.size();
            if (validation.isEmpty()) {
                logger.log(Level.INFO, () -> String.format("epoch %d/%d: loss %.5f, %.0f examples/s",
                        epoch, epochs, trainLoss, train.size() / seconds));
                continue;
            }
            double validationLoss = meanLoss(network, fitted, validation);
            logger.log(Level.INFO, () -> String.format("epoch %d/%d: loss %.5f, validation loss %.5f, %.0f examples/s",
                    epoch, epochs, trainLoss, validationLoss, train.size() / seconds));
            if (validationLoss < bestValidationLoss) {
                bestValidationLoss = validationLoss;
                best = network.stateDict();
                epochsWithoutImprovement = 0;
            } else if (++epochsWithoutImprovement >= patience) {
                logger.info(() -> String.format("early stopping after epoch %d: no better validation loss in %d epochs",
                        epoch, patience));
                break;
            }
        }
        if (best != null) {
            network.loadStateDict(best);
        }

        ModelProvenance provenance = new ModelProvenance(TransformerModel.class.getName(), OffsetDateTime.now(),
                dataset.getProvenance(), trainerProvenance, runProvenance);
        network.eval();
        boolean probabilities;
        try (GradMode.Scope scope = GradMode.noGrad()) {
            List<Example<T>> first = train.subList(0, 1);
            probabilities = fitted.predictions(network.forward(first), first).get(0).hasProbabilities();
        }
        return new TransformerModel<>("transformer-model", provenance, featureMap, outputInfo, probabilities, network,
                fitted, batchSize);
    }

    @Override
    public int getInvocationCount() {
        return trainInvocationCounter;
    }

    @Override
    public synchronized void setInvocationCount(int invocationCount) {
        if (invocationCount < 0) {
            throw new IllegalArgumentException("TransformerTrainer: invocationCount must be >= 0, got "
                    + invocationCount);
        }
        this.rng = new SplittableRandom(seed);
        for (int i = 0; i < invocationCount; i++) {
            rng.split();
        }
        this.trainInvocationCounter = invocationCount;
    }

    @Override
    public TrainerProvenance getProvenance() {
        return new TrainerProvenanceImpl(this);
    }

    @Override
    public String toString() {
        return "TransformerTrainer(encoder=" + encoder + ",head=" + head + ",attention=" + attention
                + attentionOptions + ",positional=" + positional + positionalOptions + ",modelDim=" + modelDim
                + ",heads=" + heads + ",layers=" + layers + ",hidden=" + hiddenSize() + ",activation=" + activation
                + ",norm=" + norm + ",normPlacement=" + normPlacement + ",pooling=" + pooling + ",dropout=" + dropout
                + ",epochs=" + epochs + ",batchSize=" + batchSize + ",learningRate=" + learningRate
                + ",weightDecay=" + weightDecay + ",warmupSteps=" + warmupSteps + ",gradientClip=" + gradientClip
                + ",validationFraction=" + validationFraction + ",patience=" + patience + ",seed=" + seed + ")";
    }

    private EncoderConfig encoderConfig() {
        BlockConfig block = BlockConfig.builder(modelDim, heads).hidden(hiddenSize()).activation(activation)
                .norm(norm).placement(normPlacement).residualDropout(dropout).build();
        return EncoderConfig.builder(block, layers).pooling(pooling).build();
    }

    private int hiddenSize() {
        return hidden == 0 ? 4 * modelDim : hidden;
    }

    /** A new attention mechanism (one per block); an unknown name or bad option names the field. */
    private AttentionMechanism createAttention() {
        return create(AttentionMechanism.class, "attention", attention, attentionOptions);
    }

    private PositionalEncoding createPositional() {
        return create(PositionalEncoding.class, "positional", positional, positionalOptions);
    }

    private static <C extends org.xformers4j.component.Component> C create(Class<C> type, String field, String name,
                                                                          Map<String, String> options) {
        if (name == null) {
            throw new PropertyException("", field, field + " must name a registered component, got null");
        }
        try {
            return ComponentResolver.create(type, name, options == null ? Map.of() : options);
        } catch (IllegalArgumentException e) {
            throw new PropertyException(e, "", field, field + " = '" + name + "': " + e.getMessage());
        }
    }

    /** The mean loss over {@code examples}, in evaluation mode and without grad; leaves the network in eval mode. */
    private double meanLoss(TransformerNetwork network, OutputHead.Fitted<T> fitted, List<Example<T>> examples) {
        network.eval();
        double sum = 0;
        try (GradMode.Scope scope = GradMode.noGrad()) {
            for (int from = 0; from < examples.size(); from += batchSize) {
                List<Example<T>> batch = examples.subList(from, Math.min(from + batchSize, examples.size()));
                sum += (double) fitted.loss(network.forward(batch), batch).item() * batch.size();
            }
        }
        return sum / examples.size();
    }

    /** Fisher–Yates shuffle in place. */
    private static <E> void shuffle(List<E> list, SplittableRandom rng) {
        for (int i = list.size() - 1; i > 0; i--) {
            Collections.swap(list, i, rng.nextInt(i + 1));
        }
    }

    private static void positive(String field, int value) {
        if (value <= 0) {
            throw new PropertyException("", field, field + " must be positive, got " + value);
        }
    }

    private static void probability(String field, float value) {
        if (!(value >= 0f && value < 1f)) {
            throw new PropertyException("", field, field + " must be in [0, 1), got " + value);
        }
    }

    /**
     * Builds a {@link TransformerTrainer} from code; each setter names the {@code @Config} field it
     * sets, and {@link #build()} checks them all. One builder builds one trainer.
     */
    public static final class Builder<T extends Output<T>> {
        private final TransformerTrainer<T> trainer = new TransformerTrainer<>();

        private Builder(InputEncoder encoder, OutputHead<T> head) {
            trainer.encoder = encoder;
            trainer.head = head;
        }

        public Builder<T> attention(String name, Map<String, String> options) {
            trainer.attention = name;
            trainer.attentionOptions = new HashMap<>(options);
            return this;
        }

        public Builder<T> positional(String name, Map<String, String> options) {
            trainer.positional = name;
            trainer.positionalOptions = new HashMap<>(options);
            return this;
        }

        public Builder<T> modelDim(int value) {
            trainer.modelDim = value;
            return this;
        }

        public Builder<T> heads(int value) {
            trainer.heads = value;
            return this;
        }

        public Builder<T> layers(int value) {
            trainer.layers = value;
            return this;
        }

        public Builder<T> hidden(int value) {
            trainer.hidden = value;
            return this;
        }

        public Builder<T> activation(FeedForward.Activation value) {
            trainer.activation = value;
            return this;
        }

        public Builder<T> norm(NormKind value) {
            trainer.norm = value;
            return this;
        }

        public Builder<T> normPlacement(NormPlacement value) {
            trainer.normPlacement = value;
            return this;
        }

        public Builder<T> pooling(TransformerEncoder.Pooling value) {
            trainer.pooling = value;
            return this;
        }

        public Builder<T> dropout(float value) {
            trainer.dropout = value;
            return this;
        }

        public Builder<T> epochs(int value) {
            trainer.epochs = value;
            return this;
        }

        public Builder<T> batchSize(int value) {
            trainer.batchSize = value;
            return this;
        }

        public Builder<T> learningRate(float value) {
            trainer.learningRate = value;
            return this;
        }

        public Builder<T> weightDecay(float value) {
            trainer.weightDecay = value;
            return this;
        }

        public Builder<T> warmupSteps(int value) {
            trainer.warmupSteps = value;
            return this;
        }

        public Builder<T> gradientClip(float value) {
            trainer.gradientClip = value;
            return this;
        }

        public Builder<T> validationFraction(float value) {
            trainer.validationFraction = value;
            return this;
        }

        public Builder<T> patience(int value) {
            trainer.patience = value;
            return this;
        }

        public Builder<T> seed(long value) {
            trainer.seed = value;
            return this;
        }

        /** The trainer, after {@link TransformerTrainer#postConfig()} has checked every field. */
        public TransformerTrainer<T> build() {
            trainer.postConfig();
            return trainer;
        }
    }
}
