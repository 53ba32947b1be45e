package org.xformers4j.attention.lowrank;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.xformers4j.attention.AttentionCases.allocatedBytes;
import static org.xformers4j.attention.AttentionCases.padLast;
import static org.xformers4j.attention.AttentionCases.paddedContext;
import static org.xformers4j.attention.AttentionCases.shiftPadded;
import static org.xformers4j.attention.AttentionCases.toDouble;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.xformers4j.attention.lowrank.LinformerAttention.Method;
import org.xformers4j.attention.lowrank.LinformerAttention.ProjectionInit;
import org.xformers4j.attention.lowrank.LinformerAttention.Sharing;
import org.xformers4j.attention.lowrank.LinformerAttention.ShortInput;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.nn.SharedParameters;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.GradientCheck;
import org.xformers4j.tensor.Tensor;

/**
 * Linformer against a float64 reference of its equations for every projection method, sharing
 * mode and short-input treatment (forward and finite-difference gradients of the inputs and the
 * projections), its masking (padding, unreached slots, SLICE = PAD), its refusals, its parameters
 * per sharing mode and layer, NO_PARAMS reproducibility, and memory from the allocation counter.
 * The conformance suite runs on it with every registered mechanism ({@code AttentionConformanceTest}).
 */
class LinformerAttentionTest {

    private static final int BATCH = 2;
    private static final int HEADS = 2;
    private static final int MAX_LENGTH = 8;
    private static final int K = 4;

    private static LinformerAttention linformer(Method method, Sharing sharing, ShortInput shortInput,
                                                ProjectionInit init, int k, int kReduceByLayer) {
        return new LinformerAttention(k, MAX_LENGTH, method, sharing, kReduceByLayer, shortInput, init, 11L);
    }

    private static LinformerAttention initialized(Method method, Sharing sharing, ShortInput shortInput,
                                                  ProjectionInit init, int headDim) {
        LinformerAttention attention = linformer(method, sharing, shortInput, init, K, 0);
        attention.initialize(HEADS, headDim, new SplittableRandom(3));
        return attention;
    }

    // ------------------------------------------------------------------ the float64 reference

