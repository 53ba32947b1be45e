package org.xformers4j.models.tribuo;

import com.oracle.labs.mlrg.olcut.config.Config;
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
import org.xformers4j.io.Checkpoint;
import org.xformers4j.models.nn.Architecture;
import org.xformers4j.models.nn.ComponentSource;
import org.xformers4j.nn.Linear;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.RegistryAware;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.component.Hyperparameters;
import org.xformers4j.component.Range;
import org.xformers4j.train.Optimization;
import org.xformers4j.train.RunSettings;
import org.xformers4j.train.TrainingListener;
import org.xformers4j.train.TrainingLoop;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.logging.Logger;

/**
 * Trains a transformer encoder (Vaswani et al., 2017, "Attention Is All You Need") on any Tribuo
 * dataset: an {@link InputEncoder} turns each example into tokens (feature tokens as in
 * FT-Transformer, Gorishniy et al., 2021; image patches as in ViT, Dosovitskiy et al., 2021;
 * ordered text tokens), a stack of transformer blocks with the configured attention mechanism and
 * positional encoding reads them, the pooled vector (CLS token or mean) goes through one linear
 * layer to the K outputs of the {@link OutputHead}, which owns the loss and the predictions.
 *
 * <p>The network is the trainer's {@link Architecture} (an OLCUT component of its own, referred to
 * by the {@code architecture} property), whose attention mechanism and positional encoding are
 * named by their component registry names ({@code "full"}, {@code "flash"}, {@code "sinusoidal"},
 * …) with string hyperparameters. They are created through the {@link ComponentRegistry} the
 * trainer is given: {@link Builder#registry} from code, {@link #useRegistry} by a host that
 * configured the trainer from XML (which checks the names right away, an unknown one failing
 * naming the closest registered ones), and {@link ComponentRegistry#standalone()} (the class
 * path's providers) for a trainer never given one.
 *
 * <p>Training is the shared {@link TrainingLoop} over epochs of shuffled mini-batches: the
 * {@link Optimization} (AdamW with cosine decay by default) and the {@link RunSettings} (batch
 * size, gradient accumulation, seed, held-out fraction, early stopping in epochs, time budget,
 * atomic checkpoints and bit-exact resume) are configured as their own components; one point of
 * the curve per epoch (loss, held-out loss, examples per second) is logged at INFO, and a caller
 * watches a run with listeners of its own ({@link #train(Dataset, Map, List)}: progress, metrics). No random
 * state needs saving for a resume: the validation split and the initial weights come from (seed,
 * invocation), which the checkpoint records, and each epoch's order from (seed, invocation, epoch)
 * alone, so the batch of any step is known without replaying the earlier ones.
 *
 * <p>Each call to {@link #train} draws its generator from a {@link SplittableRandom} seeded with
 * {@code run.seed} and split once per previous call (the invocation count), as Tribuo's SGD trainers
 * do, so repeated calls give different models and {@link #setInvocationCount(int)} reproduces one.
 * A resumed call takes the invocation count recorded in its checkpoint.
 *
 * @param <T> the Tribuo output type, matching the {@link OutputHead}
 */
public final class TransformerTrainer<T extends Output<T>> implements Trainer<T>, RegistryAware {

    private static final Logger logger = Logger.getLogger(TransformerTrainer.class.getName());

    /** Training examples the model's top features are averaged over (rollout costs grow with the token count cubed). */
    private static final int TOP_FEATURE_SAMPLE = 1000;

    private static final String META_INVOCATION = "trainer.invocation";

    @Config(mandatory = true, description = "Turns examples into tokens (FeatureTokens, ImagePatches, TextTokens).")
    private InputEncoder encoder;

    @Config(mandatory = true, description = "Owns the loss and the predictions (LabelHead, RegressorHead, MultiLabelHead).")
    private OutputHead<T> head;

    @Config(description = "The network (an org.xformers4j.models.nn.Architecture component): attention and "
            + "positional encoding by registry name, widths, depth, norms, dropout, pooling. Without one, the "
            + "Architecture defaults: full attention, no positions, 2 pre-norm blocks of width 64 with 4 heads, CLS "
            + "pooling.")
    private Architecture architecture = Architecture.builder().build();

    @Config(description = "Number of passes over the training data (an upper bound with early stopping).")
    @Range(min = 1, max = Integer.MAX_VALUE)
    private int epochs = 10;

