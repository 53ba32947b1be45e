package org.xformers4j.train;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.Configurable;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import com.oracle.labs.mlrg.olcut.provenance.ConfiguredObjectProvenance;
import com.oracle.labs.mlrg.olcut.provenance.Provenancable;
import com.oracle.labs.mlrg.olcut.provenance.impl.ConfiguredObjectProvenanceImpl;
import org.xformers4j.component.Hyperparameters;
import org.xformers4j.component.Range;
import org.xformers4j.nn.Module;
import org.xformers4j.optim.Adam;
import org.xformers4j.optim.AdamW;
import org.xformers4j.optim.LearningRateSchedule;
import org.xformers4j.optim.Optimizer;
import org.xformers4j.optim.Sgd;

/**
 * How a {@link TrainingLoop} updates the weights: the optimiser with its hyperparameters, the
 * learning-rate schedule and gradient clipping, as one OLCUT configuration shared by every
 * trainer. The defaults are AdamW (Loshchilov and Hutter, 2019, "Decoupled Weight Decay
 * Regularization") at learning rate 1e-3 with betas (0.9, 0.999), weight decay 0.01 on the
 * module's weight matrices, a linear warm-up of 0 steps and cosine decay to 0 (Loshchilov and
 * Hutter, 2017, "SGDR"), no clipping. Every numeric field carries its {@link Range}, checked by
 * {@link #postConfig()} through {@link Hyperparameters#validate}.
 *
 * <pre>{@code
 * <component name="optimization" type="org.xformers4j.train.Optimization">
 *   <property name="learningRate" value="2e-3"/>
 *   <property name="beta2" value="0.95"/>
 *   <property name="schedule" value="WARMUP_COSINE"/>
 *   <property name="warmupSteps" value="100"/>
 * </component>
 * }</pre>
 */
public final class Optimization implements Configurable, Provenancable<ConfiguredObjectProvenance> {

    /** The update rule. */
    public enum Algorithm {
        /** Adam with decoupled weight decay (Loshchilov and Hutter, 2019). */
        ADAMW,
        /** Adam (Kingma and Ba, 2015) with L2 weight decay added to the gradient. */
        ADAM,
        /** Stochastic gradient descent with optional (Nesterov) momentum (Sutskever et al., 2013). */
        SGD
    }

    /** The learning rate as a function of the step; {@code learningRate} is the peak. */
    public enum Schedule {
        /** {@code learningRate} at every step (after the warm-up, if any). */
        CONSTANT,
        /**
         * Linear warm-up, then cosine decay towards {@code finalLearningRateFraction}·learningRate, reached
         * one step after the last (PyTorch's {@code CosineAnnealingLR} over the steps after the warm-up).
         */
        WARMUP_COSINE,
        /** Linear warm-up, then decay with 1/√step (Vaswani et al., 2017, §5.3); needs warmupSteps > 0. */
        INVERSE_SQRT,
        /** Linear warm-up, then linear decay towards {@code finalLearningRateFraction}·learningRate, as WARMUP_COSINE. */
        LINEAR
    }

    /** Which parameters weight decay applies to. */
    public enum DecayPolicy {
        /** All but those the module lists as no-decay: biases, normalisation gains, embeddings, positional tables. */
        WEIGHTS_ONLY,
        /** Every parameter. */
        ALL
    }

    @Config(description = "Update rule: ADAMW, ADAM or SGD.")
    private Algorithm algorithm = Algorithm.ADAMW;

    @Config(description = "Peak learning rate, reached after the warm-up.")
    @Range(min = 0, minInclusive = false, max = Float.MAX_VALUE)
    private float learningRate = 1e-3f;

    @Config(description = "Adam's decay rate of the first moment.")
    @Range(min = 0, max = 1, maxInclusive = false)
    private float beta1 = 0.9f;

    @Config(description = "Adam's decay rate of the second moment (0.95 is usual for language models).")
    @Range(min = 0, max = 1, maxInclusive = false)
    private float beta2 = 0.999f;

    @Config(description = "Adam's term added to the denominator for numerical stability.")
    @Range(min = 0, minInclusive = false, max = 1)
    private float eps = 1e-8f;

    @Config(description = "Weight decay: decoupled for ADAMW, L2 for ADAM and SGD.")
    @Range(min = 0, max = 10)
    private float weightDecay = 0.01f;

    @Config(description = "Which parameters are decayed: WEIGHTS_ONLY (not biases, norms, embeddings) or ALL.")
    private DecayPolicy decayPolicy = DecayPolicy.WEIGHTS_ONLY;

    @Config(description = "SGD's momentum, 0 for none.")
    @Range(min = 0, max = 1, maxInclusive = false)
    private float momentum = 0f;

    @Config(description = "SGD with Nesterov momentum (needs momentum > 0).")
    private boolean nesterov = false;

    @Config(description = "Learning-rate schedule: CONSTANT, WARMUP_COSINE, INVERSE_SQRT or LINEAR.")
    private Schedule schedule = Schedule.WARMUP_COSINE;

    @Config(description = "Steps of linear learning-rate warm-up from 0 to learningRate.")
    @Range(min = 0, max = Integer.MAX_VALUE)
    private int warmupSteps = 0;

    @Config(description = "Where WARMUP_COSINE and LINEAR decay to (reached one step after the last), as a "
            + "fraction of learningRate.")
    @Range(min = 0, max = 1)
    private float finalLearningRateFraction = 0f;

