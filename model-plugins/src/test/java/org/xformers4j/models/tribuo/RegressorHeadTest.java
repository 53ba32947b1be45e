package org.xformers4j.models.tribuo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.tribuo.Example;
import org.tribuo.ImmutableOutputInfo;
import org.tribuo.MutableDataset;
import org.tribuo.Prediction;
import org.tribuo.impl.ArrayExample;
import org.tribuo.provenance.SimpleDataSourceProvenance;
import org.tribuo.regression.RegressionFactory;
import org.tribuo.regression.Regressor;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.Tensor;

class RegressorHeadTest {

    // Training targets: a = 1, 3, 8 (mean 4, sample variance (9 + 1 + 16) / 2 = 13);
    //                   b = 10, 20, 60 (mean 30, sample variance (400 + 100 + 900) / 2 = 700).
    private static final double MEAN_A = 4;
    private static final double SD_A = Math.sqrt(13);
    private static final double MEAN_B = 30;
    private static final double SD_B = Math.sqrt(700);

    private static final List<Example<Regressor>> ONE_D = List.of(example(1), example(3), example(8));
    private static final List<Example<Regressor>> TWO_D = List.of(example(1, 10), example(3, 20), example(8, 60));

    private static Example<Regressor> example(double a) {
        return new ArrayExample<>(new Regressor("a", a), new String[] {"x"}, new double[] {1});
    }

    private static Example<Regressor> example(double a, double b) {
        return new ArrayExample<>(new Regressor(new String[] {"a", "b"}, new double[] {a, b}), new String[] {"x"},
                new double[] {1});
    }

    private static ImmutableOutputInfo<Regressor> outputInfo(List<Example<Regressor>> train) {
        RegressionFactory factory = new RegressionFactory();
        MutableDataset<Regressor> data = new MutableDataset<>(new SimpleDataSourceProvenance("test", factory),
                factory);
        data.addAll(train);
        return data.getOutputIDInfo();
    }

    private static int id(ImmutableOutputInfo<Regressor> info, String dimension) {
        return info.getID(new Regressor(dimension, Double.NaN));
    }

    /** Mean over [B, K] of (z - (y - μ) / σ)², in float64; targets [B, K] in id order. */
    private static double standardisedSquaredError(double[] z, double[] targets, double[] mean, double[] sd) {
        int k = mean.length;
        double sum = 0;
        for (int i = 0; i < z.length; i++) {
            double d = z[i] - (targets[i] - mean[i % k]) / sd[i % k];
            sum += d * d;
        }
        return sum / z.length;
    }

    @Test
    void oneDimensionStandardisesWithTrainingMeanAndSampleVariance() {
        OutputHead.Fitted<Regressor> head = new RegressorHead().fit(outputInfo(ONE_D));
        assertThat(head.numOutputs()).isEqualTo(1);

        // Zero logits: mean of ((y - 4)² / 13) = (9 + 1 + 16) / 13 / 3 = 2/3 (a population variance would give 1).
        assertThat(head.loss(Tensor.zeros(3, 1), ONE_D).item()).isCloseTo(2f / 3, within(1e-6f));
        // A batch outside the training set is standardised with the training statistics, not its own.
        assertThat(head.loss(Tensor.zeros(1, 1), List.of(example(10))).item()).isCloseTo(36f / 13, within(1e-5f));

        GradCheck.of("RegressorHead loss 1-d", in -> head.loss(in[0], ONE_D),
                ref -> new double[] {standardisedSquaredError(ref[0], new double[] {1, 3, 8},
                        new double[] {MEAN_A}, new double[] {SD_A})},
                GradCheck.input(new SplittableRandom(5), 3, 1)).check();
    }

    @Test
    void twoDimensionsStandardiseEachDimensionInIdOrder() {
        ImmutableOutputInfo<Regressor> info = outputInfo(TWO_D);
        OutputHead.Fitted<Regressor> head = new RegressorHead().fit(info);
        assertThat(head.numOutputs()).isEqualTo(2);
        int a = id(info, "a");
        int b = id(info, "b");
        double[] mean = new double[2];
        double[] sd = new double[2];
        mean[a] = MEAN_A;
        sd[a] = SD_A;
        mean[b] = MEAN_B;
        sd[b] = SD_B;
        double[] targets = new double[3 * 2];
        double[][] ab = {{1, 10}, {3, 20}, {8, 60}};
        for (int row = 0; row < 3; row++) {
            targets[row * 2 + a] = ab[row][0];
            targets[row * 2 + b] = ab[row][1];
        }

        GradCheck.of("RegressorHead loss 2-d", in -> head.loss(in[0], TWO_D),
                ref -> new double[] {standardisedSquaredError(ref[0], targets, mean, sd)},
                GradCheck.input(new SplittableRandom(6), 3, 2)).check();
    }

    @Test
    void predictionsUndoTheStandardisation() {
        ImmutableOutputInfo<Regressor> info = outputInfo(TWO_D);
        OutputHead.Fitted<Regressor> head = new RegressorHead().fit(info);
        float[] logits = new float[2 * 2];
        logits[2 + id(info, "a")] = 1f;      // row 0 all zero: the training mean
        logits[2 + id(info, "b")] = -0.5f;   // row 1: mean + logit · σ

        List<Prediction<Regressor>> predictions = head.predictions(Tensor.of(logits, 2, 2), TWO_D.subList(0, 2));

        assertThat(predictions).hasSize(2);
        Regressor mean = predictions.get(0).getOutput();
        assertThat(mean.getDimension("a").orElseThrow().getValue()).isCloseTo(MEAN_A, within(1e-9));
        assertThat(mean.getDimension("b").orElseThrow().getValue()).isCloseTo(MEAN_B, within(1e-9));
        Regressor shifted = predictions.get(1).getOutput();
        assertThat(shifted.getDimension("a").orElseThrow().getValue()).isCloseTo(MEAN_A + SD_A, within(1e-5));
        assertThat(shifted.getDimension("b").orElseThrow().getValue()).isCloseTo(MEAN_B - 0.5 * SD_B, within(1e-4));
        assertThat(predictions.get(1).getExample()).isSameAs(TWO_D.get(1));
    }

    @Test
    void wrongLogitShapeNamesExpectedAndActualShapes() {
        OutputHead.Fitted<Regressor> head = new RegressorHead().fit(outputInfo(TWO_D));
        assertThatThrownBy(() -> head.loss(Tensor.zeros(3, 1), TWO_D))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("RegressorHead").hasMessageContaining("[3, 2]").hasMessageContaining("[3, 1]");
        assertThatThrownBy(() -> head.predictions(Tensor.zeros(6), TWO_D))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[3, 2]").hasMessageContaining("[6]");
    }

    @Test
    void exampleMissingATrainingDimensionIsRejectedByName() {
        OutputHead.Fitted<Regressor> head = new RegressorHead().fit(outputInfo(TWO_D));
        assertThatThrownBy(() -> head.loss(Tensor.zeros(1, 2), List.of(example(2))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'b'");
    }
}
