package org.xformers4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.xformers4j.tensor.Tensor;

class TrainingLoopTest {

    private static final Optimization SGD = Optimization.builder().algorithm(Optimization.Algorithm.SGD)
            .learningRate(0.05f).weightDecay(0f).schedule(Optimization.Schedule.CONSTANT).build();

    @Test
    void reportsAPointEveryEvaluateEveryStepsAndAtTheLastStep() {
        Regression task = new Regression(0f);
        TrainingLoop.Outcome outcome = new TrainingLoop(SGD, RunSettings.builder().batchSize(8).build(), 10, 4)
                .run(task.net, task);
        assertEquals(List.of(4L, 8L, 10L), outcome.curve().stream().map(Point::step).toList());
        assertEquals(10, outcome.steps());
        assertNull(outcome.stopReason());
        assertTrue(outcome.curve().stream().allMatch(p -> p.evaluation() != null && p.trainLoss() > 0));
        assertTrue(outcome.last().evaluation().loss() < outcome.curve().get(0).evaluation().loss() * 1.5);
        assertTrue(!task.net.isTraining(), "the network is left in evaluation mode");
    }

    @Test
    void thePointsTrainLossIsTheItemWeightedMeanOfItsSteps() {
        Regression task = new Regression(0f);
        List<Float> losses = new ArrayList<>();
        TrainingLoop loop = new TrainingLoop(SGD, RunSettings.builder().batchSize(8).gradientAccumulation(3).build(),
                2, 2).addListener(new TrainingListener() {
                    @Override
                    public void onLoss(TrainingState state, long step, float loss) {
                        losses.add(loss);
                    }
                });
        Point point = loop.run(task.net, task).last();
        // parts of 2, 3 and 3 items (8 split in three) in each of two steps
        int[] items = {2, 3, 3, 2, 3, 3};
        double expected = 0;
        for (int i = 0; i < items.length; i++) {
            expected += (double) losses.get(i) * items[i] / 16;
        }
        assertEquals(expected, point.trainLoss(), 1e-12);
    }

    @Test
    void theStateCountsTheItemsOfEveryMicroBatchAndKnowsTheTasksEpochs() {
        Regression task = new Regression(0f);
        List<Long> items = new ArrayList<>();
        List<Long> epochs = new ArrayList<>();
        new TrainingLoop(SGD, RunSettings.builder().batchSize(8).gradientAccumulation(3).build(), 3, 3)
                .addListener(new TrainingListener() {
                    @Override
                    public void onUpdate(TrainingState state) {
                        items.add(state.items());
                        epochs.add(state.stepsPerEpoch());
                    }
                }).run(task.net, task);
        assertEquals(List.of(8L, 16L, 24L), items);
        assertEquals(List.of(0L, 0L, 0L), epochs, "a task without epochs");
    }

    @Test
    void gradientAccumulationTakesTheStepOfTheWholeBatch() {
        Regression whole = new Regression(0f);
        Regression split = new Regression(0f);
        new TrainingLoop(SGD, RunSettings.builder().batchSize(8).build(), 5, 5).run(whole.net, whole);
        new TrainingLoop(SGD, RunSettings.builder().batchSize(8).gradientAccumulation(4).build(), 5, 5)
                .run(split.net, split);
        assertEquals(5 * 4, split.batches, "four micro-batches per step");
        Map<String, float[]> expected = whole.weights();
        split.weights().forEach((name, actual) -> {
            float[] want = expected.get(name);
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], actual[i], 1e-6f * (1 + Math.abs(want[i])), name + "[" + i + "]");
            }
        });
    }

    @Test
    void theGradientSyncRunsOncePerStepBetweenBackwardAndTheUpdate() {
        Regression task = new Regression(0f);
        Map<String, float[]> before = task.weights();
        List<Long> calls = new ArrayList<>();
        new TrainingLoop(SGD, RunSettings.builder().batchSize(8).gradientAccumulation(2).build(), 3, 3)
                .gradientSync((parameters, step) -> {
                    calls.add(step);
                    for (Tensor p : parameters) {
                        assertTrue(p.grad() != null, "the gradients of the step are there");
                        p.grad().copyFrom(new float[p.numel()]);        // an all-reduce that gives zero
                    }
                })
                .run(task.net, task);
        assertEquals(List.of(1L, 2L, 3L), calls);
        before.forEach((name, want) -> assertArrayEquals(want, task.weights().get(name), name
                + ": SGD without decay takes the synchronised (zero) gradients"));
    }

    @Test
    void withoutTheSyncTheWeightsMove() {
        Regression task = new Regression(0f);
        Map<String, float[]> before = task.weights();
        new TrainingLoop(SGD, RunSettings.builder().batchSize(8).build(), 3, 3).run(task.net, task);
        assertNotEquals(Arrays.toString(before.get("first.weight")), Arrays.toString(task.weights().get("first.weight")));
    }

    @Test
    void theScheduleSetsEachStepsLearningRate() {
        Optimization linear = Optimization.builder().algorithm(Optimization.Algorithm.SGD).learningRate(0.1f)
                .weightDecay(0f).schedule(Optimization.Schedule.LINEAR).finalLearningRateFraction(0.5f).build();
        Regression task = new Regression(0f);
        List<Double> rates = new TrainingLoop(linear, RunSettings.builder().batchSize(8).build(), 5, 1)
                .run(task.net, task).curve().stream().map(Point::learningRate).toList();
        double[] expected = {0.1, 0.09, 0.08, 0.07, 0.06};      // 0.05 would be step 6's
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], rates.get(i), 1e-7, "step " + (i + 1));
        }
    }
}
