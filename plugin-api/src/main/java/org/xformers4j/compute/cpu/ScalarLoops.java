package org.xformers4j.compute.cpu;

import org.xformers4j.compute.BinaryOp;
import org.xformers4j.compute.UnaryOp;

/**
 * Plain-Java {@link ContiguousLoops}, and the per-element math every elementwise kernel shares:
 * each op's forward value and derivative, evaluated in double precision and rounded once.
 */
final class ScalarLoops implements ContiguousLoops {

    static final ScalarLoops INSTANCE = new ScalarLoops();

    /** sqrt(2/π), the scale inside the tanh form of GELU. */
    static final double GELU_TANH_SCALE = Math.sqrt(2 / Math.PI);
    /** The cubic coefficient of the tanh form of GELU (Hendrycks and Gimpel, 2016). */
    static final double GELU_TANH_CUBIC = 0.044715;
    static final double INV_SQRT2 = 1 / Math.sqrt(2);
    static final double INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

    private ScalarLoops() {
    }

    /**
     * The complementary error function with fractional error below 1.2e-7 everywhere: the Chebyshev
     * fit {@code erfcc} of Press, Teukolsky, Vetterling and Flannery, <i>Numerical Recipes in C</i>,
     * 2nd ed., 1992, §6.2. GELU uses Φ(x) = erfc(-x/√2)/2, which keeps its relative accuracy in the
     * negative tail where 1 + erf(x/√2) would cancel.
     */
    static double erfc(double x) {
        double z = Math.abs(x);
        double t = 1 / (1 + 0.5 * z);
        double poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
                + t * (-0.82215223 + t * 0.17087277))))))));
        double r = t * Math.exp(-z * z + poly);
        return x >= 0 ? r : 2 - r;
    }

    static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    /** op(x; p). */
    static float apply(UnaryOp op, float p, float xf) {
        double x = xf;
        switch (op) {
            case NEG: return -xf;
            case ADD_SCALAR: return xf + p;
            case MUL_SCALAR: return xf * p;
            case RSUB_SCALAR: return p - xf;
            case RDIV_SCALAR: return p / xf;
            case POW: return (float) Math.pow(x, p);
            case EXP: return (float) Math.exp(x);
            case LOG: return (float) Math.log(x);
            case SQRT: return (float) Math.sqrt(x);
            case RSQRT: return (float) (1 / Math.sqrt(x));
            case ABS: return Math.abs(xf);
            case TANH: return (float) Math.tanh(x);
            case SIGMOID: return (float) sigmoid(x);
            case RELU: return Math.max(xf, 0f);
            case GELU_ERF: return (float) (0.5 * x * erfc(-x * INV_SQRT2));
            // x/2 (1 + tanh u) = x σ(2u)
            case GELU_TANH: return (float) (x * sigmoid(2 * GELU_TANH_SCALE * (x + GELU_TANH_CUBIC * x * x * x)));
            case SILU: return (float) (x * sigmoid(x));
            case ELU: return xf > 0 ? xf : (float) (p * Math.expm1(x));
            // ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|): no overflow for large x, no underflow to 0 for large -x
            case SOFTPLUS: return (float) (Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))));
            default: throw new AssertionError(op);
        }
    }

    /** dy/dx of op at x, given the forward output y (used where it is cheaper than recomputing). */
    static float derivative(UnaryOp op, float p, float xf, float yf) {
        double x = xf;
        double y = yf;
        switch (op) {
            case NEG: return -1f;
            case ADD_SCALAR: return 1f;
            case MUL_SCALAR: return p;
            case RSUB_SCALAR: return -1f;
            case RDIV_SCALAR: return (float) (-p / (x * x));
            case POW: return (float) (p * Math.pow(x, p - 1.0));
            case EXP: return yf;
            case LOG: return (float) (1 / x);
            case SQRT: return (float) (0.5 / y);
            case RSQRT: return (float) (-0.5 * y * y * y);
            case ABS: return Math.signum(xf);
            case TANH: return (float) (1 - y * y);
            case SIGMOID: return (float) (y * (1 - y));
            case RELU: return xf > 0 ? 1f : 0f;
            // Φ(x) + x φ(x)
            case GELU_ERF: return (float) (0.5 * erfc(-x * INV_SQRT2) + x * Math.exp(-0.5 * x * x) * INV_SQRT_2PI);
            case GELU_TANH: {
                // y = x s with s = σ(2u): dy/dx = s + 2 x s (1 - s) u'
                double u = GELU_TANH_SCALE * (x + GELU_TANH_CUBIC * x * x * x);
                double du = GELU_TANH_SCALE * (1 + 3 * GELU_TANH_CUBIC * x * x);
                double s = sigmoid(2 * u);
                return (float) (s + 2 * x * s * (1 - s) * du);
            }
            case SILU: {
                double s = sigmoid(x);
                return (float) (s * (1 + x * (1 - s)));
            }
            // for x <= 0, y = p (e^x - 1), so p e^x = y + p
            case ELU: return xf > 0 ? 1f : yf + p;
            case SOFTPLUS: return (float) sigmoid(x);
            default: throw new AssertionError(op);
        }
    }

    /** op(a, b). */
    static float apply(BinaryOp op, float a, float b) {
        switch (op) {
            case ADD: return a + b;
            case SUB: return a - b;
            case MUL: return a * b;
            case DIV: return a / b;
            case MAXIMUM: return Math.max(a, b);
            case MINIMUM: return Math.min(a, b);
            case EQ: return a == b ? 1f : 0f;
            case GT: return a > b ? 1f : 0f;
            case LT: return a < b ? 1f : 0f;
            default: throw new AssertionError(op);
        }
    }

    @Override
    public void unary(UnaryOp op, float p, float[] x, float[] y, int from, int to) {
        for (int i = from; i < to; i++) {
            y[i] = apply(op, p, x[i]);
        }
    }

    @Override
    public void unaryBackward(UnaryOp op, float p, float[] x, float[] y, float[] dy, float[] dx, int from, int to) {
        for (int i = from; i < to; i++) {
            dx[i] = dy[i] * derivative(op, p, x[i], y[i]);
        }
    }

    @Override
    public void binary(BinaryOp op, float[] a, int aOffset, int aStep, float[] b, int bOffset, int bStep,
                       float[] out, int outOffset, int n) {
        for (int i = 0; i < n; i++) {
            out[outOffset + i] = apply(op, a[aOffset + i * aStep], b[bOffset + i * bStep]);
        }
    }

    @Override
    public void axpy(float alpha, float[] x, float[] y, int from, int to) {
        for (int i = from; i < to; i++) {
            y[i] += alpha * x[i];
        }
    }

    @Override
    public void dropout(long state, long threshold, float keep, float[] x, float[] y, int from, int to) {
        long z = state + (from + 1L) * GOLDEN_GAMMA;
        for (int i = from; i < to; i++, z += GOLDEN_GAMMA) {
            y[i] = mix32(z) >>> 8 < threshold ? 0f : x[i] * keep;
        }
    }

    /** SplitMix64's increment, the odd integer closest to 2^64 / φ. */
    static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;
    /** The multipliers of Stafford's variant 4 mix, as {@code SplittableRandom.nextInt}. */
    static final long MIX32_A = 0x62A9D9ED799705F5L;
    static final long MIX32_B = 0xCB24D0A5C88C35B3L;

    /** The high 32 bits of Stafford's variant 4 mix of z, as {@code SplittableRandom.nextInt}, unsigned. */
    static long mix32(long z) {
        z = (z ^ (z >>> 33)) * MIX32_A;
        return ((z ^ (z >>> 28)) * MIX32_B) >>> 32;
    }

    @Override
    public float sum(float[] x, int offset, int n) {
        double s = 0;
        for (int i = offset; i < offset + n; i++) {
            s += x[i];
        }
        return (float) s;
    }

    @Override
    public float max(float[] x, int offset, int n) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = offset; i < offset + n; i++) {
            m = Math.max(m, x[i]);
        }
        return m;
    }

    @Override
    public float expSum(float[] x, int offset, int n, float shift, float[] y) {
        double s = 0;
        for (int i = offset; i < offset + n; i++) {
            float e = (float) Math.exp(x[i] - shift);
            if (y != null) {
                y[i] = e;
            }
            s += e;
        }
        return (float) s;
    }

    /** Row sums accumulated in double. */
    @Override
    public void layerNormRow(float[] x, int row, int dim, float[] gamma, float[] beta, float eps, float[] y,
                             float[] mean, float[] rstd) {
        int off = row * dim;
        double sum = 0;
        for (int i = 0; i < dim; i++) {
            sum += x[off + i];
        }
        float m = (float) (sum / dim);
        double squares = 0;
        for (int i = 0; i < dim; i++) {
            double d = x[off + i] - m;
            squares += d * d;
        }
        float s = (float) (1.0 / Math.sqrt(squares / dim + eps));
        normalize(x, off, 0, dim, m, s, gamma, beta, y);
        mean[row] = m;
        rstd[row] = s;
    }

    /** y = (x - m) · s · gamma + beta for the elements [from, to) of the row at {@code off}; gamma and beta may be null. */
    static void normalize(float[] x, int off, int from, int to, float m, float s, float[] gamma, float[] beta,
                          float[] y) {
        for (int i = from; i < to; i++) {
            float norm = (x[off + i] - m) * s;
            y[off + i] = norm * (gamma == null ? 1f : gamma[i]) + (beta == null ? 0f : beta[i]);
        }
    }

    /** Row sums accumulated in double. */
    @Override
    public void layerNormBackwardRow(float[] x, float[] dy, int row, int dim, float[] gamma, float m, float s,
                                     float[] dx) {
        int off = row * dim;
        double sumDnorm = 0;
        double sumDnormNorm = 0;
        for (int i = 0; i < dim; i++) {
            float dnorm = dy[off + i] * (gamma == null ? 1f : gamma[i]);
            sumDnorm += dnorm;
            sumDnormNorm += dnorm * ((x[off + i] - m) * s);
        }
        float meanDnorm = (float) (sumDnorm / dim);
        float meanDnormNorm = (float) (sumDnormNorm / dim);
        for (int i = 0; i < dim; i++) {
            float dnorm = dy[off + i] * (gamma == null ? 1f : gamma[i]);
            float norm = (x[off + i] - m) * s;
            dx[off + i] = s * (dnorm - meanDnorm - norm * meanDnormNorm);
        }
    }

    @Override
    public float dot(float[] a, float[] b, int offset, int n) {
        double s = 0;
        for (int i = offset; i < offset + n; i++) {
            s += a[i] * b[i];
        }
        return (float) s;
    }
}
