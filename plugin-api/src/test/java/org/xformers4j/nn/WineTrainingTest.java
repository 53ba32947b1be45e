package org.xformers4j.nn;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;
import org.xformers4j.optim.AdamW;
import org.xformers4j.optim.LearningRateSchedule;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * End-to-end training on real data: a 13-32-3 GELU MLP learns the UCI Wine classes (scikit-learn's
 * copy, see {@code src/test/resources/data/README.md}) with AdamW, a cosine schedule and
 * cross-entropy, and must reach 90% accuracy on a held-out stratified 30%.
 */
class WineTrainingTest {

    private static final Logger LOG = Logger.getLogger(WineTrainingTest.class.getName());
    private static final int FEATURES = 13;
    private static final int CLASSES = 3;
    private static final int STEPS = 300;

    record Dataset(float[][] features, int[] labels) {
    }

    static final class Mlp extends Module {
        final Linear hidden;
        final Linear output;

        Mlp(RandomGenerator rng) {
            hidden = registerModule("hidden", new Linear(FEATURES, 32, true, rng));
            output = registerModule("output", new Linear(32, CLASSES, true, rng));
        }

        Tensor forward(Tensor x) {
            return output.forward(hidden.forward(x).gelu());
        }
    }

    static Dataset load() throws IOException {
        try (InputStream in = WineTrainingTest.class.getResourceAsStream("/data/wine_data.csv")) {
            assertThat(in).as("wine_data.csv on the test class path").isNotNull();
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            String[] header = reader.readLine().split(",");
            int n = Integer.parseInt(header[0]);
            assertThat(Integer.parseInt(header[1])).isEqualTo(FEATURES);
            float[][] features = new float[n][FEATURES];
            int[] labels = new int[n];
            for (int i = 0; i < n; i++) {
                String[] fields = reader.readLine().split(",");
                for (int j = 0; j < FEATURES; j++) {
                    features[i][j] = Float.parseFloat(fields[j]);
                }
                labels[i] = Integer.parseInt(fields[FEATURES]);
            }
            return new Dataset(features, labels);
        }
    }

    /** Indices of a seeded stratified split: each class shuffled, its first 70% to training. */
    static List<List<Integer>> split(int[] labels, RandomGenerator rng) {
        List<Integer> train = new ArrayList<>();
        List<Integer> test = new ArrayList<>();
        for (int c = 0; c < CLASSES; c++) {
            List<Integer> members = new ArrayList<>();
            for (int i = 0; i < labels.length; i++) {
                if (labels[i] == c) {
                    members.add(i);
                }
            }
            for (int i = members.size() - 1; i > 0; i--) { // Fisher-Yates
                int j = rng.nextInt(i + 1);
                members.set(i, members.set(j, members.get(i)));
            }
            int cut = Math.round(0.7f * members.size());
            train.addAll(members.subList(0, cut));
            test.addAll(members.subList(cut, members.size()));
        }
        return List.of(train, test);
    }

    /** Features of {@code rows}, standardised with the given per-feature mean and std, as [rows, 13]. */
    static Tensor standardised(Dataset data, List<Integer> rows, double[] mean, double[] std) {
        float[] x = new float[rows.size() * FEATURES];
        for (int r = 0; r < rows.size(); r++) {
            for (int j = 0; j < FEATURES; j++) {
                x[r * FEATURES + j] = (float) ((data.features()[rows.get(r)][j] - mean[j]) / std[j]);
            }
        }
        return Tensor.of(x, rows.size(), FEATURES);
    }

    static int[] labels(Dataset data, List<Integer> rows) {
        return rows.stream().mapToInt(i -> data.labels()[i]).toArray();
    }

    static double accuracy(Mlp model, Tensor x, int[] labels) {
        float[] predicted;
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            predicted = model.forward(x).argmax(-1, false).toFloatArray();
        }
        int correct = 0;
        for (int i = 0; i < labels.length; i++) {
            correct += (int) predicted[i] == labels[i] ? 1 : 0;
        }
        return correct / (double) labels.length;
    }

    @Test
    void mlpLearnsWineClasses() throws IOException {
        Dataset data = load();
        assertThat(data.labels()).hasSize(178);
        SplittableRandom rng = new SplittableRandom(2024);
        List<List<Integer>> split = split(data.labels(), rng);
        List<Integer> trainRows = split.get(0);
        List<Integer> testRows = split.get(1);

        double[] mean = new double[FEATURES];
        double[] std = new double[FEATURES];
        for (int j = 0; j < FEATURES; j++) {
            for (int i : trainRows) {
                mean[j] += data.features()[i][j] / trainRows.size();
            }
            for (int i : trainRows) {
                double d = data.features()[i][j] - mean[j];
                std[j] += d * d / trainRows.size();
            }
            std[j] = Math.sqrt(std[j]);
        }
        Tensor xTrain = standardised(data, trainRows, mean, std);
        int[] yTrain = labels(data, trainRows);
        Tensor xTest = standardised(data, testRows, mean, std);
        int[] yTest = labels(data, testRows);

        Mlp model = new Mlp(rng);
        AdamW optimizer = new AdamW(model, 1e-2f);
        LearningRateSchedule schedule = LearningRateSchedule.cosineDecay(1e-2, 1e-3, 20, STEPS - 20);
        LOG.fine(() -> "wine: " + trainRows.size() + " training and " + testRows.size() + " test rows, "
                + model.parameterCount() + " parameters");
        float loss = Float.NaN;
        for (int step = 1; step <= STEPS; step++) {
            Tensor lossTensor = Functional.crossEntropy(model.forward(xTrain), yTrain);
            lossTensor.backward();
            schedule.applyTo(optimizer);
            optimizer.step();
            optimizer.zeroGrad();
            loss = lossTensor.item();
            if (step % 50 == 0 && LOG.isLoggable(Level.FINE)) {
                LOG.fine(String.format("wine: step %d loss %.4f lr %.2e test accuracy %.3f", step, loss,
                        optimizer.learningRate(), accuracy(model, xTest, yTest)));
            }
        }
        double testAccuracy = accuracy(model, xTest, yTest);
        LOG.fine(() -> "wine: held-out accuracy " + testAccuracy);
        assertThat(loss).isLessThan(0.1f);
        assertThat(testAccuracy).isGreaterThanOrEqualTo(0.9);
    }
}
