package org.xformers4j.compute.cpu;

import java.util.EnumSet;
import java.util.Set;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.xformers4j.compute.BinaryOp;
import org.xformers4j.compute.UnaryOp;

/**
 * {@link ContiguousLoops} with {@code jdk.incubator.vector}. Loaded only through
 * {@link ContiguousLoops#best()} when the module is present. The ops that matter for transformer
 * training (exp, the activations, arithmetic, softmax rows) are vectorised; the others and every
 * loop tail run {@link ScalarLoops}.
 *
 * <p>e^x is the single-precision polynomial of Cephes' {@code expf} (S. L. Moshier, <i>Methods
 * and Programs for Mathematical Functions</i>, 1989): x = n ln 2 + r with |r| ≤ ln 2 / 2
 * (Cody-Waite split of ln 2), e^r by a degree-7 polynomial, 2^n built in the exponent bits (in two
 * halves, so that the result underflows to subnormals and overflows to ∞ gracefully). Relative
 * error about 2 ulp.
 */
final class SimdLoops implements ContiguousLoops {

    public static final SimdLoops INSTANCE = new SimdLoops();

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    private static final Set<UnaryOp> FORWARD = EnumSet.of(UnaryOp.NEG, UnaryOp.ADD_SCALAR, UnaryOp.MUL_SCALAR,
            UnaryOp.RSUB_SCALAR, UnaryOp.RDIV_SCALAR, UnaryOp.SQRT, UnaryOp.RSQRT, UnaryOp.ABS, UnaryOp.EXP,
            UnaryOp.SIGMOID, UnaryOp.RELU, UnaryOp.GELU_ERF, UnaryOp.GELU_TANH, UnaryOp.SILU);
    private static final Set<UnaryOp> BACKWARD = EnumSet.of(UnaryOp.NEG, UnaryOp.ADD_SCALAR, UnaryOp.MUL_SCALAR,
            UnaryOp.RSUB_SCALAR, UnaryOp.EXP, UnaryOp.TANH, UnaryOp.SIGMOID, UnaryOp.RELU, UnaryOp.GELU_ERF,
            UnaryOp.GELU_TANH, UnaryOp.SILU);
    private static final Set<BinaryOp> BINARY = EnumSet.of(BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL, BinaryOp.DIV,
            BinaryOp.MAXIMUM, BinaryOp.MINIMUM);

    private static final float EXP_LO = -104f;   // e^-104 rounds to 0 in float
    private static final float EXP_HI = 89f;     // e^89 overflows to ∞
    private static final float LOG2E = 1.44269504088896341f;
    private static final float ROUND = 0x1.8p23f; // adding it rounds |v| < 2^22 to an integer in the low mantissa bits
    private static final int ROUND_BITS = Float.floatToRawIntBits(ROUND);
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;

    private static final float GELU_TANH_SCALE = (float) ScalarLoops.GELU_TANH_SCALE;
    private static final float GELU_TANH_CUBIC = (float) ScalarLoops.GELU_TANH_CUBIC;
    private static final float INV_SQRT2 = (float) ScalarLoops.INV_SQRT2;
    private static final float INV_SQRT_2PI = (float) ScalarLoops.INV_SQRT_2PI;

    private SimdLoops() {
    }

    /** e^x lane by lane (see the class comment). */
    static FloatVector exp(FloatVector x) {
        FloatVector c = x.max(EXP_LO).min(EXP_HI);
        FloatVector t = c.mul(LOG2E).add(ROUND);
        FloatVector n = t.sub(ROUND);
        IntVector ni = t.reinterpretAsInts().sub(ROUND_BITS);
        FloatVector r = c.sub(n.mul(LN2_HI)).sub(n.mul(LN2_LO));
        FloatVector p = r.mul(1.9875691500e-4f).add(1.3981999507e-3f).mul(r).add(8.3334519073e-3f).mul(r)
                .add(4.1665795894e-2f).mul(r).add(1.6666665459e-1f).mul(r).add(5.0000001201e-1f);
        p = p.mul(r.mul(r)).add(r).add(1f);
        IntVector n1 = ni.lanewise(VectorOperators.ASHR, 1);
        IntVector n2 = ni.sub(n1);
        FloatVector s1 = n1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = n2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(s1).mul(s2);
    }

