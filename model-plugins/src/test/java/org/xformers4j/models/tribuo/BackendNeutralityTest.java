package org.xformers4j.models.tribuo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.tribuo.Example;
import org.tribuo.ImmutableFeatureMap;
import org.tribuo.MutableDataset;
import org.tribuo.Output;
import org.tribuo.OutputFactory;
import org.tribuo.Prediction;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.impl.ArrayExample;
import org.tribuo.multilabel.MultiLabel;
import org.tribuo.multilabel.MultiLabelFactory;
import org.tribuo.provenance.SimpleDataSourceProvenance;
import org.tribuo.regression.RegressionFactory;
import org.tribuo.regression.Regressor;
import org.tribuo.util.tokens.impl.SplitCharactersTokenizer;
import org.xformers4j.compute.Backends;
import org.xformers4j.compute.DefaultBackendGuard;
import org.xformers4j.compute.cpu.CpuBackend;
import org.xformers4j.models.nn.Architecture;
import org.xformers4j.models.nn.TransformerEncoder;
import org.xformers4j.nn.Linear;
import org.xformers4j.optim.AdamW;
import org.xformers4j.optim.GradientClipping;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * Tribuo networks built on a second CPU backend instance train a step and predict there without
 * touching the default backend: input encoders, transformer encoder (with its attention and
 * positional components), pooling and output heads create every tensor on the network's backend.
 */
class BackendNeutralityTest {

    private static final int DIM = 8;
    private static final ComponentRegistry REGISTRY = ComponentRegistry.standalone();

    /** One mean-pooled block of width 8 with 2 heads and a feed-forward of 16. */
    private static Architecture small(String attention, String positional) {
        return Architecture.builder().attention(attention, Map.of()).positional(positional, Map.of()).modelDim(DIM)
                .heads(2).layers(1).hidden(16).pooling(TransformerEncoder.Pooling.MEAN).build();
    }

    /**
     * Builds the network inside {@link Backends#use} on a new backend, then, with a default backend
     * that refuses every call, trains one step (forward, loss, backward, clipping, AdamW) and
     * predicts with attention rollout (refused, by name, for a mechanism that reports no weights).
     */
    private static <T extends Output<T>> void trainAndPredictOnASecondBackend(List<Example<T>> examples,
            OutputFactory<T> factory, InputEncoder input, OutputHead<T> head, Architecture architecture) {
        MutableDataset<T> data = new MutableDataset<>(new SimpleDataSourceProvenance("test", factory), factory);
        data.addAll(examples);
        CpuBackend second = new CpuBackend();
        OutputHead.Fitted<T> fitted;
        TransformerNetwork network;
        try (Backends.Scope ignored = Backends.use(second)) {
            fitted = head.fit(data.getOutputIDInfo());
            SplittableRandom rng = new SplittableRandom(1);
            network = new TransformerNetwork(architecture,
                    input.fit(new ImmutableFeatureMap(data.getFeatureMap()), examples, DIM, rng),
                    architecture.encoder(REGISTRY, rng), new Linear(DIM, fitted.numOutputs(), true, rng));
        }
        assertThat(network.parameters()).isNotEmpty()
                .allSatisfy(p -> assertThat(p.backend()).isSameAs(second));
        float[] before = network.parameters().get(0).toFloatArray();
        second.memory().resetPeak();

        List<Prediction<T>> predictions;
        try (DefaultBackendGuard guard = DefaultBackendGuard.install()) {
            AdamW optimizer = new AdamW(network, 1e-2f);
            network.train();
            Tensor loss = fitted.loss(network.forward(examples), examples);
            loss.backward();
            GradientClipping.clipGradNorm(network.parameters(), 1f);
            optimizer.step();
            optimizer.zeroGrad();
            network.eval();
            try (GradMode.Scope ignored = GradMode.noGrad()) {
                predictions = fitted.predictions(network.forward(examples), examples);
                if (network.encoder().reportsAttentionWeights()) {
                    assertThat(network.relevance(examples).length).isEqualTo(examples.size());
                } else {
                    assertThatThrownBy(() -> network.relevance(examples)).isInstanceOf(IllegalArgumentException.class)
                            .hasMessageContaining("does not report attention weights");
                }
            }
            guard.assertUntouched();
        }
        assertThat(predictions).hasSize(examples.size());
        assertThat(network.parameters().get(0).toFloatArray()).isNotEqualTo(before);
        assertThat(second.memory().allocatedBytesSinceReset()).isPositive();
    }

    private static Example<Regressor> regression(double target, double x, double y) {
        return new ArrayExample<>(new Regressor("t", target), new String[] {"x", "y", "z"}, new double[] {x, y, x - y});
    }

