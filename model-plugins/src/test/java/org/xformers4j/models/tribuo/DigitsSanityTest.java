package org.xformers4j.models.tribuo;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.tribuo.Example;
import org.tribuo.ImmutableFeatureMap;
import org.tribuo.MutableDataset;
import org.tribuo.Prediction;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.classification.evaluation.LabelEvaluator;
import org.tribuo.classification.sgd.linear.LogisticRegressionTrainer;
import org.tribuo.data.csv.CSVLoader;
import org.tribuo.provenance.SimpleDataSourceProvenance;
import org.xformers4j.nn.Linear;
import org.xformers4j.optim.AdamW;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * The encoder/head plumbing on real data: FeatureTokens, mean-pooled, then one Linear layer and
 * LabelHead, trained with AdamW on the committed digits CSV; Tribuo's logistic regression on the
 * same stratified 80/20 split (seed 1) is the baseline reported beside it.
 */
class DigitsSanityTest {

    @Test
    void meanPooledFeatureTokensWithALinearLabelHeadLearnDigits() throws Exception {
        MutableDataset<Label> all = new CSVLoader<>(new LabelFactory())
                .load(Path.of(getClass().getResource("/data/digits.csv").toURI()), "label");
        // Stratified 80/20 split with seed 1: per label, shuffle and keep 80% for training.
        Map<String, List<Example<Label>>> byLabel = new TreeMap<>();
        for (Example<Label> e : all) {
            byLabel.computeIfAbsent(e.getOutput().getLabel(), k -> new ArrayList<>()).add(e);
        }
        SplittableRandom split = new SplittableRandom(1);
        List<Example<Label>> train = new ArrayList<>();
        List<Example<Label>> test = new ArrayList<>();
        for (List<Example<Label>> group : byLabel.values()) {
            for (int i = group.size() - 1; i > 0; i--) {
                java.util.Collections.swap(group, i, split.nextInt(i + 1));
            }
            int cut = Math.round(group.size() * 0.8f);
            train.addAll(group.subList(0, cut));
            test.addAll(group.subList(cut, group.size()));
        }
        MutableDataset<Label> trainData = dataset(train);
        MutableDataset<Label> testData = dataset(test);

        var lr = new LogisticRegressionTrainer().train(trainData);
        double baseline = new LabelEvaluator().evaluate(lr, testData).accuracy();

        long start = System.nanoTime();
        SplittableRandom rng = new SplittableRandom(7);
        ImmutableFeatureMap map = new ImmutableFeatureMap(trainData.getFeatureMap());
        EncoderModule encoder = new FeatureTokens().fit(map, train, 16, rng);
        var head = new LabelHead().fit(trainData.getOutputIDInfo());
        Linear linear = new Linear(16, head.numOutputs(), true, rng);
        AdamW encoderOpt = new AdamW(encoder, 1e-2f);
        AdamW linearOpt = new AdamW(linear, 1e-2f);
        for (int step = 0; step < 300; step++) {
            List<Example<Label>> batch = new ArrayList<>(64);
            for (int i = 0; i < 64; i++) {
                batch.add(train.get(rng.nextInt(train.size())));
            }
            Tensor logits = linear.forward(encoder.forward(batch).embeddings().mean(1, false)); // [B, K]
            head.loss(logits, batch).backward();
            encoderOpt.step();
            linearOpt.step();
            encoderOpt.zeroGrad();
            linearOpt.zeroGrad();
        }
        List<Prediction<Label>> predictions;
        try (var scope = GradMode.noGrad()) {
            predictions = head.predictions(linear.forward(encoder.forward(test).embeddings().mean(1, false)), test);
        }
        long correct = predictions.stream()
                .filter(p -> p.getOutput().getLabel().equals(p.getExample().getOutput().getLabel())).count();
        double accuracy = (double) correct / test.size();
        System.out.printf("digits (stratified 80/20, seed 1; %d train, %d test): FeatureTokens+mean+Linear accuracy %.4f "
                + "in %.1f s; Tribuo LogisticRegressionTrainer accuracy %.4f%n", train.size(), test.size(), accuracy,
                (System.nanoTime() - start) / 1e9, baseline);
        assertThat(accuracy).isGreaterThan(0.85);
    }

    private static MutableDataset<Label> dataset(List<Example<Label>> examples) {
        MutableDataset<Label> data = new MutableDataset<>(new SimpleDataSourceProvenance("digits", new LabelFactory()),
                new LabelFactory());
        data.addAll(examples);
        return data;
    }
}