    private static FloatVector reciprocal(FloatVector v) {
        return FloatVector.broadcast(S, 1f).div(v);
    }

    /** 1 / (1 + e^-x). */
    private static FloatVector sigmoid(FloatVector x) {
        return reciprocal(exp(x.neg()).add(1f));
    }

    /**
     * e^(-x²/2) for |x| = a, taken as e^(-s²/2) e^((s - a)(s + a)/2) with s = a cut to 12 significant
     * bits, as fdlibm's {@code erff} does: s² is exact, so the tail keeps its relative accuracy.
     */
    private static FloatVector gaussian(FloatVector a) {
        FloatVector s = a.reinterpretAsInts().and(0xFFFFF000).reinterpretAsFloats();
        return exp(s.mul(s).mul(-0.5f)).mul(exp(s.sub(a).mul(s.add(a)).mul(0.5f)));
    }

    /**
     * Φ(x) = erfc(-x/√2)/2 by the Chebyshev fit of {@link ScalarLoops#erfc}, in float, given
     * {@code gaussian} = e^(-x²/2). The Gaussian factor is computed from x itself, because rounding
     * x/√2 first would be amplified x²-fold in the tail.
     */
    private static FloatVector phi(FloatVector x, FloatVector gaussian) {
        FloatVector z = x.abs().mul(INV_SQRT2);
        FloatVector t = reciprocal(z.mul(0.5f).add(1f));
        FloatVector poly = t.mul(0.17087277f).add(-0.82215223f).mul(t).add(1.48851587f).mul(t).add(-1.13520398f)
                .mul(t).add(0.27886807f).mul(t).add(-0.18628806f).mul(t).add(0.09678418f).mul(t).add(0.37409196f)
                .mul(t).add(1.00002368f).mul(t).add(-1.26551223f);
        FloatVector half = t.mul(gaussian).mul(exp(poly)).mul(0.5f); // erfc(|x|/√2)/2 = Φ(-|x|)
        return half.blend(half.neg().add(1f), x.compare(VectorOperators.GT, 0f));
    }

    private static FloatVector geluErf(FloatVector x) {
        return x.mul(phi(x, gaussian(x.abs())));
    }

    /** Φ(x) + x φ(x). */
    private static FloatVector geluErfDerivative(FloatVector x) {
        FloatVector g = gaussian(x.abs());
        return x.mul(g).mul(INV_SQRT_2PI).add(phi(x, g));
    }

    /** σ(2u) with u = sqrt(2/π) (x + 0.044715 x³), so that GELU_tanh(x) = x σ(2u). */
    private static FloatVector geluTanhGate(FloatVector x) {
        FloatVector u = x.mul(x).mul(GELU_TANH_CUBIC).add(1f).mul(x).mul(2 * GELU_TANH_SCALE);
        return sigmoid(u);
    }

    private static FloatVector geluTanhDerivative(FloatVector x) {
        FloatVector s = geluTanhGate(x);
        FloatVector du = x.mul(x).mul(3 * GELU_TANH_CUBIC).add(1f).mul(GELU_TANH_SCALE);
        return s.neg().add(1f).mul(s).mul(x).mul(du).mul(2f).add(s);
    }

    private static FloatVector siluDerivative(FloatVector x) {
        FloatVector s = sigmoid(x);
        return s.neg().add(1f).mul(x).add(1f).mul(s);
    }

    private static FloatVector load(float[] a, int i) {
        return FloatVector.fromArray(S, a, i);
    }

    // The loops over transcendental functions live in their own small methods: inside the big
    // switches C2 would not inline exp into them, and unboxed vectors need it inlined.

    private static int expLoop(float[] x, float[] y, int i, int bound) {
        for (; i < bound; i += L) {
            exp(load(x, i)).intoArray(y, i);
        }
        return i;
    }

    private static int sigmoidLoop(float[] x, float[] y, int i, int bound) {
        for (; i < bound; i += L) {
            sigmoid(load(x, i)).intoArray(y, i);
        }
        return i;
    }

    private static int geluErfLoop(float[] x, float[] y, int i, int bound) {
        for (; i < bound; i += L) {
            geluErf(load(x, i)).intoArray(y, i);
        }
        return i;
    }

