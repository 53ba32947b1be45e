package org.xformers4j.compute.cpu;

import java.util.EnumSet;
import java.util.Set;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
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
 *
 * <p>A method that returns a vector is only fast when C2 inlines it: a call boxes the vector on
 * the heap. C2 stops inlining (other than the Vector API's own {@code @ForceInline} methods) once
 * a compilation holds about 18,000 IR nodes ({@code NodeCountInliningCutoff}), and each Vector API
 * operation inlines dozens of methods. So the transcendental functions below use the fewest
 * operations: constants are prebuilt vectors ({@code v.mul(2f)} inlines a broadcast each time),
 * polynomials are Horner chains of fused multiply-adds, and GELU's Φ is a rational function, without exp. (Loop-carried
 * accumulators still start from {@code FloatVector.zero(S)}: starting from a constant keeps them
 * boxed.) Loads call {@code FloatVector.fromArray} directly, never a helper of ours: a helper is an
 * ordinary call, and once the cutoff is reached it is not inlined and boxes every vector it loads
 * (GELU_erf's backward loaded dy through one after inlining the derivative and ran 2.5× slower).
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

    private static final FloatVector ZERO = FloatVector.zero(S);
    private static final FloatVector HALF = broadcast(0.5f);
    private static final FloatVector ONE = broadcast(1f);

    private static final FloatVector EXP_LO = broadcast(-104f); // e^-104 rounds to 0 in float
    private static final FloatVector EXP_HI = broadcast(89f);   // e^89 overflows to ∞
    private static final FloatVector LOG2E = broadcast(1.44269504088896341f);
    /** Adding it rounds |v| < 2^22 to an integer in the low mantissa bits. */
    private static final FloatVector ROUND = broadcast(0x1.8p23f);
    private static final IntVector ROUND_BITS = ROUND.reinterpretAsInts();
    private static final IntVector EXPONENT_BIAS = ZERO.reinterpretAsInts().broadcast(127);
    /** -127 ln 2: {@link #expNonPositive}'s 2^n is 0 from here down. */
    private static final FloatVector EXP_FLUSH = broadcast(-88.02969193f);
    /** Added to the bits of x log2(e) + ROUND, gives n + 127, the biased exponent of 2^n. */
    private static final IntVector BIASED_FROM_ROUNDED = EXPONENT_BIAS.sub(ROUND_BITS);
    private static final FloatVector MINUS_LN2_HI = broadcast(-0.693359375f);
    private static final FloatVector MINUS_LN2_LO = broadcast(2.12194440e-4f);
    private static final FloatVector EXP_P7 = broadcast(1.9875691500e-4f);
    private static final FloatVector EXP_P6 = broadcast(1.3981999507e-3f);
    private static final FloatVector EXP_P5 = broadcast(8.3334519073e-3f);
    private static final FloatVector EXP_P4 = broadcast(4.1665795894e-2f);
    private static final FloatVector EXP_P3 = broadcast(1.6666665459e-1f);
    private static final FloatVector EXP_P2 = broadcast(5.0000001201e-1f);

    private static final FloatVector MINUS_HALF = broadcast(-0.5f);
    private static final FloatVector INV_SQRT_2PI = broadcast((float) ScalarLoops.INV_SQRT_2PI);
    /** Where erf(x/√2) is cut to ±1 (see {@link #phi}). */
    private static final FloatVector PHI_CUT = broadcast((float) (4 * Math.sqrt(2)));
    private static final FloatVector MINUS_PHI_CUT = PHI_CUT.neg();
    /**
     * erf(z) ≈ z P(z²) / Q(z²) on |z| ≤ 4: the monomial coefficients of P (z¹, z³, …, z¹³) and Q (z⁰, z², …,
     * z⁸) of Eigen's float erf (Eigen 3.4, {@code generic_fast_erf_float}, a rational minimax fit).
     */
    private static final double[] ERF_P = {-1.60960333262415e-02, -2.95459980854025e-03, -7.34990630326855e-04,
        -5.69250639462346e-05, -2.10102402082508e-06, 2.77068142495902e-08, -2.72614225801306e-10};
    private static final double[] ERF_Q = {-1.42647390514189e-02, -7.37332916720468e-03, -1.68282697438203e-03,
        -2.13374055278905e-04, -1.45660718464996e-05};
    /** P and Q in x = z√2 with Φ's 1/2 folded in: Φ(x) = 1/2 + x P'(x²) / Q'(x²), P'_k = P_k / (2√2 2^k), Q'_k = Q_k / 2^k. */
    private static final double P_SCALE = 0.5 / Math.sqrt(2);
    private static final FloatVector PHI_P0 = phiCoefficient(ERF_P, 0, P_SCALE);
    private static final FloatVector PHI_P1 = phiCoefficient(ERF_P, 1, P_SCALE);
    private static final FloatVector PHI_P2 = phiCoefficient(ERF_P, 2, P_SCALE);
    private static final FloatVector PHI_P3 = phiCoefficient(ERF_P, 3, P_SCALE);
    private static final FloatVector PHI_P4 = phiCoefficient(ERF_P, 4, P_SCALE);
    private static final FloatVector PHI_P5 = phiCoefficient(ERF_P, 5, P_SCALE);
    private static final FloatVector PHI_P6 = phiCoefficient(ERF_P, 6, P_SCALE);
    private static final FloatVector PHI_Q0 = phiCoefficient(ERF_Q, 0, 1);
    private static final FloatVector PHI_Q1 = phiCoefficient(ERF_Q, 1, 1);
    private static final FloatVector PHI_Q2 = phiCoefficient(ERF_Q, 2, 1);
    private static final FloatVector PHI_Q3 = phiCoefficient(ERF_Q, 3, 1);
    private static final FloatVector PHI_Q4 = phiCoefficient(ERF_Q, 4, 1);

    /** 2 sqrt(2/π) and 2 sqrt(2/π) 0.044715: GELU_tanh(x) = x σ(2u) with 2u = x (2s + 2sc x²). */
    private static final FloatVector TWO_S = broadcast((float) (2 * ScalarLoops.GELU_TANH_SCALE));
    private static final FloatVector TWO_SC = broadcast((float) (2 * ScalarLoops.GELU_TANH_SCALE * ScalarLoops.GELU_TANH_CUBIC));
    /** 2u' = 2s + 6sc x². */
    private static final FloatVector SIX_SC = broadcast((float) (6 * ScalarLoops.GELU_TANH_SCALE * ScalarLoops.GELU_TANH_CUBIC));

    private SimdLoops() {
    }

    private static FloatVector broadcast(float v) {
        return FloatVector.broadcast(S, v);
    }

    /** c[k] scale / 2^k, the coefficient of (x²)^k once z = x/√2. */
    private static FloatVector phiCoefficient(double[] c, int k, double scale) {
        return broadcast((float) (c[k] * scale / (1 << k)));
    }

    /** e^x lane by lane (see the class comment). */
    static FloatVector exp(FloatVector x) {
        return exp(x.max(EXP_LO).min(EXP_HI), ZERO);
    }

    /**
     * e^x for x ≤ 0, what a softmax takes of its scores less their maximum: the same reduction and
     * polynomial as {@link #exp}, within an ulp of it wherever e^x is a normal float (the reduction
     * ends in one fused multiply-add), but 2^n in one step and without the low part of x, ten
     * operations fewer. Below -127 ln 2 it is 0
     * (2^-127 has no exponent bits), where {@link #exp} gives subnormals under 1.2e-38: weights that
     * small change no sum of a softmax. -∞ gives 0.
     */
    static FloatVector expNonPositive(FloatVector x) {
        FloatVector c = x.max(EXP_FLUSH);
        FloatVector t = c.fma(LOG2E, ROUND);
        FloatVector n = t.sub(ROUND);
        FloatVector r = n.fma(MINUS_LN2_LO, n.fma(MINUS_LN2_HI, c));
        FloatVector p = r.fma(EXP_P7, EXP_P6).fma(r, EXP_P5).fma(r, EXP_P4).fma(r, EXP_P3).fma(r, EXP_P2)
                .fma(r.mul(r), r).add(ONE);
        return p.mul(t.reinterpretAsInts().add(BIASED_FROM_ROUNDED).lanewise(VectorOperators.LSHL, 23)
                .reinterpretAsFloats());
    }

    /**
     * e^(hi + lo) for hi + lo in [-170, 89], |lo| small next to |hi|: the reduction hi + lo - n ln 2
     * is taken on hi first, where it is exact, so that lo keeps its relative accuracy.
     */
    private static FloatVector exp(FloatVector hi, FloatVector lo) {
        FloatVector t = hi.add(lo).fma(LOG2E, ROUND);
        FloatVector n = t.sub(ROUND);
        FloatVector r = n.fma(MINUS_LN2_HI, hi).add(n.fma(MINUS_LN2_LO, lo));
        FloatVector p = r.fma(EXP_P7, EXP_P6).fma(r, EXP_P5).fma(r, EXP_P4).fma(r, EXP_P3).fma(r, EXP_P2)
                .fma(r.mul(r), r).add(ONE);
        IntVector ni = t.reinterpretAsInts().sub(ROUND_BITS);
        IntVector n1 = ni.lanewise(VectorOperators.ASHR, 1);
        IntVector n2 = ni.sub(n1);
        FloatVector s1 = n1.add(EXPONENT_BIAS).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = n2.add(EXPONENT_BIAS).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(s1).mul(s2);
    }

    /** 1 / (1 + e^-x). */
    private static FloatVector sigmoid(FloatVector x) {
        return ONE.div(exp(x.neg()).add(ONE));
    }

    /**
     * Φ(x) = (1 + erf(x/√2))/2 by the rational fit of erf ({@link #ERF_P}, {@link #ERF_Q}), with erf
     * cut to ±1 beyond |x/√2| = 4 (1 - erf(4) = 1.5e-8; Φ is exactly 0 below the cut, so GELU is 0 far
     * in the negative tail). No exp and one division, so that GELU's loops
     * stay within C2's inlining budget. The error is absolute, as that of PyTorch's 1 + erf:
     * |Φ - Φ_exact| < 2.5e-7, and with rounding |GELU - GELU_exact| < 3e-7 max(1, |x|) and
     * |GELU' - GELU'_exact| < 3e-7 (against float64 on a grid of [-12, 12], {@code CpuElementwiseTest});
     * the negative tail, |GELU(x)| < 1e-6 for x < -5, loses its relative accuracy.
     */
    private static FloatVector phi(FloatVector x) {
        FloatVector c = x.max(MINUS_PHI_CUT).min(PHI_CUT);
        FloatVector c2 = c.mul(c);
        FloatVector p = c2.fma(PHI_P6, PHI_P5).fma(c2, PHI_P4).fma(c2, PHI_P3).fma(c2, PHI_P2).fma(c2, PHI_P1)
                .fma(c2, PHI_P0).mul(c);
        FloatVector q = c2.fma(PHI_Q4, PHI_Q3).fma(c2, PHI_Q2).fma(c2, PHI_Q1).fma(c2, PHI_Q0);
        return p.div(q).add(HALF).blend(ZERO, x.compare(VectorOperators.LT, MINUS_PHI_CUT));
    }

    /** GELU_erf'(x) = Φ(x) + x φ(x) with φ(x) = e^(-x²/2) / √(2π). */
    private static FloatVector geluErfDerivative(FloatVector x) {
        FloatVector density = exp(x.mul(x).mul(MINUS_HALF)).mul(INV_SQRT_2PI);
        return x.fma(density, phi(x));
    }

    /** σ(2u) with u = sqrt(2/π) (x + 0.044715 x³), so that GELU_tanh(x) = x σ(2u). */
    private static FloatVector geluTanhGate(FloatVector x) {
        return sigmoid(x.mul(x).fma(TWO_SC, TWO_S).mul(x));
    }

    /** s + 2 x s (1 - s) u' with s = σ(2u). */
    private static FloatVector geluTanhDerivative(FloatVector x) {
        FloatVector s = geluTanhGate(x);
        FloatVector twoDu = x.mul(x).fma(SIX_SC, TWO_S);
        return ONE.sub(s).mul(s).mul(x.mul(twoDu)).add(s);
    }

    /** s (1 + x (1 - s)) with s = σ(x). */
    private static FloatVector siluDerivative(FloatVector x) {
        FloatVector s = sigmoid(x);
        return ONE.sub(s).fma(x, ONE).mul(s);
    }

    // The loops over transcendental functions live in their own small methods: inside the big
    // switches C2 would not inline exp into them, and unboxed vectors need it inlined.

    private static int expLoop(float[] x, float[] y, int i, int bound) {
        for (; i < bound; i += L) {
            exp(FloatVector.fromArray(S, x, i)).intoArray(y, i);
        }
        return i;
    }

    private static int sigmoidLoop(float[] x, float[] y, int i, int bound) {
        for (; i < bound; i += L) {
            sigmoid(FloatVector.fromArray(S, x, i)).intoArray(y, i);
        }
        return i;
    }

    private static int geluErfLoop(float[] x, float[] y, int i, int bound) {
        for (; i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, i);
            v.mul(phi(v)).intoArray(y, i);
        }
        return i;
    }

    private static int geluTanhLoop(float[] x, float[] y, int i, int bound) {
        for (; i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, i);
            v.mul(geluTanhGate(v)).intoArray(y, i);
        }
        return i;
    }

    private static int siluLoop(float[] x, float[] y, int i, int bound) {
        for (; i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, i);
            v.mul(sigmoid(v)).intoArray(y, i);
        }
        return i;
    }

    private static int geluErfBackwardLoop(float[] x, float[] dy, float[] dx, int i, int bound) {
        for (; i < bound; i += L) {
            geluErfDerivative(FloatVector.fromArray(S, x, i)).mul(FloatVector.fromArray(S, dy, i)).intoArray(dx, i);
        }
        return i;
    }

    private static int geluTanhBackwardLoop(float[] x, float[] dy, float[] dx, int i, int bound) {
        for (; i < bound; i += L) {
            geluTanhDerivative(FloatVector.fromArray(S, x, i)).mul(FloatVector.fromArray(S, dy, i)).intoArray(dx, i);
        }
        return i;
    }

    private static int siluBackwardLoop(float[] x, float[] dy, float[] dx, int i, int bound) {
        for (; i < bound; i += L) {
            siluDerivative(FloatVector.fromArray(S, x, i)).mul(FloatVector.fromArray(S, dy, i)).intoArray(dx, i);
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
            case NEG: for (; i < bound; i += L) FloatVector.fromArray(S, x, i).neg().intoArray(y, i); break;
            case ADD_SCALAR: for (; i < bound; i += L) FloatVector.fromArray(S, x, i).add(p).intoArray(y, i); break;
            case MUL_SCALAR: for (; i < bound; i += L) FloatVector.fromArray(S, x, i).mul(p).intoArray(y, i); break;
            case RSUB_SCALAR: for (; i < bound; i += L) FloatVector.fromArray(S, x, i).neg().add(p).intoArray(y, i); break;
            case RDIV_SCALAR: {
                FloatVector pv = FloatVector.broadcast(S, p);
                for (; i < bound; i += L) pv.div(FloatVector.fromArray(S, x, i)).intoArray(y, i);
                break;
            }
            case SQRT: for (; i < bound; i += L) FloatVector.fromArray(S, x, i).lanewise(VectorOperators.SQRT).intoArray(y, i); break;
            case RSQRT: for (; i < bound; i += L) ONE.div(FloatVector.fromArray(S, x, i).lanewise(VectorOperators.SQRT)).intoArray(y, i); break;
            case ABS: for (; i < bound; i += L) FloatVector.fromArray(S, x, i).abs().intoArray(y, i); break;
            case EXP: i = expLoop(x, y, i, bound); break;
            case SIGMOID: i = sigmoidLoop(x, y, i, bound); break;
            case RELU: for (; i < bound; i += L) FloatVector.fromArray(S, x, i).max(0f).intoArray(y, i); break;
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
            case NEG: case RSUB_SCALAR: for (; i < bound; i += L) FloatVector.fromArray(S, dy, i).neg().intoArray(dx, i); break;
            case ADD_SCALAR: for (; i < bound; i += L) FloatVector.fromArray(S, dy, i).intoArray(dx, i); break;
            case MUL_SCALAR: for (; i < bound; i += L) FloatVector.fromArray(S, dy, i).mul(p).intoArray(dx, i); break;
            case EXP: for (; i < bound; i += L) FloatVector.fromArray(S, dy, i).mul(FloatVector.fromArray(S, y, i)).intoArray(dx, i); break;
            case TANH: for (; i < bound; i += L) { FloatVector v = FloatVector.fromArray(S, y, i); v.mul(v).neg().add(1f).mul(FloatVector.fromArray(S, dy, i)).intoArray(dx, i); } break;
            case SIGMOID: for (; i < bound; i += L) { FloatVector v = FloatVector.fromArray(S, y, i); v.neg().add(1f).mul(v).mul(FloatVector.fromArray(S, dy, i)).intoArray(dx, i); } break;
            case RELU: {
                for (; i < bound; i += L) {
                    VectorMask<Float> positive = FloatVector.fromArray(S, x, i).compare(VectorOperators.GT, ZERO);
                    ZERO.blend(FloatVector.fromArray(S, dy, i), positive).intoArray(dx, i);
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

    // One loop per op and layout, the op chosen outside the loop: an op chosen inside it, by a method
    // C2 does not always inline into the loop (too large for a call site it deems cold), boxes the
    // vectors on every iteration. Each layout in its own method keeps a compilation's ops few.

    /** out[o + i] = op(a[ao + i], b[bo + i]) for i in [0, bound). */
    private static void binaryLoop(BinaryOp op, float[] a, int ao, float[] b, int bo, float[] out, int o, int bound) {
        switch (op) {
            case ADD: for (int i = 0; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).add(FloatVector.fromArray(S, b, bo + i)).intoArray(out, o + i); break;
            case SUB: for (int i = 0; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).sub(FloatVector.fromArray(S, b, bo + i)).intoArray(out, o + i); break;
            case MUL: for (int i = 0; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).mul(FloatVector.fromArray(S, b, bo + i)).intoArray(out, o + i); break;
            case DIV: for (int i = 0; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).div(FloatVector.fromArray(S, b, bo + i)).intoArray(out, o + i); break;
            case MAXIMUM: for (int i = 0; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).max(FloatVector.fromArray(S, b, bo + i)).intoArray(out, o + i); break;
            case MINIMUM: for (int i = 0; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).min(FloatVector.fromArray(S, b, bo + i)).intoArray(out, o + i); break;
            default: throw new AssertionError(op);
        }
    }

    /** out[o + i] = op(a, b[bo + i]) for i in [0, bound). */
    private static void binaryLoop(BinaryOp op, float a, float[] b, int bo, float[] out, int o, int bound) {
        FloatVector va = broadcast(a);
        switch (op) {
            case ADD: for (int i = 0; i < bound; i += L) va.add(FloatVector.fromArray(S, b, bo + i)).intoArray(out, o + i); break;
            case SUB: for (int i = 0; i < bound; i += L) va.sub(FloatVector.fromArray(S, b, bo + i)).intoArray(out, o + i); break;
            case MUL: for (int i = 0; i < bound; i += L) va.mul(FloatVector.fromArray(S, b, bo + i)).intoArray(out, o + i); break;
            case DIV: for (int i = 0; i < bound; i += L) va.div(FloatVector.fromArray(S, b, bo + i)).intoArray(out, o + i); break;
            case MAXIMUM: for (int i = 0; i < bound; i += L) va.max(FloatVector.fromArray(S, b, bo + i)).intoArray(out, o + i); break;
            case MINIMUM: for (int i = 0; i < bound; i += L) va.min(FloatVector.fromArray(S, b, bo + i)).intoArray(out, o + i); break;
            default: throw new AssertionError(op);
        }
    }

    /** out[o + i] = op(a[ao + i], b) for i in [0, bound). */
    private static void binaryLoop(BinaryOp op, float[] a, int ao, float b, float[] out, int o, int bound) {
        FloatVector vb = broadcast(b);
        switch (op) {
            case ADD: for (int i = 0; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).add(vb).intoArray(out, o + i); break;
            case SUB: for (int i = 0; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).sub(vb).intoArray(out, o + i); break;
            case MUL: for (int i = 0; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).mul(vb).intoArray(out, o + i); break;
            case DIV: for (int i = 0; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).div(vb).intoArray(out, o + i); break;
            case MAXIMUM: for (int i = 0; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).max(vb).intoArray(out, o + i); break;
            case MINIMUM: for (int i = 0; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).min(vb).intoArray(out, o + i); break;
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
        int bound = S.loopBound(n);
        if (aStep == 1 && bStep == 1) {
            binaryLoop(op, a, aOffset, b, bOffset, out, outOffset, bound);
        } else if (aStep == 0) {
            binaryLoop(op, a[aOffset], b, bOffset, out, outOffset, bound);
        } else {
            binaryLoop(op, a, aOffset, b[bOffset], out, outOffset, bound);
        }
        ScalarLoops.INSTANCE.binary(op, a, aOffset + bound * aStep, aStep, b, bOffset + bound * bStep, bStep,
                out, outOffset + bound, n - bound);
    }

    @Override
    public void axpy(float alpha, float[] x, float[] y, int from, int to) {
        int i = from;
        for (int bound = from + S.loopBound(to - from); i < bound; i += L) {
            FloatVector.fromArray(S, x, i).mul(alpha).add(FloatVector.fromArray(S, y, i)).intoArray(y, i);
        }
        ScalarLoops.INSTANCE.axpy(alpha, x, y, i, to);
    }

    /**
     * The dropout hash runs on 64-bit lanes; its keep masks pass through a long array to a
     * branch-free scalar select. Converting them to floats on vector lanes would need a float species of half the
     * width, and a second FloatVector shape in the JVM makes C2 stop intrinsifying FloatVector
     * stores everywhere (GEMM included: a training step ran 27 % slower).
     */
    private static final VectorSpecies<Long> HASH = LongVector.SPECIES_PREFERRED;
    /** Lane j holds j · γ. */
    private static final LongVector LANE_GAMMAS = LongVector.zero(HASH).addIndex(1).mul(ScalarLoops.GOLDEN_GAMMA);
    /** Elements hashed per pass: a long array of this size stays in L1. */
    private static final int HASH_CHUNK = 1024;

    @Override
    public void dropout(long state, long threshold, float keep, float[] x, float[] y, int from, int to) {
        int lanes = HASH.length();
        LongVector step = LongVector.broadcast(HASH, lanes * ScalarLoops.GOLDEN_GAMMA);
        long[] keptBits = new long[Math.min(HASH_CHUNK, to - from)];
        for (int c = from; c < to; c += HASH_CHUNK) {
            int n = Math.min(HASH_CHUNK, to - c);
            LongVector z = LANE_GAMMAS.add(state + (c + 1L) * ScalarLoops.GOLDEN_GAMMA);
            int i = 0;
            for (int bound = HASH.loopBound(n); i < bound; i += lanes, z = z.add(step)) {
                LongVector h = z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 33))
                        .mul(ScalarLoops.MIX32_A);
                h = h.lanewise(VectorOperators.XOR, h.lanewise(VectorOperators.LSHR, 28)).mul(ScalarLoops.MIX32_B)
                        .lanewise(VectorOperators.LSHR, 40);
                // all ones where kept (r >>> 8 >= threshold), zero where dropped
                h.sub(threshold).lanewise(VectorOperators.ASHR, 63).not().intoArray(keptBits, i);
            }
            for (int j = 0; j < i; j++) {              // a branch-free select: AND with the bits gives exactly +0 when dropped
                y[c + j] = Float.intBitsToFloat(Float.floatToRawIntBits(x[c + j] * keep) & (int) keptBits[j]);
            }
            ScalarLoops.INSTANCE.dropout(state, threshold, keep, x, y, c + i, c + n);
        }
    }

    @Override
    public float sum(float[] x, int offset, int n) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            acc = acc.add(FloatVector.fromArray(S, x, offset + i));
        }
        return sumLanes(acc) + ScalarLoops.INSTANCE.sum(x, offset + i, n - i);
    }

    @Override
    public float max(float[] x, int offset, int n) {
        FloatVector acc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            acc = acc.max(FloatVector.fromArray(S, x, offset + i));
        }
        return Math.max(acc.reduceLanes(VectorOperators.MAX), ScalarLoops.INSTANCE.max(x, offset + i, n - i));
    }

    @Override
    public float expSum(float[] x, int offset, int n, float shift, float[] y) {
        FloatVector acc = FloatVector.zero(S);
        FloatVector shiftV = broadcast(shift);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            FloatVector e = expNonPositive(FloatVector.fromArray(S, x, offset + i).sub(shiftV));
            if (y != null) {
                e.intoArray(y, offset + i);
            }
            acc = acc.add(e);
        }
        return sumLanes(acc) + ScalarLoops.INSTANCE.expSum(x, offset + i, n - i, shift, y);
    }

    @Override
    public float dot(float[] a, float[] b, int offset, int n) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            acc = acc.add(FloatVector.fromArray(S, a, offset + i).mul(FloatVector.fromArray(S, b, offset + i)));
        }
        return sumLanes(acc) + ScalarLoops.INSTANCE.dot(a, b, offset + i, n - i);
    }

    /** Row sums in float lanes, added in lane order; the scalar tail as {@link ScalarLoops}. */
    @Override
    public void layerNormRow(float[] x, int row, int dim, float[] gamma, float[] beta, float eps, float[] y,
                             float[] mean, float[] rstd) {
        int off = row * dim;
        int bound = S.loopBound(dim);
        FloatVector acc = FloatVector.zero(S);
        for (int i = 0; i < bound; i += L) {
            acc = acc.add(FloatVector.fromArray(S, x, off + i));
        }
        float sum = sumLanes(acc);
        for (int i = bound; i < dim; i++) {
            sum += x[off + i];
        }
        float m = sum / dim;
        FloatVector mv = broadcast(m);
        FloatVector squares = FloatVector.zero(S);
        for (int i = 0; i < bound; i += L) {
            FloatVector d = FloatVector.fromArray(S, x, off + i).sub(mv);
            squares = d.fma(d, squares);
        }
        float sumSquares = sumLanes(squares);
        for (int i = bound; i < dim; i++) {
            float d = x[off + i] - m;
            sumSquares += d * d;
        }
        float s = (float) (1.0 / Math.sqrt((double) sumSquares / dim + eps));
        FloatVector sv = broadcast(s);
        for (int i = 0; i < bound; i += L) {
            FloatVector g = gamma == null ? ONE : FloatVector.fromArray(S, gamma, i);
            FloatVector b = beta == null ? ZERO : FloatVector.fromArray(S, beta, i);
            FloatVector.fromArray(S, x, off + i).sub(mv).mul(sv).fma(g, b).intoArray(y, off + i);
        }
        ScalarLoops.normalize(x, off, bound, dim, m, s, gamma, beta, y);
        mean[row] = m;
        rstd[row] = s;
    }

    /** Row sums in float lanes, added in lane order; the scalar tail as {@link ScalarLoops}. */
    @Override
    public void layerNormBackwardRow(float[] x, float[] dy, int row, int dim, float[] gamma, float m, float s,
                                     float[] dx) {
        int off = row * dim;
        int bound = S.loopBound(dim);
        FloatVector mv = broadcast(m);
        FloatVector sv = broadcast(s);
        FloatVector sumDnorm = FloatVector.zero(S);
        FloatVector sumDnormNorm = FloatVector.zero(S);
        for (int i = 0; i < bound; i += L) {
            FloatVector dnorm = gamma == null ? FloatVector.fromArray(S, dy, off + i) : FloatVector.fromArray(S, dy, off + i).mul(FloatVector.fromArray(S, gamma, i));
            sumDnorm = sumDnorm.add(dnorm);
            sumDnormNorm = dnorm.fma(FloatVector.fromArray(S, x, off + i).sub(mv).mul(sv), sumDnormNorm);
        }
        float sd = sumLanes(sumDnorm);
        float sdn = sumLanes(sumDnormNorm);
        for (int i = bound; i < dim; i++) {
            float dnorm = dy[off + i] * (gamma == null ? 1f : gamma[i]);
            sd += dnorm;
            sdn += dnorm * ((x[off + i] - m) * s);
        }
        float meanDnorm = sd / dim;
        float meanDnormNorm = sdn / dim;
        FloatVector meanDnormV = broadcast(meanDnorm);
        FloatVector meanDnormNormV = broadcast(meanDnormNorm);
        for (int i = 0; i < bound; i += L) {
            FloatVector dnorm = gamma == null ? FloatVector.fromArray(S, dy, off + i) : FloatVector.fromArray(S, dy, off + i).mul(FloatVector.fromArray(S, gamma, i));
            FloatVector norm = FloatVector.fromArray(S, x, off + i).sub(mv).mul(sv);
            dnorm.sub(meanDnormV).sub(norm.mul(meanDnormNormV)).mul(sv).intoArray(dx, off + i);
        }
        for (int i = bound; i < dim; i++) {
            float dnorm = dy[off + i] * (gamma == null ? 1f : gamma[i]);
            float norm = (x[off + i] - m) * s;
            dx[off + i] = s * (dnorm - meanDnorm - norm * meanDnormNorm);
        }
    }

    /**
     * Σ of the lanes in lane order. {@code reduceLanes(ADD)} leaves the association order to the
     * implementation, and compiled and interpreted code do differ, which would make results depend
     * on JIT timing (and so on the thread count).
     */
    private static float sumLanes(FloatVector v) {
        // lane by lane: toArray() allocated an array per call (a gigabyte per hundred training steps)
        float sum = 0f;
        for (int i = 0; i < L; i++) {
            sum += v.lane(i);
        }
        return sum;
    }
}