    @Config(description = "The optimiser, learning-rate schedule and clipping (org.xformers4j.train.Optimization); "
            + "by default AdamW at 1e-3 with betas (0.9, 0.999), weight decay 0.01 and cosine decay to 0.")
    private Optimization optimization = Optimization.builder().build();

    @Config(description = "Batch size (examples per step, and per forward pass when predicting), micro-batches, "
            + "seed, held-out fraction, early stopping, time budget and checkpoints (org.xformers4j.train.RunSettings); "
            + "by default batches of 64, Tribuo's default seed, no held-out data.")
    private RunSettings run = runDefaults().build();

    private SplittableRandom rng;

    private int trainInvocationCounter;

    /** This trainer's run defaults: batches of 64, Tribuo's default seed, no held-out data; a builder to change some. */
    public static RunSettings.Builder runDefaults() {
        return RunSettings.builder().batchSize(64).seed(Trainer.DEFAULT_SEED).validationFraction(0f);
    }

    /** Where the architecture's components come from; see {@link #useRegistry}. */
    private final ComponentSource components = new ComponentSource();

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

    /**
     * Creates the architecture's components through {@code registry} from now on, after checking
     * that it knows them and takes their options.
     */
    @Override
    public void useRegistry(ComponentRegistry registry) {
        components.use(registry, architecture);
    }

    /** The registry handed to {@link #useRegistry}, or the class path's when none was. */
    private ComponentRegistry registry() {
        return components.registry();
    }

    /** The network's architecture. */
    public Architecture architecture() {
        return architecture;
    }

    /** What turns each example into tokens. */
    public InputEncoder encoder() {
        return encoder;
    }

    /**
     * Checks every field, naming the bad one and its value (the architecture checked its own when it
     * was configured); the component names are checked by {@link #useRegistry}, or when training.
     */
    @Override
    public synchronized void postConfig() {
        Hyperparameters.validate(this);
        this.rng = new SplittableRandom(run.seed());
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
        return train(dataset, runProvenance, invocationCount, List.of());
    }

    /**
     * Trains on {@code dataset} as {@link #train(Dataset, Map)} does, watched by {@code listeners}
     * (progress, metrics) for this run only, in their order, after the loop's own.
     */
    public TransformerModel<T> train(Dataset<T> dataset, Map<String, Provenance> runProvenance,
                                     List<? extends TrainingListener> listeners) {
        return train(dataset, runProvenance, INCREMENT_INVOCATION_COUNT, listeners);
    }

    private TransformerModel<T> train(Dataset<T> dataset, Map<String, Provenance> runProvenance, int invocationCount,
                                      List<? extends TrainingListener> listeners) {
        if (dataset.size() == 0) {
            throw new IllegalArgumentException("TransformerTrainer: the training dataset is empty");
        }
        Integer resumedInvocation = run.resumeFrom() == null ? null : resumedInvocation(run.resumeFrom());
        SplittableRandom localRng;
        TrainerProvenance trainerProvenance;
        int invocation;
        synchronized (this) {
            if (resumedInvocation != null) {
                setInvocationCount(resumedInvocation);
            } else if (invocationCount != INCREMENT_INVOCATION_COUNT) {
                setInvocationCount(invocationCount);
            }
            invocation = trainInvocationCounter;
            localRng = rng.split();
            trainerProvenance = getProvenance();
            trainInvocationCounter++;
        }
        ImmutableFeatureMap featureMap = dataset.getFeatureIDMap();
        ImmutableOutputInfo<T> outputInfo = dataset.getOutputIDInfo();

        // Hold out the validation examples from a shuffled copy of the data.
        List<Example<T>> all = new ArrayList<>(dataset.getData());
        EpochTask.shuffle(all, localRng);
        int validationSize = (int) Math.floor(all.size() * (double) run.validationFraction());
        if (run.validationFraction() > 0f && (validationSize == 0 || validationSize == all.size())) {
            throw new IllegalArgumentException("TransformerTrainer: validationFraction = " + run.validationFraction()
                    + " of " + all.size() + " examples leaves an empty training or validation set");
        }
        List<Example<T>> validation = all.subList(0, validationSize);
        List<Example<T>> train = new ArrayList<>(all.subList(validationSize, all.size()));

        OutputHead.Fitted<T> fitted = head.fit(outputInfo);
        TransformerNetwork network = new TransformerNetwork(architecture,
                encoder.fit(featureMap, train, architecture.modelDim(), localRng),
                architecture.encoder(registry(), localRng),
                new Linear(architecture.modelDim(), fitted.numOutputs(), true, localRng));
        EpochTask<T> task = new EpochTask<>(network, fitted, train, validation, run, localRng.nextLong(),
                Map.of(META_INVOCATION, Integer.toString(invocation)));
        TrainingLoop loop = new TrainingLoop(optimization, run, epochs * task.stepsPerEpoch(),
                (int) task.stepsPerEpoch()).onPoint(point -> logger.info(() -> task.describe(point, epochs)));
        listeners.forEach(loop::addListener);
        loop.run(network, task);

        ModelProvenance provenance = new ModelProvenance(TransformerModel.class.getName(), OffsetDateTime.now(),
                dataset.getProvenance(), trainerProvenance, runProvenance);
        boolean probabilities;
        try (GradMode.Scope scope = GradMode.noGrad()) {
            List<Example<T>> first = train.subList(0, 1);
            probabilities = fitted.predictions(network.forward(first), first).get(0).hasProbabilities();
        }
        // top features: mean attention-rollout relevance over (at most) the first 1000 training examples
        return new TransformerModel<>("transformer-model", provenance, featureMap, outputInfo, probabilities, network,
                fitted, run.batchSize(), train.subList(0, Math.min(train.size(), TOP_FEATURE_SAMPLE)));
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
        this.rng = new SplittableRandom(run.seed());
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
        return "TransformerTrainer(encoder=" + encoder + ",head=" + head + ",architecture=" + architecture
                + ",epochs=" + epochs + "," + optimization + "," + run + ")";
    }

