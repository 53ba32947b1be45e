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
import org.xformers4j.io.Checkpoint;
import org.xformers4j.models.nn.Architecture;
import org.xformers4j.nn.Linear;
import org.xformers4j.nn.ParameterState;
import org.xformers4j.optim.AdamW;
import org.xformers4j.optim.GradientClipping;
import org.xformers4j.optim.LearningRateSchedule;
import org.xformers4j.optim.NonFinite;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.RegistryAware;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.TreeMap;
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
 * <p>The network is the trainer's {@link Architecture} (an OLCUT component of its own, referred to
 * by the {@code architecture} property), whose attention mechanism and positional encoding are
 * named by their component registry names ({@code "full"}, {@code "flash"}, {@code "sinusoidal"},
 * …) with string hyperparameters. They are created through the {@link ComponentRegistry} the
 * trainer is given: {@link Builder#registry} from code, {@link #useRegistry} by a host that
 * configured the trainer from XML (which checks the names right away, an unknown one failing
 * naming the closest registered ones), and {@link ComponentRegistry#standalone()} (the class
 * path's providers) for a trainer never given one.
 *
 * <p>Optimisation is AdamW (Loshchilov and Hutter, 2019, "Decoupled Weight Decay Regularization")
 * on shuffled mini-batches, with a linear warm-up of {@code warmupSteps} steps followed by cosine
 * decay to zero over the remaining steps (Loshchilov and Hutter, 2017, "SGDR"), and optional
 * gradient-norm clipping (Pascanu et al., 2013). With {@code validationFraction > 0}, that fraction
 * of the training data is held out; after each epoch its loss is computed, and training stops after
 * {@code patience} epochs without improvement, returning the weights of the best epoch (early
 * stopping, Prechelt, 1998). Progress (epoch, loss, validation loss, examples per second) is
 * logged at {@link Level#INFO}.
 *
 * <p>With a {@code checkpointDirectory}, every {@code checkpointEvery} optimiser steps the network's
 * weights, AdamW's state and the progress are written atomically to {@value #CHECKPOINT_FILE}
 * there (a {@link Checkpoint}, replacing the previous one), and a trainer configured alike with
 * {@code resumeFrom} set to that file continues the run to the same final weights, bit for bit,
 * as if it had never stopped. No random state needs saving for that: the validation split and the
 * initial weights come from (seed, invocation), which the checkpoint records, each epoch's order
 * comes from a generator seeded by (seed, invocation, epoch) alone, and the dropout layers, which
 * own their generators, are brought to their state at the checkpoint by replaying the forward pass
 * (without grad) over the batches already trained on. Checkpoints hold the current weights, not
 * the best ones: with early stopping, the best weights so far are written to {@value #BEST_FILE}
 * whenever the validation loss improves (followed by a checkpoint naming them), and are restored
 * into the model only after training ends, resumed or not.
 *
 * <p>A NaN or infinite training loss, gradient (checked after {@code backward()}, before the
 * update) or parameter (checked after the update) stops training with an {@link
 * IllegalStateException} naming the step, the value or parameter, and the last checkpoint written.
 * No checkpoint is ever written from non-finite weights, nor from weights that cannot be trained
 * on: a checkpoint that falls due after a step is written only once the next step has computed a
 * finite loss and finite gradients from its weights (before that step's update, so its content is
 * exactly the state after the step it records), or when training ends. The checkpoint the error
 * names therefore resumes, for example with a lower learning rate (which is not part of the run's
 * identity).
 *
 * <p>Each call to {@link #train} draws its generator from a {@link SplittableRandom} seeded with
 * {@code seed} and split once per previous call (the invocation count), as Tribuo's SGD trainers
 * do, so repeated calls give different models and {@link #setInvocationCount(int)} reproduces one.
 * A resumed call takes the invocation count recorded in its checkpoint.
 *
 * @param <T> the Tribuo output type, matching the {@link OutputHead}
 */
public final class TransformerTrainer<T extends Output<T>> implements Trainer<T>, RegistryAware {

    private static final Logger logger = Logger.getLogger(TransformerTrainer.class.getName());

    /** Training examples the model's top features are averaged over (rollout costs grow with the token count cubed). */
    private static final int TOP_FEATURE_SAMPLE = 1000;

    /** The file in {@code checkpointDirectory} holding the latest checkpoint. */
    public static final String CHECKPOINT_FILE = "checkpoint.x4j";

    /** The file in {@code checkpointDirectory} holding the best weights so far, with validation. */
    public static final String BEST_FILE = "best.x4j";

    private static final String META_SEED = "seed";
    private static final String META_INVOCATION = "invocation";
    private static final String META_TRAIN_EXAMPLES = "trainExamples";
    private static final String META_STEPS_PER_EPOCH = "stepsPerEpoch";
    private static final String META_EPOCH_LOSS_SUM = "epochLossSum";
    private static final String META_BEST_VALIDATION_LOSS = "bestValidationLoss";
    private static final String META_BEST_STEP = "bestStep";
    private static final String META_EPOCHS_WITHOUT_IMPROVEMENT = "epochsWithoutImprovement";

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

    @Config(description = "Directory for checkpoints (" + CHECKPOINT_FILE + ", and " + BEST_FILE
            + " with validation), created if missing; empty for no checkpoints.")
    private String checkpointDirectory = "";

    @Config(description = "Optimiser steps between checkpoints, > 0.")
    private int checkpointEvery = 1000;

    @Config(description = "Checkpoint file to resume training from, written by a trainer with the same "
            + "configuration on the same data; empty to start afresh.")
    private String resumeFrom = "";

    private SplittableRandom rng;

    private int trainInvocationCounter;

    /** Where the architecture's components come from; see {@link #useRegistry}. */
    private volatile ComponentRegistry registry;

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
        if (registry == null) {
            throw new IllegalArgumentException("TransformerTrainer.useRegistry: registry must not be null");
        }
        architecture.checkComponents(registry);
        this.registry = registry;
    }

    /** The registry handed to {@link #useRegistry}, or the class path's when none was. */
    private ComponentRegistry registry() {
        ComponentRegistry current = registry;
        if (current == null) {
            synchronized (this) {
                if (registry == null) {
                    registry = ComponentRegistry.standalone();
                }
                current = registry;
            }
        }
        return current;
    }

    /** The network's architecture. */
    public Architecture architecture() {
        return architecture;
    }

    /**
     * Checks every field, naming the bad one and its value (the architecture checked its own when it
     * was configured); the component names are checked by {@link #useRegistry}, or when training.
     */
    @Override
    public synchronized void postConfig() {
        if (encoder == null) {
            throw new PropertyException("", "encoder", "encoder must not be null");
        }
        if (head == null) {
            throw new PropertyException("", "head", "head must not be null");
        }
        if (architecture == null) {
            throw new PropertyException("", "architecture", "architecture must not be null");
        }
        ConfigFields.probability("validationFraction", validationFraction);
        ConfigFields.positive("epochs", epochs);
        ConfigFields.positive("batchSize", batchSize);
        ConfigFields.positive("patience", patience);
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
        ConfigFields.positive("checkpointEvery", checkpointEvery);
        ConfigFields.path("checkpointDirectory", checkpointDirectory);
        ConfigFields.path("resumeFrom", resumeFrom);
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
        Checkpoint resume = resumeFrom.isEmpty() ? null : loadCheckpoint("resumeFrom", Path.of(resumeFrom));
        SplittableRandom localRng;
        TrainerProvenance trainerProvenance;
        int invocation;
        synchronized (this) {
            if (resume != null) {
                setInvocationCount((int) metadataNumber(resume, META_INVOCATION));
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
        shuffle(all, localRng);
        int validationSize = (int) Math.floor(all.size() * (double) validationFraction);
        if (validationFraction > 0f && (validationSize == 0 || validationSize == all.size())) {
            throw new IllegalArgumentException("TransformerTrainer: validationFraction = " + validationFraction
                    + " of " + all.size() + " examples leaves an empty training or validation set");
        }
        List<Example<T>> validation = all.subList(0, validationSize);
        List<Example<T>> train = new ArrayList<>(all.subList(validationSize, all.size()));

        OutputHead.Fitted<T> fitted = head.fit(outputInfo);
        TransformerNetwork network = new TransformerNetwork(architecture,
                encoder.fit(featureMap, train, architecture.modelDim(), localRng),
                architecture.encoder(registry(), localRng),
                new Linear(architecture.modelDim(), fitted.numOutputs(), true, localRng));

        int stepsPerEpoch = (train.size() + batchSize - 1) / batchSize;
        int totalSteps = epochs * stepsPerEpoch;
        long shuffleSeed = localRng.nextLong();
        AdamW optimizer = new AdamW(network, learningRate, 0.9f, 0.999f, 1e-8f, weightDecay);
        LearningRateSchedule schedule = LearningRateSchedule.cosineDecay(learningRate, 0.0, warmupSteps,
                Math.max(1, totalSteps - warmupSteps));
        Path checkpointDir = checkpointDirectory.isEmpty() ? null : createDirectory(Path.of(checkpointDirectory));
        RunIdentity runIdentity = new RunIdentity(seed, invocation, train.size(), stepsPerEpoch);

        Progress progress = resume == null ? Progress.START
                : resume(resume, Path.of(resumeFrom), network, optimizer, runIdentity);
        if (architecture.isStochastic()) {
            replayDropout(network, train, shuffleSeed, stepsPerEpoch, progress.step());
        }
        long step = progress.step();
        double bestValidationLoss = progress.bestValidationLoss();
        long bestStep = progress.bestStep();
        Map<String, ParameterState> best = progress.best();
        int epochsWithoutImprovement = progress.epochsWithoutImprovement();
        long savedStep = -1;                                    // the step of the last checkpoint this run wrote
        Progress pending = null;                                // a checkpoint due, written once the next step proves it
        Map<String, Tensor> parameters = network.namedParameters();
        Path checkpointFile = checkpointDir == null ? null : checkpointDir.resolve(CHECKPOINT_FILE);
        for (int e = progress.epoch(); e <= epochs; e++) {
            int epoch = e;
            long start = System.nanoTime();
            network.train();
            List<Example<T>> order = epochOrder(train, shuffleSeed, epoch);
            double lossSum = epoch == progress.epoch() ? progress.epochLossSum() : 0;
            for (int b = (int) (step - (long) (epoch - 1) * stepsPerEpoch); b < stepsPerEpoch; b++) {
                String where = "at step " + (step + 1) + " (epoch " + epoch + ", batch " + (b + 1) + " of "
                        + stepsPerEpoch + ")";
                List<Example<T>> batch = batch(order, b);
                Tensor loss = fitted.loss(network.forward(batch), batch);                  // logits [B, K] → scalar
                float value = loss.item();
                if (!Float.isFinite(value)) {
                    throw diverged("training loss is " + value + " " + where, savedStep, checkpointFile);
                }
                loss.backward();
                Optional<String> badGradient = NonFinite.gradient(parameters);
                if (badGradient.isPresent()) {
                    throw diverged("the gradient of '" + badGradient.get() + "' holds NaN or infinity " + where,
                            savedStep, checkpointFile);
                }
                if (pending != null) {                 // its weights just gave a finite loss and finite gradients
                    save(checkpointFile, network, optimizer, pending, runIdentity);
                    savedStep = pending.step();
                    pending = null;
                }
                lossSum += (double) value * batch.size();
                if (gradientClip > 0f) {
                    GradientClipping.clipGradNorm(network.parameters(), gradientClip);
                }
                schedule.applyTo(optimizer);
                optimizer.step();
                optimizer.zeroGrad();
                Optional<String> badParameter = NonFinite.value(parameters);
                if (badParameter.isPresent()) {
                    throw diverged("parameter '" + badParameter.get() + "' became NaN or infinite in the update "
                            + where, savedStep, checkpointFile);
                }
                step++;
                if (checkpointFile != null && step % checkpointEvery == 0) {
                    pending = new Progress(step, epoch, lossSum, bestValidationLoss, bestStep,
                            epochsWithoutImprovement, null);
                }
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
                bestStep = step;
                best = network.stateDict();
                epochsWithoutImprovement = 0;
                if (checkpointDir != null) {
                    // The best weights first, then a checkpoint that refers to them by step, so a
                    // checkpoint never names best weights that are not on disk; written after
                    // validation, the checkpoint resumes at the start of the next epoch.
                    savedStep = step;
                    pending = null;                    // superseded: the same weights, after validation
                    Progress now = new Progress(step, epoch + 1, 0, bestValidationLoss, bestStep, 0, null);
                    save(checkpointDir.resolve(BEST_FILE), network, optimizer, now, runIdentity);
                    save(checkpointFile, network, optimizer, now, runIdentity);
                }
            } else if (++epochsWithoutImprovement >= patience) {
                logger.info(() -> String.format("early stopping after epoch %d: no better validation loss in %d epochs",
                        epoch, patience));
                break;
            }
        }
        if (pending != null) {                         // the last step's weights, checked finite after its update
            save(checkpointFile, network, optimizer, pending, runIdentity);
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
        // top features: mean attention-rollout relevance over (at most) the first 1000 training examples
        return new TransformerModel<>("transformer-model", provenance, featureMap, outputInfo, probabilities, network,
                fitted, batchSize, train.subList(0, Math.min(train.size(), TOP_FEATURE_SAMPLE)));
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
        return "TransformerTrainer(encoder=" + encoder + ",head=" + head + ",architecture=" + architecture + ",epochs=" + epochs
                + ",batchSize=" + batchSize + ",learningRate=" + learningRate
                + ",weightDecay=" + weightDecay + ",warmupSteps=" + warmupSteps + ",gradientClip=" + gradientClip
                + ",validationFraction=" + validationFraction + ",patience=" + patience + ",seed=" + seed
                + ",checkpointDirectory='" + checkpointDirectory + "',checkpointEvery=" + checkpointEvery
                + ",resumeFrom='" + resumeFrom + "')";
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

    /**
     * Epoch {@code epoch}'s order of the training examples: a shuffle of {@code train} by a
     * generator seeded from (shuffleSeed, epoch) alone, so a resumed run finds the order of any
     * epoch without replaying the earlier ones.
     */
    private static <E> List<E> epochOrder(List<E> train, long shuffleSeed, int epoch) {
        List<E> order = new ArrayList<>(train);
        shuffle(order, new SplittableRandom(shuffleSeed + epoch));
        return order;
    }

    /**
     * Runs the forward pass, in training mode and without grad, over the first {@code steps}
     * training batches, so that the dropout layers, which own their generators, draw the same
     * masks as they did before the checkpoint and continue exactly where the interrupted run
     * stopped. Dropout draws one number per element, so the masks depend on the batches' shapes,
     * not on the weights.
     */
    private void replayDropout(TransformerNetwork network, List<Example<T>> train, long shuffleSeed,
                               int stepsPerEpoch, long steps) {
        network.train();
        try (GradMode.Scope scope = GradMode.noGrad()) {
            for (int epoch = 1; (long) (epoch - 1) * stepsPerEpoch < steps; epoch++) {
                List<Example<T>> order = epochOrder(train, shuffleSeed, epoch);
                long batches = Math.min(stepsPerEpoch, steps - (long) (epoch - 1) * stepsPerEpoch);
                for (int b = 0; b < batches; b++) {
                    network.forward(batch(order, b));
                }
            }
        }
    }

    /** Batch {@code b} of an epoch's order: examples [b * batchSize, (b + 1) * batchSize). */
    private List<Example<T>> batch(List<Example<T>> order, int b) {
        return order.subList(b * batchSize, Math.min((b + 1) * batchSize, order.size()));
    }

    /**
     * Where training stands after {@code step} optimiser steps: the epoch in progress (the next
     * one once an epoch's validation is done), the loss summed over that epoch's batches so far,
     * and the early-stopping state; {@code best} holds the best weights (null before the first
     * validation), which a checkpoint keeps in {@link #BEST_FILE} and refers to by {@code bestStep}.
     */
    private record Progress(long step, int epoch, double epochLossSum, double bestValidationLoss, long bestStep,
                            int epochsWithoutImprovement, Map<String, ParameterState> best) {

        static final Progress START = new Progress(0, 1, 0, Double.POSITIVE_INFINITY, -1, 0, null);

        Map<String, String> metadata() {
            return Map.of(META_EPOCH_LOSS_SUM, Double.toString(epochLossSum),
                    META_BEST_VALIDATION_LOSS, Double.toString(bestValidationLoss),
                    META_BEST_STEP, Long.toString(bestStep),
                    META_EPOCHS_WITHOUT_IMPROVEMENT, Integer.toString(epochsWithoutImprovement));
        }
    }

    /**
     * What a resumed run must share with the run that wrote the checkpoint for the two to take the
     * same steps: the seed and invocation (which fix the validation split, the initial weights and
     * every epoch's order), the number of training examples and the batches per epoch.
     */
    private record RunIdentity(long seed, int invocation, int trainExamples, int stepsPerEpoch) {

        Map<String, String> metadata() {
            return Map.of(META_SEED, Long.toString(seed), META_INVOCATION, Integer.toString(invocation),
                    META_TRAIN_EXAMPLES, Integer.toString(trainExamples),
                    META_STEPS_PER_EPOCH, Integer.toString(stepsPerEpoch));
        }
    }

    /**
     * The error that stops a diverged run: what went wrong and where, the usual remedies, and the
     * last checkpoint this run wrote ({@code savedStep} < 0 for none), which is good to resume from.
     */
    private IllegalStateException diverged(String problem, long savedStep, Path checkpointFile) {
        return new IllegalStateException("TransformerTrainer: " + problem + "; lower learningRate (" + learningRate
                + "), set gradientClip or check the data" + (savedStep < 0 ? "" : "; the last good checkpoint, of step "
                + savedStep + ", is " + checkpointFile));
    }

    /** Writes a checkpoint atomically; an I/O failure stops training, naming the file. */
    private static void save(Path path, TransformerNetwork network, AdamW optimizer, Progress progress,
                             RunIdentity identity) {
        Map<String, String> metadata = new TreeMap<>(identity.metadata());
        metadata.putAll(progress.metadata());
        try {
            Checkpoint.save(path, network, optimizer, progress.step(), progress.epoch(), metadata);
        } catch (IOException e) {
            throw new UncheckedIOException("TransformerTrainer: writing checkpoint " + path + " failed", e);
        }
    }

    /** Reads the checkpoint at {@code path}; {@code what} names it in errors. */
    private static Checkpoint loadCheckpoint(String what, Path path) {
        if (!Files.isRegularFile(path)) {
            throw new IllegalArgumentException("TransformerTrainer: " + what + " = " + path + ": no such file");
        }
        try {
            return Checkpoint.load(path);
        } catch (IOException e) {
            throw new UncheckedIOException("TransformerTrainer: reading checkpoint " + path + " failed", e);
        }
    }

    /** The number under {@code key} in a checkpoint's metadata. */
    private static double metadataNumber(Checkpoint checkpoint, String key) {
        String value = checkpoint.metadata().get(key);
        if (value == null) {
            throw new IllegalArgumentException("TransformerTrainer: resumeFrom checkpoint has no '" + key
                    + "' entry; it was not written by TransformerTrainer");
        }
        return Double.parseDouble(value);
    }

    /**
     * Loads {@code checkpoint} (read from {@code path}) into the freshly built network and
     * optimiser after checking it was written by the same run, and returns where training stands;
     * the best weights so far come from {@link #BEST_FILE} beside it.
     */
    private static Progress resume(Checkpoint checkpoint, Path path, TransformerNetwork network, AdamW optimizer,
                                   RunIdentity identity) {
        identity.metadata().forEach((key, expected) -> {
            String found = checkpoint.metadata().get(key);
            if (!expected.equals(found)) {
                throw new IllegalArgumentException("TransformerTrainer: resumeFrom = " + path + " was written with "
                        + key + " = " + found + " but this run has " + key + " = " + expected
                        + "; resume with the same trainer configuration and data");
            }
        });
        try {
            checkpoint.restore(network, optimizer);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("TransformerTrainer: resumeFrom = " + path
                    + " does not match this trainer's architecture: " + e.getMessage(), e);
        }
        long bestStep = (long) metadataNumber(checkpoint, META_BEST_STEP);
        Map<String, ParameterState> best = null;
        if (bestStep >= 0) {
            Path bestPath = path.resolveSibling(BEST_FILE);
            Checkpoint bestCheckpoint = loadCheckpoint("the best weights of resumeFrom", bestPath);
            if (bestCheckpoint.step() != bestStep) {
                throw new IllegalArgumentException("TransformerTrainer: resumeFrom = " + path + " refers to the best "
                        + "weights of step " + bestStep + " but " + bestPath + " holds step " + bestCheckpoint.step());
            }
            best = bestCheckpoint.modelState();
        }
        return new Progress(checkpoint.step(), checkpoint.epoch(), metadataNumber(checkpoint, META_EPOCH_LOSS_SUM),
                metadataNumber(checkpoint, META_BEST_VALIDATION_LOSS), bestStep,
                (int) metadataNumber(checkpoint, META_EPOCHS_WITHOUT_IMPROVEMENT), best);
    }

    private static Path createDirectory(Path directory) {
        try {
            return Files.createDirectories(directory);
        } catch (IOException e) {
            throw new UncheckedIOException("TransformerTrainer: checkpointDirectory = " + directory
                    + " cannot be created", e);
        }
    }

    /** Fisher–Yates shuffle in place. */
    private static <E> void shuffle(List<E> list, SplittableRandom rng) {
        for (int i = list.size() - 1; i > 0; i--) {
            Collections.swap(list, i, rng.nextInt(i + 1));
        }
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

        public Builder<T> checkpointDirectory(String value) {
            trainer.checkpointDirectory = value;
            return this;
        }

        public Builder<T> checkpointEvery(int value) {
            trainer.checkpointEvery = value;
            return this;
        }

        public Builder<T> resumeFrom(String value) {
            trainer.resumeFrom = value;
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
