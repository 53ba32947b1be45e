package org.xformers4j.models.tribuo;

import org.xformers4j.train.Optimization;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import com.oracle.labs.mlrg.olcut.provenance.ConfiguredObjectProvenance;
import com.oracle.labs.mlrg.olcut.provenance.Provenance;
import com.oracle.labs.mlrg.olcut.provenance.primitives.StringProvenance;
import org.junit.jupiter.api.Test;
import org.tribuo.Example;
import org.tribuo.MutableDataset;
import org.tribuo.Prediction;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.classification.evaluation.LabelEvaluator;
import org.tribuo.classification.sgd.linear.LogisticRegressionTrainer;
import org.tribuo.data.csv.CSVLoader;
import org.tribuo.datasource.ListDataSource;
import org.tribuo.impl.ArrayExample;
import org.tribuo.provenance.SimpleDataSourceProvenance;
import org.tribuo.regression.RegressionFactory;
import org.tribuo.regression.Regressor;
import org.tribuo.regression.evaluation.RegressionEvaluator;
import org.xformers4j.models.nn.Architecture;
import org.xformers4j.models.nn.NormPlacement;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * TransformerTrainer end to end on real data (digits as 8×8 images, wine as feature tokens), a
 * synthetic regression, the provenance, the invocation count and the configuration checks.
 */
class TransformerTrainerTest {

    private static final LabelFactory LABELS = new LabelFactory();

    @Test
    void imagePatchesWithFullAttentionReachDigitsAccuracy() throws Exception {
        MutableDataset<Label> all = new CSVLoader<>(LABELS)
                .load(Path.of(getClass().getResource("/data/digits.csv").toURI()), "label");
        Split split = stratifiedSplit(all.getData(), 1);
        TransformerTrainer<Label> trainer = TransformerTrainer.builder(
                        new ImagePatches(8, 8, 1, 2, 1f / 16, "p"), new LabelHead())
                .architecture(Architecture.builder().attention("full", Map.of())
                        .positional("learned", Map.of("maxLength", "16")).modelDim(64).heads(4).layers(2).build())
                .epochs(30)
                .run(TransformerTrainer.runDefaults().batchSize(32).seed(1).build())
                .optimization(Optimization.builder().learningRate(3e-3f).warmupSteps(100).build()).build();

        long start = System.nanoTime();
        TransformerModel<Label> model = trainer.train(split.train());
        double seconds = (System.nanoTime() - start) / 1e9;
        double accuracy = new LabelEvaluator().evaluate(model, split.test()).accuracy();
        double baseline = new LabelEvaluator()
                .evaluate(new LogisticRegressionTrainer().train(split.train()), split.test()).accuracy();
        System.out.printf("digits (stratified 80/20, seed 1; %d train, %d test): transformer accuracy %.4f, "
                        + "trained in %.1f s; Tribuo LogisticRegressionTrainer accuracy %.4f%n",
                split.train().size(), split.test().size(), accuracy, seconds, baseline);
        assertThat(accuracy).isGreaterThanOrEqualTo(0.95);
        assertThat(model.generatesProbabilities()).isTrue();
    }

    @Test
    void featureTokensWithFullAttentionReachWineAccuracyWithEarlyStopping() throws Exception {
        Split split = stratifiedSplit(wine(), 1);
        TransformerTrainer<Label> trainer = TransformerTrainer.builder(new FeatureTokens(), new LabelHead())
                .architecture(Architecture.builder().modelDim(32).heads(4).layers(2).build())
                .epochs(30)
                .run(TransformerTrainer.runDefaults().batchSize(16).validationFraction(0.15f).patience(5).seed(1).build())
                .optimization(Optimization.builder().learningRate(2e-3f).build()).build();

        double accuracy = new LabelEvaluator().evaluate(trainer.train(split.train()), split.test()).accuracy();
        System.out.printf("wine (stratified 80/20, seed 1): transformer accuracy %.4f%n", accuracy);
        assertThat(accuracy).isGreaterThanOrEqualTo(0.9);
    }

    @Test
    void regressionOnASumOfFeaturesBeatsPredictingTheMean() {
        SplittableRandom rng = new SplittableRandom(3);
        RegressionFactory factory = new RegressionFactory();
        MutableDataset<Regressor> data = new MutableDataset<>(new SimpleDataSourceProvenance("sum", factory), factory);
        String[] names = {"a", "b", "c", "d"};
        for (int i = 0; i < 256; i++) {
            double[] x = new double[names.length];
            double y = 0;
            for (int j = 0; j < x.length; j++) {
                x[j] = rng.nextDouble(-1, 1);
                y += x[j];
            }
            data.add(new ArrayExample<>(new Regressor("y", y), names, x));
        }
        TransformerTrainer<Regressor> trainer = TransformerTrainer.builder(new FeatureTokens(), new RegressorHead())
                .architecture(Architecture.builder().modelDim(16).heads(2).layers(1)
                        .pooling(org.xformers4j.models.nn.TransformerEncoder.Pooling.MEAN).build())
                .epochs(40)
                .run(TransformerTrainer.runDefaults().batchSize(32).seed(2).build())
                .optimization(Optimization.builder().learningRate(5e-3f).build()).build();

        TransformerModel<Regressor> model = trainer.train(data);
        double rmse = new RegressionEvaluator().evaluate(model, data).averageRMSE();
        double meanRmse = Math.sqrt(names.length / 3.0);      // the standard deviation of a sum of 4 U(-1, 1)
        System.out.printf("y = a + b + c + d: RMSE %.4f (predicting the mean: %.4f)%n", rmse, meanRmse);
        assertThat(rmse).isLessThan(0.3 * meanRmse);
        assertThat(model.generatesProbabilities()).isFalse();
    }

