package org.xformers4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;

/**
 * The live progress of a run: plain lines at most every {@value ProgressDisplay#PLAIN_EVERY_SECONDS}
 * seconds and at the last step, a line redrawn in place on a terminal and erased at the end, the
 * epoch for a task that goes in epochs, and a line per point when asked. Time is a fake clock.
 */
class ProgressDisplayTest {

    private static final Optimization SGD = Optimization.builder().algorithm(Optimization.Algorithm.SGD)
            .learningRate(0.05f).weightDecay(0f).schedule(Optimization.Schedule.CONSTANT).build();

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    /** A clock that advances {@code seconds} each time it is read. */
    private static LongSupplier ticking(double seconds) {
        AtomicLong now = new AtomicLong();
        return () -> now.addAndGet((long) (seconds * 1e9));
    }

    private String output() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /** Trains the regression task for {@code steps} steps, a point every {@code every}, watched by {@code display}. */
    private static void train(TrainingTask task, Regression regression, long steps, int every, ProgressDisplay display) {
        new TrainingLoop(SGD, RunSettings.builder().batchSize(Regression.BATCH).build(), steps, every)
                .addListener(display).run(regression.net, task);
    }

    @Test
    void plainLinesComeEveryFiveSecondsAndAtTheLastStep() {
        Regression task = new Regression(0f);
        // the clock is read at the start and once per step: 2 s a step, so a line every third step
        train(task, task, 10, 100, new ProgressDisplay(out, false, "examples", false, ticking(2)));
        List<String> lines = output().lines().toList();
        assertEquals(List.of("step 3/10 (30%)", "step 6/10 (60%)", "step 9/10 (90%)", "step 10/10 (100%)"),
                lines.stream().map(line -> line.substring(0, line.indexOf(')') + 1)).toList(), output());
        String first = lines.get(0);
        assertTrue(first.matches("step 3/10 \\(30%\\)  loss \\d+\\.\\d{4}  [\\d,]+ examples/s  0:06, ETA 0:14"), first);
        assertTrue(lines.get(3).endsWith("0:20, ETA 0:00"), lines.get(3));
        assertFalse(output().contains("\r"), "no carriage return off a terminal");
    }

    @Test
    void theLossShownIsTheMeanOfTheStepsSinceTheLastLine() {
        Regression task = new Regression(0f);
        List<Float> losses = new java.util.ArrayList<>();
        ProgressDisplay display = new ProgressDisplay(out, false, "examples", false, ticking(2));
        new TrainingLoop(SGD, RunSettings.builder().batchSize(Regression.BATCH).build(), 3, 100)
                .addListener(new TrainingListener() {
                    @Override
                    public void onLoss(TrainingState state, long step, float loss) {
                        losses.add(loss);
                    }
                }).addListener(display).run(task.net, task);
        double mean = (losses.get(0) + losses.get(1) + losses.get(2)) / 3.0;
        assertTrue(output().contains(String.format(java.util.Locale.ROOT, "loss %.4f", mean)), output() + " vs " + mean);
    }

    @Test
    void theLossShownAfterAPointIsThatOfTheStepsAfterIt() {
        Regression task = new Regression(0f);
        List<Float> losses = new java.util.ArrayList<>();
        ProgressDisplay display = new ProgressDisplay(out, false, "examples", false, ticking(1));
        // a point at step 3, a line at step 5 (5 s after the start): the mean of steps 4 and 5
        new TrainingLoop(SGD, RunSettings.builder().batchSize(Regression.BATCH).build(), 6, 3)
                .addListener(new TrainingListener() {
                    @Override
                    public void onLoss(TrainingState state, long step, float loss) {
                        losses.add(loss);
                    }
                }).addListener(display).run(task.net, task);
        double mean = (losses.get(3) + losses.get(4)) / 2.0;
        assertTrue(output().startsWith(String.format(java.util.Locale.ROOT, "step 5/6 (83%%)  loss %.4f", mean)),
                output() + " vs " + mean);
    }

    @Test
    void onATerminalOneLineIsRedrawnInPlaceAndErasedAtTheEnd() {
        Regression task = new Regression(0f);
        train(task, task, 4, 100, new ProgressDisplay(out, true, "examples", false, ticking(1)));
        String text = output();
        assertFalse(text.contains("\n"), "no line ends: " + text);
        String[] draws = text.split("\r");
        assertTrue(text.contains("\rstep 1/4 (25%)  loss "), text);
        assertTrue(text.contains("\rstep 4/4 (100%)  loss "), text);
        assertTrue(Arrays.stream(draws).allMatch(draw -> draw.length() < 80), "no wider than a terminal: " + text);
        assertTrue(draws[draws.length - 1].isBlank(), "the last write blanks the line: " + text);
        assertTrue(text.endsWith("\r"), text);
    }

    @Test
    void pointLinesShowTheEpochAndTheHeldOutLossAndMetrics() {
        Regression regression = new Regression(0f);
        TrainingTask inEpochs = new TrainingTask() {
            @Override
            public Batch batch(long step, int part, int parts) {
                return regression.batch(step, part, parts);
            }

            @Override
            public Evaluation evaluate() {
                return new Evaluation(regression.evaluate().loss(), Map.of("meanError", 0.25));
            }

            @Override
            public Map<String, String> identity() {
                return regression.identity();
            }

            @Override
            public long stepsPerEpoch() {
                return 4;
            }
        };
        train(inEpochs, regression, 8, 4, new ProgressDisplay(out, false, "examples", true, ticking(0.1)));
        List<String> lines = output().lines().toList();
        assertEquals(2, lines.size(), "a line per point, the last step's own line left out: " + output());
        assertTrue(lines.get(0).matches("epoch 1/2  step 4/8  loss \\d\\.\\d{4}  validation loss \\d\\.\\d{4}  "
                + "mean error 0\\.2500  [\\d,]+ examples/s  0:00"), lines.get(0));
        assertTrue(lines.get(1).startsWith("epoch 2/2  step 8/8  loss"), lines.get(1));
    }

    @Test
    void clockAndWords() {
        assertEquals("0:05", ProgressDisplay.clock(5.2));
        assertEquals("2:05", ProgressDisplay.clock(125));
        assertEquals("1:02:05", ProgressDisplay.clock(3725));
        assertEquals("bits per character", ProgressDisplay.words("bitsPerCharacter"));
    }
}