    @Config(description = "Largest global gradient norm (Pascanu et al., 2013); larger gradients are rescaled. "
            + "0 for no clipping.")
    @Range(min = 0, max = Float.MAX_VALUE)
    private float gradientClip = 0f;

    /** AdamW with the defaults above; change them with {@link #builder()} or OLCUT. */
    public Optimization() {
    }

    /** A builder starting from the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** Checks every field against its range and the few rules between fields, naming the field. */
    @Override
    public void postConfig() {
        Hyperparameters.validate(this);
        if (algorithm == null || schedule == null || decayPolicy == null) {
            throw new PropertyException("", "algorithm/schedule/decayPolicy", "must not be null, got " + algorithm
                    + ", " + schedule + ", " + decayPolicy);
        }
        if (nesterov && (algorithm != Algorithm.SGD || momentum == 0f)) {
            throw new PropertyException("", "nesterov", "nesterov needs algorithm SGD and momentum > 0, got "
                    + algorithm + " with momentum " + momentum);
        }
        if (schedule == Schedule.INVERSE_SQRT && warmupSteps == 0) {
            throw new PropertyException("", "warmupSteps", "the INVERSE_SQRT schedule peaks at the end of the "
                    + "warm-up, so warmupSteps must be > 0");
        }
    }

    /** A new optimiser over {@code network}'s parameters. */
    public Optimizer optimizer(Module network) {
        boolean all = decayPolicy == DecayPolicy.ALL;
        return switch (algorithm) {
            case ADAMW -> all ? new AdamW(network.parameters(), learningRate, beta1, beta2, eps, weightDecay)
                    : new AdamW(network, learningRate, beta1, beta2, eps, weightDecay);
            case ADAM -> all ? new Adam(network.parameters(), learningRate, beta1, beta2, eps, weightDecay)
                    : new Adam(network, learningRate, beta1, beta2, eps, weightDecay);
            case SGD -> all ? new Sgd(network.parameters(), learningRate, momentum, 0f, nesterov, weightDecay)
                    : new Sgd(network, learningRate, momentum, 0f, nesterov, weightDecay);
        };
    }

    /**
     * The learning rate of steps 1 … {@code steps}. A warm-up as long as the run or longer warms up
     * all the way (as PyTorch's schedulers do); the decay then never starts.
     */
    public LearningRateSchedule schedule(long steps) {
        int decaySteps = (int) Math.max(1, Math.min(Integer.MAX_VALUE, steps - warmupSteps));
        double floor = (double) learningRate * finalLearningRateFraction;
        return switch (schedule) {
            case CONSTANT -> warmupSteps == 0 ? LearningRateSchedule.constant(learningRate)
                    : LearningRateSchedule.linearWarmup(learningRate, warmupSteps);
            case WARMUP_COSINE -> LearningRateSchedule.cosineDecay(learningRate, floor, warmupSteps, decaySteps);
            case INVERSE_SQRT -> LearningRateSchedule.inverseSquareRoot(learningRate, warmupSteps);
            case LINEAR -> LearningRateSchedule.linearDecay(learningRate, floor, warmupSteps, decaySteps);
        };
    }

    /** The largest global gradient norm, 0 for no clipping. */
    public float gradientClip() {
        return gradientClip;
    }

    /** The peak learning rate. */
    public float learningRate() {
        return learningRate;
    }

    /** Its configuration, for the provenance of the models it trains (Tribuo's and OLCUT's record of a run). */
    @Override
    public ConfiguredObjectProvenance getProvenance() {
        return new ConfiguredObjectProvenanceImpl(this, "Optimization");
    }

    @Override
    public String toString() {
        return "Optimization(" + algorithm + ", learningRate=" + learningRate + ", betas=(" + beta1 + ", " + beta2
                + "), eps=" + eps + ", weightDecay=" + weightDecay + " on " + decayPolicy + ", momentum=" + momentum
                + (nesterov ? " nesterov" : "") + ", " + schedule + " with " + warmupSteps + " warm-up steps to "
                + finalLearningRateFraction + "·lr, gradientClip=" + gradientClip + ")";
    }

    /** Sets the fields from code, each setter named after its {@code @Config} field; {@link #build()} checks them. */
    public static final class Builder {
        private final Optimization o = new Optimization();

        private Builder() {
        }

        public Builder algorithm(Algorithm value) {
            o.algorithm = value;
            return this;
        }

        public Builder learningRate(float value) {
            o.learningRate = value;
            return this;
        }

        public Builder betas(float beta1, float beta2) {
            o.beta1 = beta1;
            o.beta2 = beta2;
            return this;
        }

        public Builder eps(float value) {
            o.eps = value;
            return this;
        }

        public Builder weightDecay(float value) {
            o.weightDecay = value;
            return this;
        }

        public Builder decayPolicy(DecayPolicy value) {
            o.decayPolicy = value;
            return this;
        }

        public Builder momentum(float value, boolean nesterov) {
            o.momentum = value;
            o.nesterov = nesterov;
            return this;
        }

        public Builder schedule(Schedule value) {
            o.schedule = value;
            return this;
        }

        public Builder warmupSteps(int value) {
            o.warmupSteps = value;
            return this;
        }

        public Builder finalLearningRateFraction(float value) {
            o.finalLearningRateFraction = value;
            return this;
        }

        public Builder gradientClip(float value) {
            o.gradientClip = value;
            return this;
        }

        /** The configuration, after {@link Optimization#postConfig()} has checked every field. */
        public Optimization build() {
            o.postConfig();
            return o;
        }
    }
}
