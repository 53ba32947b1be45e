package org.xformers4j.models.tribuo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.tribuo.Example;
import org.tribuo.ImmutableOutputInfo;
import org.tribuo.MutableDataset;
import org.tribuo.Prediction;
import org.tribuo.classification.Label;
import org.tribuo.impl.ArrayExample;
import org.tribuo.multilabel.MultiLabel;
import org.tribuo.multilabel.MultiLabelFactory;
import org.tribuo.provenance.SimpleDataSourceProvenance;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.Tensor;

class MultiLabelHeadTest {

    private static final List<Example<MultiLabel>> TRAIN = List.of(example("a"), example("a", "b"), example("c"),
            example("b", "c"));

    private static Example<MultiLabel> example(String... labels) {
        MultiLabel output = new MultiLabel(Arrays.stream(labels).map(Label::new).collect(Collectors.toSet()));
        return new ArrayExample<>(output, new String[] {"x"}, new double[] {1});
    }

    private static ImmutableOutputInfo<MultiLabel> outputInfo() {
        MultiLabelFactory factory = new MultiLabelFactory();
        MutableDataset<MultiLabel> data = new MutableDataset<>(new SimpleDataSourceProvenance("test", factory),
                factory);
        data.addAll(TRAIN);
        return data.getOutputIDInfo();
    }

    private static int id(ImmutableOutputInfo<MultiLabel> info, String label) {
        return info.getID(new MultiLabel(label));
    }

    private static double sigmoid(double z) {
        return 1 / (1 + Math.exp(-z));
    }

    @Test
    void lossIsMeanSigmoidBinaryCrossEntropyWithItsGradient() {
        ImmutableOutputInfo<MultiLabel> info = outputInfo();
        OutputHead.Fitted<MultiLabel> head = new MultiLabelHead().fit(info);
        assertThat(head.numOutputs()).isEqualTo(3);
        double[] targets = new double[4 * 3];   // t[b, id(l)] = 1 when example b has label l
        for (int b = 0; b < 4; b++) {
            for (Label label : TRAIN.get(b).getOutput().getLabelSet()) {
                targets[b * 3 + id(info, label.getLabel())] = 1;
            }
        }

        // L = -(1/BK) Σ t log σ(z) + (1 - t) log(1 - σ(z))
        GradCheck.of("MultiLabelHead loss", in -> head.loss(in[0], TRAIN), ref -> {
            double loss = 0;
            for (int i = 0; i < targets.length; i++) {
                double p = sigmoid(ref[0][i]);
                loss -= targets[i] * Math.log(p) + (1 - targets[i]) * Math.log(1 - p);
            }
            return new double[] {loss / targets.length};
        }, GradCheck.input(new SplittableRandom(11), 4, 3)).check();
    }

    @Test
    void predictedSetHoldsLabelsWithProbabilityAtLeastOneHalfAndScoresHoldEveryProbability() {
        ImmutableOutputInfo<MultiLabel> info = outputInfo();
        OutputHead.Fitted<MultiLabel> head = new MultiLabelHead().fit(info);
        float[] logits = new float[2 * 3];
        logits[id(info, "a")] = 2f;
        logits[id(info, "b")] = 0f;          // σ(0) = 0.5 exactly: at the threshold, so predicted
        logits[id(info, "c")] = -1e-3f;      // just below the threshold
        logits[3 + id(info, "a")] = -3f;
        logits[3 + id(info, "b")] = -0.2f;
        logits[3 + id(info, "c")] = 0.7f;

        List<Prediction<MultiLabel>> predictions = head.predictions(Tensor.of(logits, 2, 3), TRAIN.subList(0, 2));

        assertThat(predictions).hasSize(2);
        assertThat(predictions.get(0).getOutput().getNameSet()).containsExactlyInAnyOrder("a", "b");
        assertThat(predictions.get(1).getOutput().getNameSet()).containsExactly("c");
        for (int b = 0; b < 2; b++) {
            Prediction<MultiLabel> prediction = predictions.get(b);
            assertThat(prediction.hasProbabilities()).isTrue();
            assertThat(prediction.getExample()).isSameAs(TRAIN.get(b));
            assertThat(prediction.getOutputScores()).containsOnlyKeys("a", "b", "c");
            for (String name : List.of("a", "b", "c")) {
                double expected = sigmoid(logits[b * 3 + id(info, name)]);
                assertThat(prediction.getOutputScores().get(name).getLabelScore(new Label(name)).orElseThrow())
                        .isCloseTo(expected, within(1e-6));
                prediction.getOutput().getLabelScore(new Label(name))
                        .ifPresent(score -> assertThat(score).isCloseTo(expected, within(1e-6)));
            }
        }
        assertThat(predictions.get(0).getOutput().getLabelScore(new Label("b")).orElseThrow()).isEqualTo(0.5);
    }

    @Test
    void wrongLogitShapeNamesExpectedAndActualShapes() {
        OutputHead.Fitted<MultiLabel> head = new MultiLabelHead().fit(outputInfo());
        assertThatThrownBy(() -> head.loss(Tensor.zeros(4, 4), TRAIN))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("MultiLabelHead").hasMessageContaining("[4, 3]").hasMessageContaining("[4, 4]");
        assertThatThrownBy(() -> head.predictions(Tensor.zeros(4, 3, 1), TRAIN))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[4, 3]").hasMessageContaining("[4, 3, 1]");
    }
}