    /**
     * The invocation count recorded in the checkpoint to resume from: it fixes the validation split
     * and the initial weights, which must be those of the run that wrote it.
     */
    private static int resumedInvocation(Path checkpoint) {
        if (!Files.isRegularFile(checkpoint)) {
            throw new IllegalArgumentException("TransformerTrainer: resumeFrom = " + checkpoint + ": no such file");
        }
        String value;
        try {
            value = Checkpoint.load(checkpoint).metadata().get(META_INVOCATION);
        } catch (IOException e) {
            throw new UncheckedIOException("TransformerTrainer: reading checkpoint " + checkpoint + " failed: "
                    + e.getMessage(), e);
        }
        if (value == null || !value.matches("\\d{1,9}")) {
            throw new IllegalArgumentException("TransformerTrainer: resumeFrom = " + checkpoint + " has no valid '"
                    + META_INVOCATION + "' entry (" + value + "); it was not written by TransformerTrainer");
        }
        return Integer.parseInt(value);
    }

    /**
     * Builds a {@link TransformerTrainer} from code; each setter names the {@code @Config} field it
     * sets, and {@link #build()} checks them all. One builder builds one trainer.
     */
    public static final class Builder<T extends Output<T>> {
        private final TransformerTrainer<T> trainer = new TransformerTrainer<>();
        private ComponentRegistry registry;

        private Builder(InputEncoder encoder, OutputHead<T> head) {
            trainer.encoder = encoder;
            trainer.head = head;
        }

        /** The network; without one, the {@link Architecture} defaults. */
        public Builder<T> architecture(Architecture value) {
            trainer.architecture = value;
            return this;
        }

        /** The optimiser, schedule and clipping; without one, the {@link Optimization} defaults. */
        public Builder<T> optimization(Optimization value) {
            trainer.optimization = value;
            return this;
        }

        /** The batch, seed, held-out data, early stopping, time budget and checkpoints; see {@link #runDefaults()}. */
        public Builder<T> run(RunSettings value) {
            trainer.run = value;
            return this;
        }

        /**
         * The registry the architecture's components are created through (the OSGi service inside a
         * host); without one, {@link ComponentRegistry#standalone()}.
         */
        public Builder<T> registry(ComponentRegistry value) {
            registry = value;
            return this;
        }

        public Builder<T> epochs(int value) {
            trainer.epochs = value;
            return this;
        }

        /**
         * The trainer, after {@link TransformerTrainer#postConfig()} has checked every field and
         * {@link TransformerTrainer#useRegistry} the component names against the registry.
         */
        public TransformerTrainer<T> build() {
            trainer.postConfig();
            trainer.useRegistry(registry == null ? ComponentRegistry.standalone() : registry);
            return trainer;
        }
    }
}
