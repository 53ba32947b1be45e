package org.xformers4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The metrics of a run as JSON lines: a line per point with the point's values, on disk as soon as
 * the point is taken, a fresh run replacing the file and a resumed run appending to it.
 */
class MetricsLogTest {

    private static final Optimization SGD = Optimization.builder().algorithm(Optimization.Algorithm.SGD)
            .learningRate(0.05f).weightDecay(0f).schedule(Optimization.Schedule.CONSTANT).build();

    @TempDir
    Path dir;

    @Test
    void aLinePerPointWithThePointsValuesWrittenWhenThePointIsTaken() throws IOException {
        Path file = dir.resolve("m.jsonl");
        Files.writeString(file, "an earlier run\n");
        Regression task = new Regression(0f);
        List<Integer> linesAtPoints = new ArrayList<>();
        TrainingLoop.Outcome outcome = new TrainingLoop(SGD, RunSettings.builder().batchSize(8).build(), 10, 4)
                .addListener(MetricsLog.jsonLines(file))
                .addListener(new TrainingListener() {
                    @Override
                    public void onPoint(TrainingState state, Point point) {
                        try {
                            linesAtPoints.add(Files.readAllLines(file).size());
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    }
                }).run(task.net, task);
        assertEquals(List.of(1, 2, 3), linesAtPoints, "each point's line is on disk when the point is taken");
        List<String> lines = Files.readAllLines(file);
        assertEquals(3, lines.size(), "the earlier content is replaced: " + lines);
        for (int i = 0; i < lines.size(); i++) {
            Point point = outcome.curve().get(i);
            Map<String, String> record = parse(lines.get(i));
            assertEquals(List.of("step", "loss", "validation_loss", "items_per_second", "learning_rate",
                    "train_seconds", "elapsed_seconds"), List.copyOf(record.keySet()));
            assertEquals(Long.toString(point.step()), record.get("step"));
            assertEquals(point.trainLoss(), Double.parseDouble(record.get("loss")), 1e-6 * point.trainLoss());
            assertEquals(point.evaluation().loss(), Double.parseDouble(record.get("validation_loss")),
                    1e-6 * point.evaluation().loss());
            assertEquals(0.05, Double.parseDouble(record.get("learning_rate")), 0.0, "7 significant digits of a float");
            assertTrue(Double.parseDouble(record.get("elapsed_seconds")) >= Double.parseDouble(record.get("train_seconds")));
        }
    }

    @Test
    void aResumedRunAppendsAFreshRunReplaces() throws IOException {
        Path file = dir.resolve("m.jsonl");
        Files.writeString(file, "{\"step\":4}\n");
        MetricsLog log = MetricsLog.jsonLines(file);
        TrainingState resumed = new TrainingState(new Regression(0f).net, null, 10, 0, null);
        resumed.resumedAt(4, dir.resolve("checkpoint.x4j"));
        log.onStart(resumed);
        assertEquals(List.of("{\"step\":4}"), Files.readAllLines(file));
        log.onStart(new TrainingState(new Regression(0f).net, null, 10, 0, null));
        assertEquals(List.of(), Files.readAllLines(file));
    }

    @Test
    void aFileThatCannotBeWrittenStopsTheRunBeforeItsFirstStepNamingIt() {
        Path file = dir.resolve("missing/m.jsonl");
        Regression task = new Regression(0f);
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () ->
                new TrainingLoop(SGD, RunSettings.builder().batchSize(8).build(), 10, 4)
                        .addListener(MetricsLog.jsonLines(file)).run(task.net, task));
        assertTrue(e.getMessage().startsWith("metrics file " + file), e.getMessage());
        assertEquals(0, task.batches);
    }

    @Test
    void theRecordOfAnEpochTaskWithMetrics() {
        TrainingState state = new TrainingState(new Regression(0f).net, null, 30, 10, null);
        Point point = new Point(20, 0.5, new Evaluation(0.75, Map.of("bitsPerCharacter", 1.25, "top5Accuracy", 0.5)),
                12, 100, 1e-3);
        Map<String, Double> record = MetricsLog.record(state, point, 13);
        assertEquals(List.of("step", "epoch", "loss", "validation_loss", "validation_bits_per_character",
                "validation_top5_accuracy", "items_per_second", "learning_rate", "train_seconds", "elapsed_seconds"),
                List.copyOf(record.keySet()));
        assertEquals(2.0, record.get("epoch"));
        assertEquals("{\"step\":20,\"epoch\":2,\"loss\":0.5,\"validation_loss\":0.75,\"validation_bits_per_character\":1.25,"
                + "\"validation_top5_accuracy\":0.5,\"items_per_second\":100,\"learning_rate\":0.001,"
                + "\"train_seconds\":12,\"elapsed_seconds\":13}", MetricsLog.json(record));
    }

    @Test
    void nonFiniteValuesAreWrittenAsNull() {
        Map<String, Double> record = new LinkedHashMap<>();
        record.put("step", 3.0);
        record.put("loss", Double.NaN);
        record.put("rate", Double.POSITIVE_INFINITY);
        record.put("tiny", 2.0000000949949026E-4);
        assertEquals("{\"step\":3,\"loss\":null,\"rate\":null,\"tiny\":2.0E-4}", MetricsLog.json(record));
    }

    /** A flat JSON object of this writer's form as key → text of the value, in order. */
    private static Map<String, String> parse(String line) {
        assertTrue(line.startsWith("{") && line.endsWith("}"), line);
        Map<String, String> record = new LinkedHashMap<>();
        for (String pair : line.substring(1, line.length() - 1).split(",")) {
            String[] parts = pair.split(":");
            assertEquals(2, parts.length, pair);
            assertTrue(parts[0].matches("\"[a-z_]+\""), parts[0]);
            record.put(parts[0].substring(1, parts[0].length() - 1), parts[1]);
        }
        return record;
    }
}