    @Test
    void provenanceRecordsTheComponentsAndHyperparameters() throws Exception {
        TransformerTrainer<Label> trainer = TransformerTrainer.builder(new FeatureTokens(), new LabelHead())
                .architecture(Architecture.builder().attention("full", Map.of("scale", "0.35"))
                        .positional("sinusoidal", Map.of()).modelDim(16).heads(2).layers(1).reversible(true)
                        .feedForwardChunkSize(32).build())
                .epochs(1)
                .run(TransformerTrainer.runDefaults().seed(5).build())
                .optimization(Optimization.builder().learningRate(3e-3f).build()).build();
        TransformerModel<Label> model = trainer.train(stratifiedSplit(wine(), 1).train());

        Map<String, Provenance> parameters = model.getProvenance().getTrainerProvenance().getConfiguredParameters();
        assertThat(parameters.get("architecture")).isInstanceOf(ConfiguredObjectProvenance.class);
        Map<String, Provenance> architecture = ((ConfiguredObjectProvenance) parameters.get("architecture"))
                .getConfiguredParameters();
        assertThat(architecture.get("attention")).isEqualTo(new StringProvenance("attention", "full"));
        assertThat(architecture.get("positional")).isEqualTo(new StringProvenance("positional", "sinusoidal"));
        assertThat(architecture.get("attentionOptions").toString()).contains("scale").contains("0.35");
        assertThat(architecture.get("modelDim").toString()).contains("16");
        assertThat(architecture.get("heads").toString()).contains("2");
        assertThat(architecture.get("reversible").toString()).contains("true");
        assertThat(architecture.get("feedForwardChunkSize").toString()).contains("32");
        assertThat(parameters.get("optimization").toString()).contains("learningRate").contains("0.003")
                .contains(Optimization.class.getName());
        assertThat(parameters.get("run").toString()).contains("seed").contains("5");
        assertThat(model.network().encoder().config().reversible()).isTrue();
        assertThat(model.network().encoder().config().block().feedForwardChunkSize()).isEqualTo(32);
        assertThat(parameters.get("encoder").toString()).contains(FeatureTokens.class.getName());
        assertThat(parameters.get("head").toString()).contains(LabelHead.class.getName());
    }

    @Test
    void invocationCountGivesNewSeedsAndItsResetReproducesTheFirstModel() throws Exception {
        Split split = stratifiedSplit(wine(), 1);
        TransformerTrainer<Label> trainer = TransformerTrainer.builder(new FeatureTokens(), new LabelHead())
                .architecture(Architecture.builder().modelDim(16).heads(2).layers(1).build())
                .epochs(2)
                .run(TransformerTrainer.runDefaults().seed(11).build()).build();

        List<Prediction<Label>> first = trainer.train(split.train()).predict(split.test());
        List<Prediction<Label>> second = trainer.train(split.train()).predict(split.test());
        assertThat(trainer.getInvocationCount()).isEqualTo(2);
        trainer.setInvocationCount(0);
        List<Prediction<Label>> again = trainer.train(split.train()).predict(split.test());

        assertThat(scores(second)).usingRecursiveComparison().isNotEqualTo(scores(first));
        assertThat(scores(again)).usingRecursiveComparison().isEqualTo(scores(first));
    }