    private static int geluTanhLoop(float[] x, float[] y, int i, int bound) {
        for (; i < bound; i += L) {
            FloatVector v = load(x, i);
            v.mul(geluTanhGate(v)).intoArray(y, i);
        }
        return i;
    }

    private static int siluLoop(float[] x, float[] y, int i, int bound) {
        for (; i < bound; i += L) {
            FloatVector v = load(x, i);
            v.mul(sigmoid(v)).intoArray(y, i);
        }
        return i;
    }

    private static int geluErfBackwardLoop(float[] x, float[] dy, float[] dx, int i, int bound) {
        for (; i < bound; i += L) {
            geluErfDerivative(load(x, i)).mul(load(dy, i)).intoArray(dx, i);
        }
        return i;
    }

    private static int geluTanhBackwardLoop(float[] x, float[] dy, float[] dx, int i, int bound) {
        for (; i < bound; i += L) {
            geluTanhDerivative(load(x, i)).mul(load(dy, i)).intoArray(dx, i);
        }
        return i;
    }

    private static int siluBackwardLoop(float[] x, float[] dy, float[] dx, int i, int bound) {
        for (; i < bound; i += L) {
            siluDerivative(load(x, i)).mul(load(dy, i)).intoArray(dx, i);
        }
        return i;
    }

    @Override
    public void unary(UnaryOp op, float p, float[] x, float[] y, int from, int to) {
        if (!FORWARD.contains(op)) {
            ScalarLoops.INSTANCE.unary(op, p, x, y, from, to);
            return;
        }
        int i = from;
        int bound = from + S.loopBound(to - from);
        switch (op) {
            case NEG: for (; i < bound; i += L) load(x, i).neg().intoArray(y, i); break;
            case ADD_SCALAR: for (; i < bound; i += L) load(x, i).add(p).intoArray(y, i); break;
            case MUL_SCALAR: for (; i < bound; i += L) load(x, i).mul(p).intoArray(y, i); break;
            case RSUB_SCALAR: for (; i < bound; i += L) load(x, i).neg().add(p).intoArray(y, i); break;
            case RDIV_SCALAR: {
                FloatVector pv = FloatVector.broadcast(S, p);
                for (; i < bound; i += L) pv.div(load(x, i)).intoArray(y, i);
                break;
            }
            case SQRT: for (; i < bound; i += L) load(x, i).lanewise(VectorOperators.SQRT).intoArray(y, i); break;
            case RSQRT: for (; i < bound; i += L) reciprocal(load(x, i).lanewise(VectorOperators.SQRT)).intoArray(y, i); break;
            case ABS: for (; i < bound; i += L) load(x, i).abs().intoArray(y, i); break;
            case EXP: i = expLoop(x, y, i, bound); break;
            case SIGMOID: i = sigmoidLoop(x, y, i, bound); break;
            case RELU: for (; i < bound; i += L) load(x, i).max(0f).intoArray(y, i); break;
            case GELU_ERF: i = geluErfLoop(x, y, i, bound); break;
            case GELU_TANH: i = geluTanhLoop(x, y, i, bound); break;
            case SILU: i = siluLoop(x, y, i, bound); break;
            default: throw new AssertionError(op);
        }
        ScalarLoops.INSTANCE.unary(op, p, x, y, i, to);
    }

    @Override
    public void unaryBackward(UnaryOp op, float p, float[] x, float[] y, float[] dy, float[] dx, int from, int to) {
        if (!BACKWARD.contains(op)) {
            ScalarLoops.INSTANCE.unaryBackward(op, p, x, y, dy, dx, from, to);
            return;
        }
        int i = from;
        int bound = from + S.loopBound(to - from);
        switch (op) {
            case NEG: case RSUB_SCALAR: for (; i < bound; i += L) load(dy, i).neg().intoArray(dx, i); break;
            case ADD_SCALAR: for (; i < bound; i += L) load(dy, i).intoArray(dx, i); break;
            case MUL_SCALAR: for (; i < bound; i += L) load(dy, i).mul(p).intoArray(dx, i); break;
            case EXP: for (; i < bound; i += L) load(dy, i).mul(load(y, i)).intoArray(dx, i); break;
            case TANH: for (; i < bound; i += L) { FloatVector v = load(y, i); v.mul(v).neg().add(1f).mul(load(dy, i)).intoArray(dx, i); } break;
            case SIGMOID: for (; i < bound; i += L) { FloatVector v = load(y, i); v.neg().add(1f).mul(v).mul(load(dy, i)).intoArray(dx, i); } break;
            case RELU: {
                FloatVector zero = FloatVector.zero(S);
                for (; i < bound; i += L) {
                    VectorMask<Float> positive = load(x, i).compare(VectorOperators.GT, 0f);
                    zero.blend(load(dy, i), positive).intoArray(dx, i);
                }
                break;
            }
            case GELU_ERF: i = geluErfBackwardLoop(x, dy, dx, i, bound); break;
            case GELU_TANH: i = geluTanhBackwardLoop(x, dy, dx, i, bound); break;
            case SILU: i = siluBackwardLoop(x, dy, dx, i, bound); break;
            default: throw new AssertionError(op);
        }
        ScalarLoops.INSTANCE.unaryBackward(op, p, x, y, dy, dx, i, to);
    }