    /**
     * The mechanism's equations in float64, element by element, for weights laid out as the
     * mechanism stores them: a matrix E [Hp, n, K] of which the first {@code slots} columns are
     * used, or a convolution W [Hp, s·D, D] (Hp = heads for per-head projections, else 1).
     * Masked keys and values (padded, or beyond the input under PAD) are zero; slot j of E draws
     * Σ_i E[i][j]·x_i over the positions i of the input (the first L rows, or all n under PAD), of a
     * convolution Σ_t Σ_c' W[t·D + c'][c]·x[j·s + t][c']; a slot whose weights on every real key are
     * zero (matrix) or whose window holds no real key (convolution) is masked; softmax over the
     * rest of q·k̄/√D, an all-masked row zeros.
     */
    record Reference(boolean convolution, boolean perHead, boolean pad, int n, int storedColumns, int slots,
                     int stride) {

        double[] forward(double[] q, double[] k, double[] v, double[] e, double[] f, boolean[][] padded,
                         int lq, int lk, int d, int dv) {
            double[] out = new double[BATCH * HEADS * lq * dv];
            int length = pad ? n : lk;
            for (int b = 0; b < BATCH; b++) {
                boolean[] real = new boolean[length];
                for (int i = 0; i < lk; i++) {
                    real[i] = padded == null || !padded[b][i];
                }
                for (int h = 0; h < HEADS; h++) {
                    int bh = b * HEADS + h;
                    int hp = perHead ? h : 0;
                    double[][] keys = masked(k, bh * lk * d, lk, d, real);
                    double[][] values = masked(v, bh * lk * dv, lk, dv, real);
                    double[][] kBar = project(e, hp, keys, d);
                    double[][] vBar = project(f, hp, values, dv);
                    boolean[] unreached = unreached(e, hp, real, d);
                    for (int i = 0; i < lq; i++) {
                        double[] scores = new double[kBar.length];
                        double max = Double.NEGATIVE_INFINITY;
                        for (int j = 0; j < kBar.length; j++) {
                            for (int c = 0; c < d; c++) {
                                scores[j] += q[(bh * lq + i) * d + c] * kBar[j][c];
                            }
                            scores[j] = unreached[j] ? Double.NEGATIVE_INFINITY : scores[j] / Math.sqrt(d);
                            max = Math.max(max, scores[j]);
                        }
                        if (max == Double.NEGATIVE_INFINITY) {
                            continue;
                        }
                        double sum = 0;
                        for (int j = 0; j < scores.length; j++) {
                            scores[j] = Math.exp(scores[j] - max);
                            sum += scores[j];
                        }
                        for (int j = 0; j < scores.length; j++) {
                            for (int c = 0; c < dv; c++) {
                                out[(bh * lq + i) * dv + c] += scores[j] / sum * vBar[j][c];
                            }
                        }
                    }
                }
            }
            return out;
        }

        /** x's rows [offset, offset + lk·width) as [length][width], zero where not real (and beyond lk). */
        private static double[][] masked(double[] x, int offset, int lk, int width, boolean[] real) {
            double[][] rows = new double[real.length][width];
            for (int i = 0; i < lk; i++) {
                for (int c = 0; c < width && real[i]; c++) {
                    rows[i][c] = x[offset + i * width + c];
                }
            }
            return rows;
        }

        private int convolutionSlots(int length) {
            return (length + stride - 1) / stride;
        }

        private double[][] project(double[] w, int hp, double[][] x, int width) {
            int length = x.length;
            if (convolution) {
                double[][] out = new double[convolutionSlots(length)][width];
                int rows = stride * width;
                for (int j = 0; j < out.length; j++) {
                    for (int t = 0; t < stride && j * stride + t < length; t++) {
                        for (int from = 0; from < width; from++) {
                            for (int to = 0; to < width; to++) {
                                out[j][to] += w[(hp * rows + t * width + from) * width + to] * x[j * stride + t][from];
                            }
                        }
                    }
                }
                return out;
            }
            double[][] out = new double[slots][width];
            for (int j = 0; j < slots; j++) {
                for (int i = 0; i < length; i++) {
                    for (int c = 0; c < width; c++) {
                        out[j][c] += w[(hp * n + i) * storedColumns + j] * x[i][c];
                    }
                }
            }
            return out;
        }

        private boolean[] unreached(double[] e, int hp, boolean[] real, int d) {
            int length = real.length;
            boolean[] out = new boolean[convolution ? convolutionSlots(length) : slots];
            for (int j = 0; j < out.length; j++) {
                double reach = 0;
                if (convolution) {
                    for (int t = 0; t < stride && j * stride + t < length; t++) {
                        reach += real[j * stride + t] ? 1 : 0;
                    }
                } else {
                    for (int i = 0; i < length; i++) {
                        reach += real[i] ? Math.abs(e[(hp * n + i) * storedColumns + j]) : 0;
                    }
                }
                out[j] = reach == 0;
            }
            return out;
        }
    }

    /** The reference for {@code attention}, initialised, as configured (slots = its projected length). */
    private static Reference reference(LinformerAttention attention) {
        int kl = attention.projectedLength();
        int stored = attention.keyWeight().size(-1);
        return new Reference(attention.method() == Method.CONVOLUTION, attention.sharing() == Sharing.NONE,
                attention.shortInput() == ShortInput.PAD, attention.maxLength(), stored, kl,
                (attention.maxLength() + kl - 1) / kl);
    }