    /**
     * Feature tokens, CLS pooling with a register token, residual dropout and drop-path (and
     * attention dropout where the mechanism forms attention weights), a regression head.
     */
    @ParameterizedTest(name = "{0} + {1}")
    @CsvSource(delimiter = '|', value = {
            "full|alibi|bidirectional=true|0.1", "flash|t5-bias||0.1", "local|dynamic-bias||0.1",
            "sliding-window|rotary||0.1", "lsh|sinusoidal||0.1", "linear|learned||0", "hydra|none||0",
            "sima|sinusoidal||0", "performer|rotary||0", "cosformer|learned||0", "nystrom|sinusoidal||0",
            "linformer|learned||0"})
    void featureTokensWithEachAttention(String attention, String positional, String positionalOption,
                                        float attentionDropout) {
        Map<String, String> positionalOptions = positionalOption == null ? Map.of()
                : Map.of(positionalOption.split("=")[0], positionalOption.split("=")[1]);
        Architecture architecture = Architecture.builder().attention(attention, Map.of())
                .positional(positional, positionalOptions).modelDim(DIM).heads(2).layers(2).hidden(16).dropout(0.1f)
                .dropPath(0.1f).pooling(TransformerEncoder.Pooling.CLS).numRegisterTokens(1)
                .attentionDropout(attentionDropout).build();
        List<Example<Regressor>> examples = List.of(regression(1, 0.5, 2), regression(2, -1, 3), regression(-1, 4, 1));
        trainAndPredictOnASecondBackend(examples, new RegressionFactory(), new FeatureTokens(), new RegressorHead(),
                architecture);
    }

    /** Image patches on a 2 × 2 grid, read by the grid-aware relu-linear attention, and a multi-label head. */
    @Test
    void imagePatchesWithAMultiLabelHead() {
        List<Example<MultiLabel>> examples = new ArrayList<>();
        SplittableRandom pixels = new SplittableRandom(3);
        String[][] labels = {{"a"}, {"a", "b"}, {"c"}};
        for (String[] set : labels) {
            String[] names = new String[16];
            double[] values = new double[16];
            for (int i = 0; i < 16; i++) {
                names[i] = "p" + i;
                values[i] = pixels.nextDouble();
            }
            MultiLabel output = new MultiLabel(Arrays.stream(set).map(Label::new).collect(Collectors.toSet()));
            examples.add(new ArrayExample<>(output, names, values));
        }
        trainAndPredictOnASecondBackend(examples, new MultiLabelFactory(), new ImagePatches(4, 4, 1, 2, 1f, "p"),
                new MultiLabelHead(), small("relu-linear", "sinusoidal"));
    }

    /** Ordered text of different lengths (so a padding mask) and a label head. */
    @Test
    void paddedTextWithALabelHead() {
        var extractor = new OrderedTextExtractor<Label>(new SplitCharactersTokenizer(), true);
        List<Example<Label>> examples = List.of(extractor.extract(new Label("x"), "the whale the sea"),
                extractor.extract(new Label("y"), "the sea"), extractor.extract(new Label("x"), "whale whale"));
        trainAndPredictOnASecondBackend(examples, new LabelFactory(), new TextTokens(8, 1, 100), new LabelHead(),
                small("flash", "rotary"));
    }

    /** A whole {@link TransformerTrainer} run inside the scope gives a model that predicts on its own backend. */
    @Test
    void aTrainedModelPredictsOnTheBackendItWasTrainedOn() {
        List<Example<Regressor>> examples = List.of(regression(1, 0.5, 2), regression(2, -1, 3), regression(-1, 4, 1),
                regression(0, 1, 1));
        MutableDataset<Regressor> data = new MutableDataset<>(new SimpleDataSourceProvenance("test",
                new RegressionFactory()), new RegressionFactory());
        data.addAll(examples);
        CpuBackend second = new CpuBackend();
        TransformerModel<Regressor> model;
        try (Backends.Scope ignored = Backends.use(second)) {
            model = TransformerTrainer.builder(new FeatureTokens(), new RegressorHead())
                    .architecture(Architecture.builder().modelDim(DIM).heads(2).layers(1).build())
                    .epochs(1)
                .run(TransformerTrainer.runDefaults().seed(1).build()).build().train(data);
        }
        try (DefaultBackendGuard guard = DefaultBackendGuard.install()) {
            assertThat(model.predict(examples)).hasSize(examples.size());
            guard.assertUntouched();
        }
        assertThat(model.network().parameters()).allSatisfy(p -> assertThat(p.backend()).isSameAs(second));
    }
}