    private static FloatVector apply(BinaryOp op, FloatVector a, FloatVector b) {
        switch (op) {
            case ADD: return a.add(b);
            case SUB: return a.sub(b);
            case MUL: return a.mul(b);
            case DIV: return a.div(b);
            case MAXIMUM: return a.max(b);
            case MINIMUM: return a.min(b);
            default: throw new AssertionError(op);
        }
    }

    @Override
    public void binary(BinaryOp op, float[] a, int aOffset, int aStep, float[] b, int bOffset, int bStep,
                       float[] out, int outOffset, int n) {
        if (!BINARY.contains(op) || (aStep | bStep) >>> 1 != 0 || (aStep == 0 && bStep == 0)) {
            ScalarLoops.INSTANCE.binary(op, a, aOffset, aStep, b, bOffset, bStep, out, outOffset, n);
            return;
        }
        int i = 0;
        int bound = S.loopBound(n);
        if (aStep == 1 && bStep == 1) {
            for (; i < bound; i += L) {
                apply(op, load(a, aOffset + i), load(b, bOffset + i)).intoArray(out, outOffset + i);
            }
        } else if (aStep == 0) {
            FloatVector va = FloatVector.broadcast(S, a[aOffset]);
            for (; i < bound; i += L) {
                apply(op, va, load(b, bOffset + i)).intoArray(out, outOffset + i);
            }
        } else {
            FloatVector vb = FloatVector.broadcast(S, b[bOffset]);
            for (; i < bound; i += L) {
                apply(op, load(a, aOffset + i), vb).intoArray(out, outOffset + i);
            }
        }
        ScalarLoops.INSTANCE.binary(op, a, aOffset + i * aStep, aStep, b, bOffset + i * bStep, bStep,
                out, outOffset + i, n - i);
    }

    @Override
    public void axpy(float alpha, float[] x, float[] y, int from, int to) {
        int i = from;
        for (int bound = from + S.loopBound(to - from); i < bound; i += L) {
            load(x, i).mul(alpha).add(load(y, i)).intoArray(y, i);
        }
        ScalarLoops.INSTANCE.axpy(alpha, x, y, i, to);
    }

    @Override
    public float sum(float[] x, int offset, int n) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            acc = acc.add(load(x, offset + i));
        }
        return acc.reduceLanes(VectorOperators.ADD) + ScalarLoops.INSTANCE.sum(x, offset + i, n - i);
    }

    @Override
    public float max(float[] x, int offset, int n) {
        FloatVector acc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            acc = acc.max(load(x, offset + i));
        }
        return Math.max(acc.reduceLanes(VectorOperators.MAX), ScalarLoops.INSTANCE.max(x, offset + i, n - i));
    }

    @Override
    public float expSum(float[] x, int offset, int n, float shift, float[] y) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            FloatVector e = exp(load(x, offset + i).sub(shift));
            if (y != null) {
                e.intoArray(y, offset + i);
            }
            acc = acc.add(e);
        }
        return acc.reduceLanes(VectorOperators.ADD) + ScalarLoops.INSTANCE.expSum(x, offset + i, n - i, shift, y);
    }

    @Override
    public float dot(float[] a, float[] b, int offset, int n) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            acc = acc.add(load(a, offset + i).mul(load(b, offset + i)));
        }
        return acc.reduceLanes(VectorOperators.ADD) + ScalarLoops.INSTANCE.dot(a, b, offset + i, n - i);
    }
}