    @Test
    void batchedAndConcurrentPredictionsEqualOneByOne() throws Exception {
        Split split = stratifiedSplit(wine(), 1);
        TransformerModel<Label> model = TransformerTrainer.builder(new FeatureTokens(), new LabelHead())
                .architecture(Architecture.builder().modelDim(16).heads(2).layers(1).build())
                .epochs(2)
                .run(TransformerTrainer.runDefaults().batchSize(7).seed(3).build()).build().train(split.train());

        List<double[]> oneByOne = new ArrayList<>();
        for (Example<Label> example : split.test()) {
            oneByOne.add(scores(List.of(model.predict(example))).get(0));
        }
        List<double[]> batched = scores(model.predict(split.test()));
        for (int i = 0; i < oneByOne.size(); i++) {
            assertThat(batched.get(i)).containsExactly(oneByOne.get(i), within(1e-6));
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<List<Prediction<Label>>>> futures = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                futures.add(pool.submit(() -> model.predict(split.test())));
            }
            for (Future<List<Prediction<Label>>> future : futures) {
                assertThat(scores(future.get())).usingRecursiveComparison().isEqualTo(batched);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void badConfigurationsFailNamingTheFieldAndValue() {
        assertThatThrownBy(() -> TransformerTrainer.builder(new FeatureTokens(), new LabelHead())
                .architecture(Architecture.builder().attention("ful", Map.of()).build()).build())
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("attention").hasMessageContaining("'ful'").hasMessageContaining("full");
        assertThatThrownBy(() -> TransformerTrainer.builder(new FeatureTokens(), new LabelHead())
                .architecture(Architecture.builder().positional("sinusodal", Map.of()).build()).build())
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("positional").hasMessageContaining("sinusoidal");
        assertThatThrownBy(() -> TransformerTrainer.builder(new FeatureTokens(), new LabelHead())
                .architecture(Architecture.builder().modelDim(64).heads(3).build()).build())
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("heads = 3").hasMessageContaining("modelDim = 64");
        assertThatThrownBy(() -> TransformerTrainer.builder(new FeatureTokens(), new LabelHead())
                .run(TransformerTrainer.runDefaults().validationFraction(1f).build()).build())
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("validationFraction").hasMessageContaining("1.0");
        assertThatThrownBy(() -> TransformerTrainer.builder(new FeatureTokens(), new LabelHead())
                .architecture(Architecture.builder().feedForwardChunkSize(-2).build()).build())
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("feedForwardChunkSize").hasMessageContaining("-2");
        assertThatThrownBy(() -> TransformerTrainer.builder(new FeatureTokens(), new LabelHead())
                .architecture(Architecture.builder().reversible(true).normPlacement(NormPlacement.POST).build())
                .build())
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("reversible").hasMessageContaining("normPlacement PRE, got POST");
        assertThatThrownBy(() -> TransformerTrainer.builder(new FeatureTokens(), new LabelHead())
                .architecture(Architecture.builder().reversible(true).dropout(0.1f).build()).build())
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("reversible")
                .hasMessageContaining("dropout, attentionDropout and dropPath must be 0, got 0.1, 0.0 and 0.0");
    }

    /** Per prediction, the score of every label in label order. */
    private static List<double[]> scores(List<Prediction<Label>> predictions) {
        List<double[]> out = new ArrayList<>();
        for (Prediction<Label> p : predictions) {
            out.add(new TreeMap<>(p.getOutputScores()).values().stream().mapToDouble(Label::getScore).toArray());
        }
        return out;
    }

    private record Split(MutableDataset<Label> train, MutableDataset<Label> test) {
    }

    /** Per label, shuffle with {@code seed} and keep 80% for training (as DigitsSanityTest). */
    private static Split stratifiedSplit(List<Example<Label>> examples, long seed) {
        Map<String, List<Example<Label>>> byLabel = new TreeMap<>();
        for (Example<Label> e : examples) {
            byLabel.computeIfAbsent(e.getOutput().getLabel(), k -> new ArrayList<>()).add(e);
        }
        SplittableRandom rng = new SplittableRandom(seed);
        List<Example<Label>> train = new ArrayList<>();
        List<Example<Label>> test = new ArrayList<>();
        for (List<Example<Label>> group : byLabel.values()) {
            for (int i = group.size() - 1; i > 0; i--) {
                Collections.swap(group, i, rng.nextInt(i + 1));
            }
            int cut = Math.round(group.size() * 0.8f);
            train.addAll(group.subList(0, cut));
            test.addAll(group.subList(cut, group.size()));
        }
        return new Split(dataset(train), dataset(test));
    }

    private static MutableDataset<Label> dataset(List<Example<Label>> examples) {
        return new MutableDataset<>(new ListDataSource<>(examples, LABELS,
                new SimpleDataSourceProvenance("split", LABELS)));
    }

    /**
     * The wine data from plugin-api's test jar: a header line {@code 178,13,class names…}, then 13
     * features and the class index per line.
     */
    private static List<Example<Label>> wine() throws Exception {
        String[] names = {"alcohol", "malic_acid", "ash", "alcalinity", "magnesium", "phenols", "flavanoids",
                "nonflavanoid_phenols", "proanthocyanins", "colour", "hue", "od280_od315", "proline"};
        List<Example<Label>> out = new ArrayList<>();
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(
                TransformerTrainerTest.class.getResourceAsStream("/data/wine_data.csv"), StandardCharsets.UTF_8))) {
            reader.readLine();
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                String[] cells = line.split(",");
                double[] values = new double[names.length];
                for (int j = 0; j < names.length; j++) {
                    values[j] = Double.parseDouble(cells[j]);
                }
                out.add(new ArrayExample<>(new Label("class_" + cells[names.length]), names, values));
            }
        }
        assertThat(out).hasSize(178);
        return out;
    }
}
