package org.xformers4j.models.tribuo;

import org.xformers4j.train.Optimization;
import com.oracle.labs.mlrg.olcut.util.Pair;
import org.junit.jupiter.api.Test;
import org.tribuo.Example;
import org.tribuo.Excuse;
import org.tribuo.Model;
import org.tribuo.MutableDataset;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.util.tokens.impl.SplitCharactersTokenizer;
import org.tribuo.impl.ArrayExample;
import org.tribuo.provenance.SimpleDataSourceProvenance;
import org.xformers4j.models.nn.Architecture;
import org.xformers4j.tensor.GradMode;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * {@link TransformerModel#getExcuse} and {@link TransformerModel#getTopFeatures}: attention rollout
 * mapped back to feature names for each input encoder.
 */
class TransformerModelExplanationTest {

    private static final LabelFactory LABELS = new LabelFactory();

    private static MutableDataset<Label> dataset(List<Example<Label>> examples) {
        MutableDataset<Label> data = new MutableDataset<>(new SimpleDataSourceProvenance("synthetic", LABELS), LABELS);
        data.addAll(examples);
        return data;
    }

    /** 200 examples of features noise_a, signal, noise_b ~ N(0, 1), labelled by the sign of signal. */
    private static MutableDataset<Label> signalData() {
        SplittableRandom rng = new SplittableRandom(3);
        String[] names = {"noise_a", "signal", "noise_b"};
        List<Example<Label>> examples = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            double[] x = {gaussian(rng), gaussian(rng), gaussian(rng)};
            examples.add(new ArrayExample<>(new Label(x[1] > 0 ? "pos" : "neg"), names, x));
        }
        return dataset(examples);
    }

    private static double gaussian(SplittableRandom rng) {
        return Math.sqrt(-2 * Math.log(1 - rng.nextDouble())) * Math.cos(2 * Math.PI * rng.nextDouble());
    }

    private static TransformerModel<Label> train(InputEncoder encoder, MutableDataset<Label> data, String positional,
                                                Map<String, String> positionalOptions) {
        return TransformerTrainer.builder(encoder, new LabelHead())
                .architecture(Architecture.builder().positional(positional, positionalOptions).modelDim(16).heads(2)
                        .layers(2).build()).epochs(3)
                .run(TransformerTrainer.runDefaults().batchSize(32).seed(1).build())
                .optimization(Optimization.builder().learningRate(3e-3f).build()).build()
                .train(data);
    }

    /** The excuse's feature → relevance, checking it is the same list for every output, sorted and summing to 1. */
    private static Map<String, Double> checkedRelevance(TransformerModel<Label> model, Example<Label> example) {
        Excuse<Label> excuse = model.getExcuse(example).orElseThrow();
        assertThat(excuse.getPrediction().getOutput()).isEqualTo(model.predict(example).getOutput());
        assertThat(excuse.getScores()).containsOnlyKeys("neg", "pos");
        List<Pair<String, Double>> list = excuse.excuse("pos");
        assertThat(excuse.excuse("neg")).isSameAs(list);
        Map<String, Double> byName = new HashMap<>();
        double sum = 0;
        for (int i = 0; i < list.size(); i++) {
            assertThat(list.get(i).getB()).isGreaterThanOrEqualTo(0.0);
            if (i > 0) {
                assertThat(list.get(i).getB()).isLessThanOrEqualTo(list.get(i - 1).getB());
            }
            byName.put(list.get(i).getA(), list.get(i).getB());
            sum += list.get(i).getB();
        }
        assertThat(byName).hasSize(list.size());
        assertThat(sum).isCloseTo(1.0, within(1e-9));
        return byName;
    }

    @Test
    void featureTokenExcuseHasOneEntryPerFeature() {
        MutableDataset<Label> data = signalData();
        TransformerModel<Label> model = train(new FeatureTokens(), data, "none", Map.of());

        Map<String, Double> relevance = checkedRelevance(model, data.getExample(0));
        assertThat(relevance).containsOnlyKeys("noise_a", "signal", "noise_b");
    }

    /** Rollout needs the weights each block applies; linear attention (a kernel attention) reports none. */
    @Test
    void aModelWhoseAttentionReportsNoWeightsHasNoExplanations() {
        MutableDataset<Label> data = signalData();
        TransformerModel<Label> model = TransformerTrainer.builder(new FeatureTokens(), new LabelHead())
                .architecture(Architecture.builder().attention("linear", Map.of()).modelDim(16).heads(2).layers(1)
                        .build()).epochs(1)
                .run(TransformerTrainer.runDefaults().batchSize(32).seed(1).build()).build()
                .train(data);
        assertThat(model.network().encoder().reportsAttentionWeights()).isFalse();
        assertThat(model.getExcuse(data.getExample(0))).isEmpty();
        assertThat(model.getTopFeatures(3)).isEmpty();
        assertThat(model.predict(data.getExample(0)).getOutput().getLabel()).isIn("pos", "neg");
    }

    @Test
    void imagePatchRelevanceIsSpreadEvenlyOverItsPixels() {
        // 4×4 images, 2×2 patches: patch 0 is pixels 0, 1, 4, 5; patch 3 is pixels 10, 11, 14, 15.
        SplittableRandom rng = new SplittableRandom(5);
        String[] names = new String[16];
        for (int i = 0; i < 16; i++) {
            names[i] = "px" + i;
        }
        List<Example<Label>> examples = new ArrayList<>();
        for (int n = 0; n < 100; n++) {
            double[] x = new double[16];
            for (int i = 0; i < 16; i++) {
                x[i] = rng.nextDouble();
            }
            examples.add(new ArrayExample<>(new Label(x[0] + x[5] > 1 ? "pos" : "neg"), names, x));
        }
        TransformerModel<Label> model = train(new ImagePatches(4, 4, 1, 2, 1f, "px"), dataset(examples),
                "learned", Map.of("maxLength", "4"));

        Map<String, Double> relevance = checkedRelevance(model, examples.get(0));
        assertThat(relevance).hasSize(16);
        double[] patch;
        try (GradMode.Scope scope = GradMode.noGrad()) {
            patch = model.network().relevance(List.of(examples.get(0)))[0];              // [4] patches
        }
        for (int[] pixelsOfPatch : new int[][] {{0, 1, 4, 5}, {2, 3, 6, 7}, {8, 9, 12, 13}, {10, 11, 14, 15}}) {
            int p = pixelsOfPatch[0] / 8 * 2 + pixelsOfPatch[0] % 4 / 2;
            for (int pixel : pixelsOfPatch) {
                assertThat(relevance.get("px" + pixel)).isCloseTo(patch[p] / 4, within(1e-12));
            }
        }
    }

    @Test
    void textTokenRelevanceIsSummedOverRepeatedWords() {
        OrderedTextExtractor<Label> extractor = new OrderedTextExtractor<>(new SplitCharactersTokenizer(), true);
        String[] texts = {"good film good cast", "bad film", "good plot", "bad bad acting", "a good one",
            "a bad one", "good", "bad"};
        List<Example<Label>> examples = new ArrayList<>();
        for (int repeat = 0; repeat < 10; repeat++) {
            for (String text : texts) {
                examples.add(extractor.extract(new Label(text.contains("good") ? "pos" : "neg"), text));
            }
        }
        TransformerModel<Label> model = train(new TextTokens(8, 1, 100), dataset(examples), "none", Map.of());

        Example<Label> example = extractor.extract(new Label("pos"), "good film good unseen");
        Map<String, Double> relevance = checkedRelevance(model, example);
        assertThat(relevance).containsOnlyKeys("good", "film", "unseen");
        double[] tokens;
        try (GradMode.Scope scope = GradMode.noGrad()) {
            tokens = model.network().relevance(List.of(example))[0];                     // [4] tokens
        }
        assertThat(relevance.get("good")).isCloseTo(tokens[0] + tokens[2], within(1e-12));
        assertThat(relevance.get("unseen")).isCloseTo(tokens[3], within(1e-12));
    }

    @Test
    void topFeaturesAreTheMeanRelevanceOverTheExamplesTheModelWasBuiltWith() {
        MutableDataset<Label> data = signalData();
        TransformerModel<Label> trained = train(new FeatureTokens(), data, "none", Map.of());
        assertThat(trained.getTopFeatures(3)).as("trainer-built models rank features").containsOnlyKeys(Model.ALL_OUTPUTS);
        List<Example<Label>> sample = data.getData().subList(0, 50);
        TransformerModel<Label> model = new TransformerModel<>("with-top-features", trained.getProvenance(),
                trained.getFeatureIDMap(), trained.getOutputIDInfo(), true, trained.network(),
                new LabelHead().fit(trained.getOutputIDInfo()), 16, sample);

        Map<String, Double> mean = new HashMap<>();
        for (Example<Label> example : sample) {
            checkedRelevance(model, example).forEach((name, value) -> mean.merge(name, value / sample.size(),
                    Double::sum));
        }
        List<Pair<String, Double>> all = model.getTopFeatures(-1).get(Model.ALL_OUTPUTS);
        assertThat(model.getTopFeatures(-1)).containsOnlyKeys(Model.ALL_OUTPUTS);
        assertThat(all).hasSize(3);
        for (int i = 0; i < all.size(); i++) {
            // float32 network: the model's batches of 16 and these single examples may round differently in the
            // last bits (a product of at most 8 rows is not blocked like a larger one)
            assertThat(all.get(i).getB()).isCloseTo(mean.get(all.get(i).getA()), within(1e-6));
            if (i > 0) {
                assertThat(all.get(i).getB()).isLessThanOrEqualTo(all.get(i - 1).getB());
            }
        }
        assertThat(model.getTopFeatures(2).get(Model.ALL_OUTPUTS)).containsExactlyElementsOf(all.subList(0, 2));
        assertThat(all.get(0).getA()).as("the only feature the label depends on").isEqualTo("signal");
    }
}
