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
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.impl.ArrayExample;
import org.tribuo.provenance.SimpleDataSourceProvenance;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.Tensor;

class LabelHeadTest {

    private static final List<Example<Label>> TRAIN = List.of(example("cat"), example("dog"), example("bird"),
            example("dog"));

    private static Example<Label> example(String label) {
        return new ArrayExample<>(new Label(label), new String[] {"x"}, new double[] {1});
    }

    private static ImmutableOutputInfo<Label> outputInfo() {
        LabelFactory factory = new LabelFactory();
        MutableDataset<Label> data = new MutableDataset<>(new SimpleDataSourceProvenance("test", factory), factory);
        data.addAll(TRAIN);
        return data.getOutputIDInfo();
    }

    /** Softmax probabilities of one row of logits, in float64. */
    private static double[] softmax(double[] logits, int row, int k) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < k; j++) {
            max = Math.max(max, logits[row * k + j]);
        }
        double[] p = new double[k];
        double sum = 0;
        for (int j = 0; j < k; j++) {
            p[j] = Math.exp(logits[row * k + j] - max);
            sum += p[j];
        }
        for (int j = 0; j < k; j++) {
            p[j] /= sum;
        }
        return p;
    }

    @Test
    void lossIsSoftmaxCrossEntropyAgainstTheLabelIdsWithItsGradient() {
        ImmutableOutputInfo<Label> info = outputInfo();
        OutputHead.Fitted<Label> head = new LabelHead().fit(info);
        assertThat(head.numOutputs()).isEqualTo(3);
        int[] targets = TRAIN.stream().mapToInt(e -> info.getID(e.getOutput())).toArray();

        // L = -(1/B) Σ_b log softmax(z_b)[y_b]
        GradCheck.of("LabelHead loss", in -> head.loss(in[0], TRAIN), ref -> {
            double loss = 0;
            for (int b = 0; b < targets.length; b++) {
                loss -= Math.log(softmax(ref[0], b, 3)[targets[b]]);
            }
            return new double[] {loss / targets.length};
        }, GradCheck.input(new SplittableRandom(7), 4, 3)).check();
    }

    @Test
    void predictionIsTheLabelOfLargestLogitWithEveryProbabilityInTheScores() {
        ImmutableOutputInfo<Label> info = outputInfo();
        OutputHead.Fitted<Label> head = new LabelHead().fit(info);
        String[] expected = {"dog", "bird", "cat", "dog"};
        double[] logits = new double[4 * 3];
        SplittableRandom rng = new SplittableRandom(3);
        for (int b = 0; b < 4; b++) {
            for (int j = 0; j < 3; j++) {
                logits[b * 3 + j] = rng.nextDouble(-1, 1);
            }
            logits[b * 3 + info.getID(new Label(expected[b]))] = 2;   // the largest logit of row b
        }
        float[] values = new float[logits.length];
        for (int i = 0; i < logits.length; i++) {
            values[i] = (float) logits[i];
        }

        List<Prediction<Label>> predictions = head.predictions(Tensor.of(values, 4, 3), TRAIN);

        assertThat(predictions).hasSize(4);
        for (int b = 0; b < 4; b++) {
            Prediction<Label> prediction = predictions.get(b);
            double[] p = softmax(logits, b, 3);
            assertThat(prediction.getExample()).isSameAs(TRAIN.get(b));
            assertThat(prediction.hasProbabilities()).isTrue();
            assertThat(prediction.getOutput().getLabel()).isEqualTo(expected[b]);
            assertThat(prediction.getOutput().getScore())
                    .isCloseTo(p[info.getID(new Label(expected[b]))], within(1e-6));
            assertThat(prediction.getOutputScores()).containsOnlyKeys("cat", "dog", "bird");
            double sum = 0;
            for (Label label : prediction.getOutputScores().values()) {
                assertThat(label.getScore()).isCloseTo(p[info.getID(label)], within(1e-6));
                sum += label.getScore();
            }
            assertThat(sum).isCloseTo(1.0, within(1e-6));
        }
    }

    @Test
    void wrongLogitShapeNamesExpectedAndActualShapes() {
        OutputHead.Fitted<Label> head = new LabelHead().fit(outputInfo());
        assertThatThrownBy(() -> head.loss(Tensor.zeros(4, 2), TRAIN))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("LabelHead").hasMessageContaining("[4, 3]").hasMessageContaining("[4, 2]");
        assertThatThrownBy(() -> head.predictions(Tensor.zeros(3, 3), TRAIN))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[4, 3]").hasMessageContaining("[3, 3]");
    }

    @Test
    void unknownLabelInTheBatchIsRejectedByName() {
        OutputHead.Fitted<Label> head = new LabelHead().fit(outputInfo());
        assertThatThrownBy(() -> head.loss(Tensor.zeros(1, 3), List.of(example("fish"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'fish'");
    }
}