    private static void assertMatchesReference(String what, LinformerAttention attention, int lq, int lk, int d,
                                               int dv, boolean[][] padded, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Tensor q = Tensor.randn(rng, BATCH, HEADS, lq, d);
        Tensor k = Tensor.randn(rng, BATCH, HEADS, lk, d);
        Tensor v = Tensor.randn(rng, BATCH, HEADS, lk, dv);
        float[] actual;
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            actual = attention.forward(q, k, v, paddedContext(padded, false)).toFloatArray();
        }
        double[] expected = reference(attention).forward(toDouble(q.toFloatArray()), toDouble(k.toFloatArray()),
                toDouble(v.toFloatArray()), toDouble(attention.keyWeight().toFloatArray()),
                toDouble(attention.valueWeight().toFloatArray()), padded, lq, lk, d, dv);
        assertThat(actual).hasSize(expected.length);
        for (int e = 0; e < actual.length; e++) {
            assertThat((double) actual[e]).as("%s element %d", what, e)
                    .isCloseTo(expected[e], within(1e-5 * (1 + Math.abs(expected[e]))));
        }
    }

    /** Every method with the head sizes it supports (a convolution needs values of the head size). */
    private static int valueDim(Method method) {
        return method == Method.CONVOLUTION ? 4 : 3;
    }

    // ------------------------------------------------------------------ the equations

    @ParameterizedTest
    @EnumSource(Method.class)
    void forwardEqualsTheFloat64ReferenceForEverySharingShortInputLengthAndPadding(Method method) {
        long seed = 1;
        for (Sharing sharing : Sharing.values()) {
            for (ShortInput shortInput : ShortInput.values()) {
                LinformerAttention attention = initialized(method, sharing, shortInput, ProjectionInit.RANDOM, 4);
                for (int length : new int[] {1, 3, 7, 8}) {
                    String shape = method + " " + sharing + " " + shortInput + " L=" + length;
                    assertMatchesReference(shape, attention, length, length, 4, valueDim(method), null, seed++);
                    assertMatchesReference("padded " + shape, attention, length, length, 4, valueDim(method),
                            padLast(BATCH, length, length / 2), seed++);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Method.class)
    void crossAttentionProjectsTheMemoryAndTakesQueriesOfAnyLength(Method method) {
        long seed = 100;
        LinformerAttention attention = initialized(method, Sharing.NONE, ShortInput.SLICE, ProjectionInit.RANDOM, 4);
        for (int lq : new int[] {1, 5, 12}) {
            for (int lk : new int[] {2, 6, 8}) {
                assertMatchesReference(method + " cross Lq=" + lq + " Lk=" + lk, attention, lq, lk, 4,
                        valueDim(method), padLast(BATCH, lk, lk / 3), seed++);
            }
        }
    }

    @Test
    void withTheIdentityAndKEqualToMaxLengthItIsSoftmaxAttention() {
        LinformerAttention attention = linformer(Method.LEARNABLE, Sharing.HEADWISE, ShortInput.SLICE,
                ProjectionInit.IDENTITY, MAX_LENGTH, 0);
        attention.initialize(HEADS, 4, new SplittableRandom(1));
        SplittableRandom rng = new SplittableRandom(5);
        int lk = 6;
        Tensor q = Tensor.randn(rng, BATCH, HEADS, 3, 4);
        Tensor k = Tensor.randn(rng, BATCH, HEADS, lk, 4);
        Tensor v = Tensor.randn(rng, BATCH, HEADS, lk, 2);
        boolean[][] padded = padLast(BATCH, lk, 2);
        float[] actual = attention.forward(q, k, v, paddedContext(padded, false)).toFloatArray();
        double[] qd = toDouble(q.toFloatArray());
        double[] kd = toDouble(k.toFloatArray());
        double[] vd = toDouble(v.toFloatArray());
        for (int b = 0; b < BATCH; b++) {
            for (int h = 0; h < HEADS; h++) {
                for (int i = 0; i < 3; i++) {
                    double[] w = new double[lk];
                    double sum = 0;
                    for (int j = 0; j < lk; j++) {
                        double s = 0;
                        for (int c = 0; c < 4; c++) {
                            s += qd[((b * HEADS + h) * 3 + i) * 4 + c] * kd[((b * HEADS + h) * lk + j) * 4 + c];
                        }
                        w[j] = padded[b][j] ? 0 : Math.exp(s / 2);
                        sum += w[j];
                    }
                    for (int c = 0; c < 2; c++) {
                        double o = 0;
                        for (int j = 0; j < lk; j++) {
                            o += w[j] / sum * vd[((b * HEADS + h) * lk + j) * 2 + c];
                        }
                        assertThat((double) actual[((b * HEADS + h) * 3 + i) * 2 + c])
                                .as("b=%d h=%d i=%d c=%d", b, h, i, c).isCloseTo(o, within(1e-5));
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Method.class)
    void gradientsOfInputsAndProjectionsMatchFloat64FiniteDifferencesOfTheReference(Method method) {
        long seed = 200;
        for (Sharing sharing : Sharing.values()) {
            for (ShortInput shortInput : ShortInput.values()) {
                int length = 6;
                int dv = valueDim(method);
                boolean[][] padded = padLast(BATCH, length, 2);
                LinformerAttention attention = initialized(method, sharing, shortInput, ProjectionInit.RANDOM, 4);
                SplittableRandom rng = new SplittableRandom(seed++);
                Tensor q = Tensor.randn(rng, BATCH, HEADS, 5, 4).requiresGrad(true);
                Tensor k = Tensor.randn(rng, BATCH, HEADS, length, 4).requiresGrad(true);
                Tensor v = Tensor.randn(rng, BATCH, HEADS, length, dv).requiresGrad(true);
                AttentionContext context = paddedContext(padded, false);
                Reference reference = reference(attention);
                boolean shared = attention.valueWeight() == attention.keyWeight();
                List<Tensor> inputs = new ArrayList<>(List.of(q, k, v, attention.keyWeight()));
                if (!shared) {
                    inputs.add(attention.valueWeight());
                }
                GradientCheck.Result r = GradientCheck.of(method + " " + sharing + " " + shortInput,
                        in -> attention.forward(in[0], in[1], in[2], context),
                        x -> reference.forward(x[0], x[1], x[2], x[3], shared ? x[3] : x[4], padded, 5, length, 4, dv),
                        inputs.toArray(Tensor[]::new)).run();
                assertThat(r.passed()).as(r.detail()).isTrue();
                assertThat(attention.keyWeight().requiresGrad()).as("E is trained unless NO_PARAMS")
                        .isEqualTo(method != Method.NO_PARAMS);
            }
        }
    }

    // ------------------------------------------------------------------ masking and short inputs

    @ParameterizedTest
    @EnumSource(Method.class)
    void sliceAndPadGiveTheSameOutput(Method method) {
        for (ProjectionInit init : method == Method.LEARNABLE ? ProjectionInit.values()
                : new ProjectionInit[] {ProjectionInit.RANDOM}) {
            LinformerAttention slice = initialized(method, Sharing.HEADWISE, ShortInput.SLICE, init, 4);
            LinformerAttention pad = initialized(method, Sharing.HEADWISE, ShortInput.PAD, init, 4);
            SplittableRandom rng = new SplittableRandom(9);
            for (int length : new int[] {1, 4, 5, 8}) {
                Tensor q = Tensor.randn(rng, BATCH, HEADS, 3, 4);
                Tensor k = Tensor.randn(rng, BATCH, HEADS, length, 4);
                Tensor v = Tensor.randn(rng, BATCH, HEADS, length, 4);
                AttentionContext context = paddedContext(padLast(BATCH, length, length / 2), false);
                float[] a = slice.forward(q, k, v, context).toFloatArray();
                float[] b = pad.forward(q, k, v, context).toFloatArray();
                for (int e = 0; e < a.length; e++) {
                    assertThat(b[e]).as("%s %s L=%d element %d", method, init, length, e).isCloseTo(a[e], within(1e-5f));
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Method.class)
    void aPaddedSequenceGivesTheOutputOfTheSameSequenceWithoutPadding(Method method) {
        for (ProjectionInit init : method == Method.LEARNABLE ? ProjectionInit.values()
                : new ProjectionInit[] {ProjectionInit.RANDOM}) {
            for (ShortInput shortInput : ShortInput.values()) {
                LinformerAttention attention = initialized(method, Sharing.NONE, shortInput, init, 4);
                SplittableRandom rng = new SplittableRandom(21);
                int length = 7;
                int real = 3;
                Tensor q = Tensor.randn(rng, 1, HEADS, 2, 4);
                Tensor k = Tensor.randn(rng, 1, HEADS, length, 4);
                Tensor v = Tensor.randn(rng, 1, HEADS, length, 4);
                float[] padded = attention.forward(q, k, v, paddedContext(padLast(1, length, length - real), false))
                        .toFloatArray();
                float[] unpadded = attention.forward(q, k.narrow(2, 0, real), v.narrow(2, 0, real),
                        AttentionContext.none()).toFloatArray();
                for (int e = 0; e < padded.length; e++) {
                    assertThat(padded[e]).as("%s %s %s element %d", method, init, shortInput, e)
                            .isCloseTo(unpadded[e], within(1e-5f));
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Method.class)
    void paddedKeysHaveNoInfluenceAndFullyPaddedElementsOutputZerosWithZeroGradients(Method method) {
        LinformerAttention attention = initialized(method, Sharing.HEADWISE, ShortInput.PAD, ProjectionInit.RANDOM, 4);
        SplittableRandom rng = new SplittableRandom(300);
        Tensor q = Tensor.randn(rng, 2, 2, 5, 4).requiresGrad(true);
        Tensor k = Tensor.randn(rng, 2, 2, 7, 4).requiresGrad(true);
        Tensor v = Tensor.randn(rng, 2, 2, 7, 4).requiresGrad(true);
        boolean[][] padded = {{true, true, true, true, true, true, true}, {false, false, true, false, true, true, true}};
        Tensor out = attention.forward(q, k, v, paddedContext(padded, false));
        out.sum().backward();
        float[] changed = attention.forward(q, shiftPadded(k, padded, 3f, 1f), shiftPadded(v, padded, -5f, 0f),
                paddedContext(padded, false)).toFloatArray();
        float[] values = out.toFloatArray();
        assertThat(changed).as("padded keys and values changed").containsExactly(values);
        for (Tensor t : new Tensor[] {out, q.grad(), k.grad(), v.grad()}) {
            float[] data = t.toFloatArray();
            for (int e = 0; e < data.length; e++) {
                assertThat(Float.isFinite(data[e])).isTrue();
                if (e < data.length / 2) {
                    assertThat(data[e]).as("batch element 0 is all padding: element %d", e).isZero();
                }
            }
        }
    }

    // ------------------------------------------------------------------ refusals

    @Test
    void refusesCausalUseBiasAndKeysLongerThanMaxLengthSayingWhy() {
        LinformerAttention attention = initialized(Method.LEARNABLE, Sharing.HEADWISE, ShortInput.SLICE,
                ProjectionInit.RANDOM, 4);
        Tensor q = Tensor.zeros(1, HEADS, 4, 4);
        assertThatThrownBy(() -> attention.forward(q, q, q, AttentionContext.builder().causal(true).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("causal")
                .hasMessageContaining("mixes positions across the whole sequence")
                .hasMessageContaining("later positions");
        assertThatThrownBy(() -> attention.forward(q, q, q,
                AttentionContext.builder().bias(Tensor.zeros(1, HEADS, 4, 4)).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("additive bias")
                .hasMessageContaining("[queryLength, k]");
        Tensor long9 = Tensor.zeros(1, HEADS, 9, 4);
        assertThatThrownBy(() -> attention.forward(q, long9, long9, AttentionContext.none()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("key length 9 is more than maxLength 8");
        assertThatThrownBy(() -> attention.forward(q, Tensor.zeros(1, HEADS, 4, 5), q, AttentionContext.none()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[1, 2, 4, 5]");
    }

    @Test
    void refusesInputsItsParametersWereNotBuiltFor() {
        Tensor q = Tensor.zeros(1, 3, 4, 4);
        LinformerAttention perHead = initialized(Method.LEARNABLE, Sharing.NONE, ShortInput.SLICE,
                ProjectionInit.RANDOM, 4);
        assertThatThrownBy(() -> perHead.forward(q, q, q, AttentionContext.none()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("per head for 2 heads");
        LinformerAttention convolution = initialized(Method.CONVOLUTION, Sharing.KV, ShortInput.SLICE,
                ProjectionInit.RANDOM, 4);
        Tensor q2 = Tensor.zeros(1, HEADS, 4, 4);
        assertThatThrownBy(() -> convolution.forward(q2, q2, Tensor.zeros(1, HEADS, 4, 3), AttentionContext.none()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("built for head size 4");
        LinformerAttention uninitialized = linformer(Method.LEARNABLE, Sharing.KV, ShortInput.SLICE,
                ProjectionInit.RANDOM, K, 0);
        assertThatThrownBy(() -> uninitialized.forward(q2, q2, q2, AttentionContext.none()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("initialize");
    }

    @Test
    void refusesInconsistentHyperparametersNamingThem() {
        LinformerAttentionProvider provider = new LinformerAttentionProvider();
        assertThatThrownBy(() -> provider.create(Map.of("k", "9", "maxLength", "8")))
                .isInstanceOf(PropertyException.class).hasMessageContaining("k = 9 is more than maxLength = 8");
        assertThatThrownBy(() -> provider.create(Map.of("method", "NO_PARAMS", "init", "IDENTITY")))
                .isInstanceOf(PropertyException.class).hasMessageContaining("IDENTITY applies to method LEARNABLE");
        assertThatThrownBy(() -> provider.create(Map.of("method", "CONVOLUTION", "sharing", "LAYERWISE",
                "kReduceByLayer", "1"))).isInstanceOf(PropertyException.class)
                .hasMessageContaining("kReduceByLayer = 1 cannot shrink a LAYERWISE-shared CONVOLUTION");
        assertThatThrownBy(() -> provider.create(Map.of("k", "0"))).isInstanceOf(PropertyException.class)
                .hasMessageContaining("k");
    }

    @Test
    void takesThePapersLowerCaseSpellingOfItsChoices() {
        LinformerAttention attention = new LinformerAttentionProvider().create(Map.of("method", "no-params",
                "sharing", "kv", "shortInput", "pad"));
        assertThat(attention.method()).isEqualTo(Method.NO_PARAMS);
        assertThat(attention.sharing()).isEqualTo(Sharing.KV);
    }

    // ------------------------------------------------------------------ parameters, sharing, layers

    @Test
    void parameterCountsFollowTheSharingMode() {
        // LEARNABLE: n·k per matrix; CONVOLUTION: s·D·D with s = ⌈8/4⌉ = 2, D = 4
        int[][] expected = {{2 * HEADS * 8 * 4, 2 * 8 * 4, 8 * 4, 8 * 4}, {2 * HEADS * 2 * 4 * 4, 2 * 2 * 4 * 4,
            2 * 4 * 4, 2 * 4 * 4}};
        Method[] methods = {Method.LEARNABLE, Method.CONVOLUTION};
        for (int m = 0; m < methods.length; m++) {
            for (Sharing sharing : Sharing.values()) {
                LinformerAttention attention = initialized(methods[m], sharing, ShortInput.SLICE,
                        ProjectionInit.RANDOM, 4);
                assertThat(attention.parameterCount()).as("%s %s", methods[m], sharing)
                        .isEqualTo(expected[m][sharing.ordinal()]);
            }
        }
        assertThat(initialized(Method.LEARNABLE, Sharing.KV, ShortInput.SLICE, ProjectionInit.RANDOM, 4)
                .namedParameters()).containsOnlyKeys("projection");
        assertThat(initialized(Method.LEARNABLE, Sharing.NONE, ShortInput.SLICE, ProjectionInit.RANDOM, 4)
                .namedParameters()).containsOnlyKeys("keyProjection", "valueProjection");
        for (Sharing sharing : Sharing.values()) {
            LinformerAttention fixed = initialized(Method.NO_PARAMS, sharing, ShortInput.SLICE, ProjectionInit.RANDOM, 4);
            assertThat(fixed.parameters()).as("NO_PARAMS %s", sharing).isEmpty();
        }
    }

    @Test
    void layerwiseMechanismsOfAStackHoldTheStoresOneProjectionAndOwnNone() {
        SharedParameters store = new SharedParameters();
        List<LinformerAttention> layers = new ArrayList<>();
        for (int l = 0; l < 3; l++) {
            LinformerAttention attention = linformer(Method.LEARNABLE, Sharing.LAYERWISE, ShortInput.SLICE,
                    ProjectionInit.RANDOM, K, 1);
            attention.placeInStack(l, 3, store);
            attention.initialize(HEADS, 4, new SplittableRandom(l));
            layers.add(attention);
        }
        assertThat(store.namedParameters()).containsOnlyKeys(LinformerAttention.SHARED_KEY);
        Tensor shared = store.namedParameters().get(LinformerAttention.SHARED_KEY);
        assertThat(shared.shape()).containsExactly(MAX_LENGTH, K);
        for (LinformerAttention attention : layers) {
            assertThat(attention.keyWeight()).isSameAs(shared);
            assertThat(attention.valueWeight()).isSameAs(shared);
            assertThat(attention.parameters()).isEmpty();
        }
        // layer l uses the first k - l columns of the one matrix
        for (int l = 0; l < 3; l++) {
            assertThat(layers.get(l).projectedLength()).isEqualTo(K - l);
            assertMatchesReference("layer " + l, layers.get(l), 3, 6, 4, 3, padLast(BATCH, 6, 2), 40 + l);
        }
        LinformerAttention alone = initialized(Method.LEARNABLE, Sharing.LAYERWISE, ShortInput.SLICE,
                ProjectionInit.RANDOM, 4);
        assertThat(alone.namedParameters()).containsOnlyKeys("projection");
    }

    @Test
    void kShrinksByLayerDownToOne() {
        int[] expected = {8, 5, 2, 1};
        for (int l = 0; l < expected.length; l++) {
            LinformerAttention attention = linformer(Method.LEARNABLE, Sharing.HEADWISE, ShortInput.SLICE,
                    ProjectionInit.RANDOM, MAX_LENGTH, 3);
            attention.placeInStack(l, expected.length, new SharedParameters());
            attention.initialize(HEADS, 4, new SplittableRandom(l));
            assertThat(attention.projectedLength()).as("layer %d", l).isEqualTo(expected[l]);
            assertThat(attention.keyWeight().shape()).containsExactly(MAX_LENGTH, expected[l]);
            assertMatchesReference("layer " + l, attention, 3, 7, 4, 3, padLast(BATCH, 7, 3), 60 + l);
        }
        LinformerAttention convolution = linformer(Method.CONVOLUTION, Sharing.KV, ShortInput.SLICE,
                ProjectionInit.RANDOM, K, 2);
        convolution.placeInStack(1, 2, new SharedParameters());
        convolution.initialize(HEADS, 4, new SplittableRandom(1));
        // k = 4 - 2 = 2 at layer 1: kernel and stride ⌈8/2⌉ = 4
        assertThat(convolution.keyWeight().shape()).containsExactly(4 * 4, 4);
        assertMatchesReference("convolution layer 1", convolution, 3, 7, 4, 4, padLast(BATCH, 7, 3), 70);
    }

    @Test
    void isPlacedOnceAndBeforeInitialisation() {
        LinformerAttention attention = linformer(Method.LEARNABLE, Sharing.LAYERWISE, ShortInput.SLICE,
                ProjectionInit.RANDOM, K, 0);
        assertThatThrownBy(() -> attention.placeInStack(3, 3, new SharedParameters()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("layer 3 of 3");
        assertThatThrownBy(() -> attention.placeInStack(0, 3, null)).isInstanceOf(IllegalArgumentException.class);
        attention.placeInStack(0, 3, new SharedParameters());
        assertThatThrownBy(() -> attention.placeInStack(1, 3, new SharedParameters()))
                .isInstanceOf(IllegalStateException.class);
        LinformerAttention initialized = initialized(Method.LEARNABLE, Sharing.LAYERWISE, ShortInput.SLICE,
                ProjectionInit.RANDOM, 4);
        assertThatThrownBy(() -> initialized.placeInStack(0, 1, new SharedParameters()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("before initialize");
    }

    @Test
    void noParamsMatricesAreDrawnFromTheSeedPerLayerAndShapedAsTheRandomProjection() {
        int n = 512;
        int k = 64;
        float[] first = noParams(n, k, 5L, Sharing.KV, 0);
        assertThat(noParams(n, k, 5L, Sharing.KV, 0)).as("same seed and layer").containsExactly(first);
        assertThat(noParams(n, k, 6L, Sharing.KV, 0)).as("another seed").isNotEqualTo(first);
        assertThat(noParams(n, k, 5L, Sharing.KV, 1)).as("another layer").isNotEqualTo(first);
        assertThat(noParams(n, k, 5L, Sharing.LAYERWISE, 1)).as("LAYERWISE: every layer the same")
                .containsExactly(noParams(n, k, 5L, Sharing.LAYERWISE, 0));
        double sum = 0;
        double squares = 0;
        for (float x : first) {
            sum += x;
            squares += (double) x * x;
        }
        double mean = sum / first.length;
        double variance = squares / first.length - mean * mean;
        // N(0, 1/k), 32,768 samples: the mean within 4 standard errors (σ/√N), the variance within 3% (~4 of its σ²√(2/N))
        assertThat(mean).isCloseTo(0, within(4 / Math.sqrt(k) / Math.sqrt(first.length)));
        assertThat(variance * k).isCloseTo(1, within(0.03));
    }

    private static float[] noParams(int n, int k, long seed, Sharing sharing, int layer) {
        LinformerAttention attention = new LinformerAttention(k, n, Method.NO_PARAMS, sharing, 0, ShortInput.SLICE,
                ProjectionInit.RANDOM, seed);
        attention.placeInStack(layer, 2, new SharedParameters());
        attention.initialize(HEADS, 8, new SplittableRandom(layer));
        return attention.keyWeight().toFloatArray();
    }

    // ------------------------------------------------------------------ memory

    @Test
    void neverAllocatesAnNByNBufferAndGrowsLinearly() {
        int n = 4096;
        LinformerAttention attention = new LinformerAttention(16, 4 * n, Method.LEARNABLE, Sharing.KV, 0,
                ShortInput.SLICE, ProjectionInit.RANDOM, 1L);
        attention.initialize(1, 8, new SplittableRandom(1));
        long allocated = allocatedBytes(attention, n);
        attention.zeroGrad();
        // the largest buffers are [n, 16] and E's [4n, 16] gradient: all together below a quarter of one n x n float buffer
        assertThat(allocated).as("bytes allocated by forward and backward").isLessThan((long) n * n * Float.BYTES / 4);
        assertThat((double) allocatedBytes(attention, 4 * n) / allocated).as("growth from N to 4N").isLessThan(4.5);
    }

    // ------------------------------------------------------------------ descriptor

    @Test
    void providerDescribesAndConfiguresIt() {
        LinformerAttentionProvider provider = new LinformerAttentionProvider();
        ComponentDescriptor descriptor = provider.descriptor();
        assertThat(descriptor.name()).isEqualTo("linformer");
        AttentionCapabilities c = descriptor.capabilities(AttentionCapabilities.class);
        assertThat(c.length()).isEqualTo(AttentionCapabilities.LengthConstraint.MAXIMUM);
        assertThat(c.exactWhen()).contains("init=IDENTITY", "k=16", "maxLength=16");
        LinformerAttention configured = (LinformerAttention) provider.create(Map.of("k", "8", "maxLength", "64",
                "method", "CONVOLUTION", "sharing", "NONE", "kReduceByLayer", "2", "shortInput", "PAD", "seed", "3"));
        assertThat(configured.k()).isEqualTo(8);
        assertThat(configured.maxLength()).isEqualTo(64);
        assertThat(configured.method()).isEqualTo(Method.CONVOLUTION);
        assertThat(configured.sharing()).isEqualTo(Sharing.NONE);
        assertThat(configured.kReduceByLayer()).isEqualTo(2);
        assertThat(configured.shortInput()).isEqualTo(ShortInput.PAD);
        assertThat(configured.seed()).isEqualTo(3L);
        LinformerAttention defaults = (LinformerAttention) provider.create(Map.of());
        assertThat(defaults.method()).isEqualTo(Method.LEARNABLE);
        assertThat(defaults.sharing()).isEqualTo(Sharing.HEADWISE);
        assertThat(defaults.init()).isEqualTo(ProjectionInit.RANDOM);
    }
}
