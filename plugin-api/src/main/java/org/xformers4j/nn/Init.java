package org.xformers4j.nn;

import java.util.Arrays;
import java.util.random.RandomGenerator;
import org.xformers4j.tensor.AllocationBudget;
import org.xformers4j.tensor.Tensor;

/**
 * Parameter initialisers, as {@code torch.nn.init}, drawing from a caller-supplied seeded
 * generator in row-major order so that a seed fixes the result. Tensors are created on
 * {@link org.xformers4j.compute.Backends#defaultBackend()}, so a layer built inside
 * {@link org.xformers4j.compute.Backends#use} has its parameters on that scope's backend.
 *
 * <p>Fan-in and fan-out follow PyTorch: for a weight of shape [out, in, k...] the fan-in is
 * in·Πk and the fan-out out·Πk, so a {@link Linear} weight [out, in] has fan-in {@code in}.
 */
public final class Init {

    private Init() {
    }

    /** A tensor of zeros. */
    public static Tensor zeros(int... shape) {
        return Tensor.zeros(shape);
    }

    /** A tensor of ones. */
    public static Tensor ones(int... shape) {
        return Tensor.ones(shape);
    }

    /** Samples of N(mean, std²). */
    public static Tensor normal(RandomGenerator rng, float mean, float std, int... shape) {
        if (!(std >= 0) || Float.isInfinite(std)) {
            throw new IllegalArgumentException("Init.normal: std must be finite and >= 0, got " + std);
        }
        float[] data = new float[AllocationBudget.elements(shape)];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) (mean + std * rng.nextGaussian());
        }
        return Tensor.of(data, shape);
    }

    /** Samples of U(low, high). */
    public static Tensor uniform(RandomGenerator rng, float low, float high, int... shape) {
        if (!(low <= high) || Float.isInfinite(low) || Float.isInfinite(high)) {
            throw new IllegalArgumentException("Init.uniform: need finite low <= high, got low " + low
                    + " and high " + high);
        }
        return Tensor.rand(rng, low, high, shape);
    }

    /**
     * Glorot uniform initialisation (Glorot and Bengio, 2010, "Understanding the difficulty of
     * training deep feedforward neural networks"): U(-a, a) with a = gain · sqrt(6 / (fanIn + fanOut)).
     */
    public static Tensor xavierUniform(RandomGenerator rng, float gain, int... shape) {
        float a = (float) (gain * Math.sqrt(6.0 / fanSum("xavierUniform", shape)));
        return uniform(rng, -a, a, shape);
    }

    /**
     * Glorot normal initialisation (Glorot and Bengio, 2010): N(0, std²) with
     * std = gain · sqrt(2 / (fanIn + fanOut)).
     */
    public static Tensor xavierNormal(RandomGenerator rng, float gain, int... shape) {
        float std = (float) (gain * Math.sqrt(2.0 / fanSum("xavierNormal", shape)));
        return normal(rng, 0f, std, shape);
    }

    /** fanIn + fanOut of a weight of {@code shape} [out, in, k...]. */
    private static long fanSum(String name, int[] shape) {
        if (shape.length < 2) {
            throw new IllegalArgumentException("Init." + name + ": fan-in and fan-out need at least 2 dimensions, got shape "
                    + Arrays.toString(shape));
        }
        long receptive = 1;
        for (int d = 2; d < shape.length; d++) {
            receptive *= shape[d];
        }
        long sum = (shape[0] + (long) shape[1]) * receptive;
        if (sum == 0) {
            throw new IllegalArgumentException("Init." + name + ": shape " + Arrays.toString(shape)
                    + " has zero fan-in and fan-out");
        }
        return sum;
    }
}
