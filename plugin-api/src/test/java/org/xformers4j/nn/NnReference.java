package org.xformers4j.nn;

import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;
import org.xformers4j.tensor.Tensor;

/** Float64 references for the layer tests, written as plain loops, and test helpers for modules. */
final class NnReference {

    private NnReference() {
    }

    /** y[r, o] = Σ_i x[r, i] w[o, i] + b[o] for x [rows, in], w [out, in], b [out] or null. */
    static double[] linear(double[] x, int rows, int in, double[] w, int out, double[] b) {
        double[] y = new double[rows * out];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double s = b == null ? 0 : b[o];
                for (int i = 0; i < in; i++) {
                    s += x[r * in + i] * w[o * in + i];
                }
                y[r * out + o] = s;
            }
        }
        return y;
    }

    static double[] map(double[] x, DoubleUnaryOperator f) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = f.applyAsDouble(x[i]);
        }
        return y;
    }

    static double[] mul(double[] a, double[] b) {
        double[] y = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            y[i] = a[i] * b[i];
        }
        return y;
    }

    static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    /** x Φ(x) with Φ the standard normal distribution function. */
    static double gelu(double x) {
        return 0.5 * x * (1 + erf(x / Math.sqrt(2)));
    }

    /**
     * The error function to about 1e-14: the Maclaurin series below 2.5, the continued fraction
     * of erfc (Abramowitz and Stegun 7.1.14) above.
     */
    static double erf(double x) {
        double ax = Math.abs(x);
        double r;
        if (ax < 2.5) {
            double x2 = ax * ax;
            double term = ax;
            double sum = ax;
            for (int n = 1; n < 200; n++) {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.abs(add) < 1e-17) {
                    break;
                }
            }
            r = 2 / Math.sqrt(Math.PI) * sum;
        } else {
            double f = ax;
            for (int k = 80; k >= 1; k--) {
                f = ax + (k / 2.0) / f;
            }
            r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
        }
        return Math.copySign(r, x);
    }

    /** Sets every parameter of {@code module} to standard-normal values times {@code scale}. */
    static void randomize(Module module, SplittableRandom rng, float scale) {
        Map<String, ParameterState> state = module.stateDict();
        state.replaceAll((name, s) -> {
            float[] values = new float[s.values().length];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) (scale * rng.nextGaussian());
            }
            return new ParameterState(s.shape(), values);
        });
        module.loadStateDict(state);
    }

    /** The parameters of {@code module} after {@code first}, as GradCheck inputs. */
    static Tensor[] withParameters(Tensor first, Module module) {
        Tensor[] params = module.parameters().toArray(new Tensor[0]);
        Tensor[] out = new Tensor[params.length + 1];
        out[0] = first;
        System.arraycopy(params, 0, out, 1, params.length);
        return out;
    }
}
