package org.xformers4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LossOpsTest {

    private static final int IGNORE = Functional.IGNORE_INDEX;

    private final SplittableRandom rng = new SplittableRandom(3);

    /** Float64 mean cross-entropy with ignored targets and label smoothing, straight from the definition. */
    private static double[] crossEntropyReference(double[] logits, int classes, int[] targets, double smoothing) {
        double total = 0;
        int counted = 0;
        for (int i = 0; i < targets.length; i++) {
            if (targets[i] == IGNORE) {
                continue;
            }
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) {
                max = Math.max(max, logits[i * classes + c]);
            }
            double z = 0;
            for (int c = 0; c < classes; c++) {
                z += Math.exp(logits[i * classes + c] - max);
            }
            double logZ = max + Math.log(z);
            for (int c = 0; c < classes; c++) {
                double q = (c == targets[i] ? 1 - smoothing : 0) + smoothing / classes;
                total -= q * (logits[i * classes + c] - logZ);
            }
            counted++;
        }
        return new double[] {counted == 0 ? 0 : total / counted};
    }

    @ParameterizedTest(name = "targets {0} smoothing {1}")
    @CsvSource({
        "'1,0,4,2', 0",
        "'1,-100,4,-100', 0",
        "'3,3,0,1', 0.1",
        "'2,-100,0,4', 0.25"
    })
    void crossEntropyMatchesReference(String targetList, float smoothing) {
        int[] targets = parse(targetList);
        GradCheck.of("crossEntropy", in -> Functional.crossEntropy(in[0], targets, IGNORE, smoothing),
                ref -> crossEntropyReference(ref[0], 5, targets, smoothing),
                GradCheck.input(rng, 4, 5)).check();
    }

    /** A vocabulary wider than the SIMD vectors: the backward's exp, row scaling and hits run vectorised. */
    @ParameterizedTest(name = "smoothing {0}")
    @CsvSource({"0", "0.1"})
    void crossEntropyOverAWideVocabularyMatchesReference(float smoothing) {
        int[] targets = {36, 0, IGNORE, 17, 5, 23};
        GradCheck.of("crossEntropy [6, 37]", in -> Functional.crossEntropy(in[0], targets, IGNORE, smoothing),
                ref -> crossEntropyReference(ref[0], 37, targets, smoothing),
                GradCheck.input(rng, 6, 37)).check();
    }

    @Test
    void crossEntropyOfOneRowOfLogits() {
        GradCheck.of("crossEntropy [C]", in -> Functional.crossEntropy(in[0], new int[] {3}),
                ref -> crossEntropyReference(ref[0], 6, new int[] {3}, 0),
                GradCheck.input(rng, 6)).check();
        assertThat(Functional.crossEntropy(Tensor.zeros(2, 8), new int[] {1, 7}).item())
                .isCloseTo((float) Math.log(8), within(1e-6f));
    }

    @Test
    void crossEntropyWithEveryTargetIgnoredIsZeroWithZeroGradient() {
        Tensor logits = GradCheck.input(rng, 3, 4);
        Tensor loss = Functional.crossEntropy(logits, new int[] {IGNORE, IGNORE, IGNORE}, IGNORE, 0.1f);
        assertThat(loss.item()).isZero();
        loss.backward();
        assertThat(logits.grad().toFloatArray()).containsOnly(0f);
    }

    @Test
    void crossEntropyRejectsBadArguments() {
        Tensor logits = Tensor.zeros(2, 3);
        assertThatThrownBy(() -> Functional.crossEntropy(logits, new int[] {0, 3}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("crossEntropy: target 3 at position 1 is out of range [0, 3)");
        assertThatThrownBy(() -> Functional.crossEntropy(logits, new int[] {-1, 0}, 7, 0f))
                .hasMessageContaining("target -1 at position 0")
                .hasMessageContaining("not the ignore index 7");
        assertThatThrownBy(() -> Functional.crossEntropy(logits, new int[] {0}))
                .hasMessageContaining("crossEntropy: 1 targets for logits of shape [2, 3] (2 rows)");
        assertThatThrownBy(() -> Functional.crossEntropy(logits, new int[] {0, 1}, IGNORE, 1f))
                .hasMessageContaining("labelSmoothing must be in [0, 1), got 1.0");
        assertThatThrownBy(() -> Functional.crossEntropy(logits, new int[] {0, 1}, IGNORE, -0.1f))
                .hasMessageContaining("got -0.1");
        assertThatThrownBy(() -> Functional.crossEntropy(Tensor.zeros(2, 3, 4), new int[] {0, 1}))
                .hasMessageContaining("crossEntropy: logits must be [N, C] or [C], got shape [2, 3, 4]");
    }

    @Test
    void mseLossMatchesReference() {
        GradCheck.of("mseLoss", in -> Functional.mseLoss(in[0], in[1]), ref -> {
            double sum = 0;
            for (int i = 0; i < ref[0].length; i++) {
                sum += (ref[0][i] - ref[1][i]) * (ref[0][i] - ref[1][i]);
            }
            return new double[] {sum / ref[0].length};
        }, GradCheck.input(rng, 3, 4), GradCheck.input(rng, 3, 4)).check();
        assertThatThrownBy(() -> Functional.mseLoss(Tensor.zeros(3, 4), Tensor.zeros(4, 3)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("mseLoss: input shape [3, 4] and target shape [4, 3] must be equal");
    }

    @Test
    void binaryCrossEntropyWithLogitsMatchesReference() {
        Tensor logits = Tensor.rand(rng, -4f, 4f, 3, 5).requiresGrad(true);
        Tensor target = Tensor.rand(rng, 0.05f, 0.95f, 3, 5).requiresGrad(true);
        GradCheck.of("binaryCrossEntropyWithLogits", in -> Functional.binaryCrossEntropyWithLogits(in[0], in[1]),
                ref -> {
                    double sum = 0;
                    for (int i = 0; i < ref[0].length; i++) {
                        double p = 1 / (1 + Math.exp(-ref[0][i]));
                        sum -= ref[1][i] * Math.log(p) + (1 - ref[1][i]) * Math.log(1 - p);
                    }
                    return new double[] {sum / ref[0].length};
                }, logits, target).check();
        assertThatThrownBy(() -> Functional.binaryCrossEntropyWithLogits(Tensor.zeros(3), Tensor.zeros(1, 3)))
                .hasMessageContaining("binaryCrossEntropyWithLogits: logits shape [3] and target shape [1, 3]");
    }

    @Test
    void binaryCrossEntropyWithLogitsIsStableForLargeLogits() {
        Tensor logits = Tensor.of(new float[] {100f, -100f}, 2);
        assertThat(Functional.binaryCrossEntropyWithLogits(logits, Tensor.of(new float[] {1f, 0f}, 2)).item())
                .isCloseTo(0f, within(1e-6f));
        assertThat(Functional.binaryCrossEntropyWithLogits(logits, Tensor.of(new float[] {0f, 1f}, 2)).item())
                .isCloseTo(100f, within(1e-4f));
    }

    @Test
    void dropoutMatchesItsMaskAndIsDeterministicForASeed() {
        float p = 0.4f;
        float[] mask = new float[12];
        SplittableRandom draws = new SplittableRandom(42);
        for (int i = 0; i < mask.length; i++) {
            mask[i] = draws.nextFloat() < p ? 0 : 1 / (1 - p);
        }
        GradCheck.of("dropout", in -> Functional.dropout(in[0], p, true, new ReplayableRandom(42)), ref -> {
            double[] out = new double[ref[0].length];
            for (int i = 0; i < out.length; i++) {
                out[i] = ref[0][i] * mask[i];
            }
            return out;
        }, GradCheck.input(rng, 3, 4)).check();

        Tensor x = Tensor.randn(rng, 64, 64);
        float[] first = Functional.dropout(x, p, true, new SplittableRandom(9)).toFloatArray();
        assertThat(Functional.dropout(x, p, true, new SplittableRandom(9)).toFloatArray()).isEqualTo(first);
        assertThat(Functional.dropout(x, p, true, new SplittableRandom(10)).toFloatArray()).isNotEqualTo(first);
    }

    @Test
    void dropoutFromAReplayableGeneratorDrawsItsFloatsInOrderAndLeavesItWhereTheDrawsWould() {
        float p = 0.3f;
        int n = 3 * 4096 + 17; // several threads' blocks and a ragged end
        Tensor x = Tensor.randn(rng, n);
        float[] in = x.toFloatArray();
        ReplayableRandom sequential = new ReplayableRandom(5);
        float[] expected = new float[n];
        boolean[] dropped = new boolean[n];
        for (int i = 0; i < n; i++) {
            dropped[i] = sequential.nextFloat() < p;
            expected[i] = dropped[i] ? 0f : in[i] * (1f / (1f - p));
        }
        ReplayableRandom reserved = new ReplayableRandom(5);
        Tensor out = Functional.dropout(x.requiresGrad(true), p, true, reserved);
        assertThat(out.toFloatArray()).containsExactly(expected);
        assertThat(reserved.nextLong()).isEqualTo(sequential.nextLong());

        out.backward(Tensor.ones(n));
        float[] grad = x.grad().toFloatArray();
        for (int i = 0; i < n; i++) {
            assertThat(grad[i]).isEqualTo(dropped[i] ? 0f : 1f / (1f - p));
        }
    }

    @Test
    void dropoutKeepsOneMinusPAndScalesByItsInverse() {
        float p = 0.3f;
        int n = 200_000;
        Tensor ones = Tensor.full(1f, n).requiresGrad(true);
        Tensor out = Functional.dropout(ones, p, true, new SplittableRandom(1));
        float[] values = out.toFloatArray();
        int kept = 0;
        for (float v : values) {
            if (v != 0) {
                assertThat(v).isEqualTo(1 / (1 - p));
                kept++;
            }
        }
        // the standard deviation of the kept fraction is sqrt(p(1-p)/n) ≈ 0.001
        assertThat(kept / (double) n).isCloseTo(1 - p, within(0.005));
        out.backward(Tensor.full(1f, n));
        assertThat(ones.grad().toFloatArray()).isEqualTo(values);
    }

    @Test
    void dropoutIsTheIdentityOutsideTrainingOrWithPZeroAndRejectsBadP() {
        Tensor x = Tensor.randn(rng, 4, 4);
        assertThat(Functional.dropout(x, 0.5f, false, new SplittableRandom(1))).isSameAs(x);
        assertThat(Functional.dropout(x, 0f, true, null)).isSameAs(x);
        assertThatThrownBy(() -> Functional.dropout(x, 1f, true, new SplittableRandom(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("dropout: p must be in [0, 1), got 1.0");
        assertThatThrownBy(() -> Functional.dropout(x, -0.1f, false, null)).hasMessageContaining("got -0.1");
        assertThatThrownBy(() -> Functional.dropout(x, Float.NaN, true, null)).hasMessageContaining("got NaN");
        assertThatThrownBy(() -> Functional.dropout(x, 0.1f, true, null)).hasMessageContaining("needs a random generator");
    }

    private static int[] parse(String csv) {
        String[] parts = csv.split(",");
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            out[i] = Integer.parseInt(parts[i].trim());
        }
        return out;
    }
}
