package org.xformers4j.models.plot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reading a metrics file as untrusted input: what {@code --metrics} writes reads back; each malformed
 * line is refused naming the file and the line; the limits hold; a resumed run's appended records
 * replace those from its step on.
 */
class MetricsFileTest {

    @TempDir
    Path dir;

    private Path file(String content) throws IOException {
        return Files.writeString(dir.resolve("m.jsonl"), content);
    }

    @Test
    void readsTheRecordsColumnByColumnWithNaNWhereAValueIsMissing() throws IOException {
        Curves curves = MetricsFile.read(file("""
                {"step":10,"loss":2.5,"validation_loss":2.25,"learning_rate":1.0E-4}

                {"step":20,"loss":2,"validation_loss":null,"learning_rate":2.0E-4}
                {"step":30,"loss":1.5,"learning_rate":3.0E-4,"items_per_second":100}
                """), "run");
        assertThat(curves.name()).isEqualTo("run");
        assertThat(curves.size()).isEqualTo(3);
        assertThat(curves.steps()).containsExactly(10, 20, 30);
        assertThat(curves.values("loss")).containsExactly(2.5, 2, 1.5);
        assertThat(curves.values("validation_loss")).containsExactly(2.25, Double.NaN, Double.NaN);
        assertThat(curves.values("items_per_second")).containsExactly(Double.NaN, Double.NaN, 100);
        assertThat(curves.values("unknown")).containsExactly(Double.NaN, Double.NaN, Double.NaN);
        assertThat(curves.series()).containsExactly("loss", "validation_loss", "learning_rate", "items_per_second");
    }

    @Test
    void aResumedRunsRecordsReplaceThoseFromItsStepOn() throws IOException {
        Curves curves = MetricsFile.read(file("""
                {"step":10,"loss":4}
                {"step":20,"loss":3}
                {"step":30,"loss":2}
                {"step":20,"loss":2.5}
                {"step":30,"loss":1.5}
                """), "run");
        assertThat(curves.steps()).containsExactly(10, 20, 30);
        assertThat(curves.values("loss")).containsExactly(4, 2.5, 1.5);
    }

    @Test
    void eachMalformedLineIsRefusedNamingTheFileAndTheLine() throws IOException {
        String good = "{\"step\":1,\"loss\":2}\n";
        String[][] cases = {
                {"not json", "line 2: "},
                {"[1, 2]", "line 2: not a JSON object"},
                {"{\"step\":2,\"loss\":\"low\"}", "line 2: 'loss' must be a number or null, got a string"},
                {"{\"step\":2,\"loss\":{\"a\":1}}", "line 2: 'loss' must be a number or null, got an object"},
                {"{\"step\":2,\"step\":3}", "line 2: Duplicate field 'step'"},
                {"{\"loss\":2}", "line 2: 'step' must be a whole number >= 0, got null"},
                {"{\"step\":-1}", "line 2: 'step' must be a whole number >= 0, got -1.0"},
                {"{\"step\":2.5}", "line 2: 'step' must be a whole number >= 0, got 2.5"},
                {"{\"step\":2} {\"step\":3}", "line 2: more than one JSON value on the line"},
                {"{\"step\":2,\"loss\":2", "line 2: "},
                {"{\"step\":2,\"lo\u0007ss\":2}", "line 2: Illegal unquoted character"},
                {"{\"st\\u001b[2Jep\":2}", "line 2: a key must be 1 to 64 letters, digits, '_', '.' or '-', got 'st\\u001b[2Jep'"},
        };
        for (String[] c : cases) {
            Path bad = file(good + c[0] + "\n" + good);
            assertThatThrownBy(() -> MetricsFile.read(bad, "run")).as(c[0]).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("metrics file " + bad + ", " + c[1]);
        }
    }

    @Test
    void bytesThatAreNotUtf8AreRefusedNamingTheLine() throws IOException {
        Path bad = dir.resolve("bad.jsonl");
        byte[] line = "{\"step\":1,\"l\u00e9\":2}\n".getBytes(StandardCharsets.ISO_8859_1);
        Files.write(bad, line);
        assertThatThrownBy(() -> MetricsFile.read(bad, "run")).hasMessageStartingWith("metrics file " + bad + ", line 1: ");
    }

    @Test
    void theLimitsHold() throws IOException {
        Path longLine = file("{\"step\":1,\"loss\":" + "1".repeat(MetricsFile.MAX_LINE_BYTES) + "}\n");
        assertThatThrownBy(() -> MetricsFile.read(longLine, "run"))
                .hasMessage("metrics file " + longLine + ", line 1: longer than " + MetricsFile.MAX_LINE_BYTES + " bytes");

        StringBuilder wide = new StringBuilder("{\"step\":1");
        for (int i = 0; i <= Curves.MAX_SERIES; i++) {
            wide.append(",\"s").append(i).append("\":1");
        }
        Path tooWide = file(wide.append("}\n").toString());
        assertThatThrownBy(() -> MetricsFile.read(tooWide, "run"))
                .hasMessage("metrics file " + tooWide + ", line 1: more than " + Curves.MAX_SERIES
                        + " series (a new one: 's32')");

        StringBuilder many = new StringBuilder();
        for (int step = 1; step <= Curves.MAX_POINTS + 1; step++) {
            many.append("{\"step\":").append(step).append("}\n");
        }
        Path tooMany = file(many.toString());
        assertThatThrownBy(() -> MetricsFile.read(tooMany, "run"))
                .hasMessage("metrics file " + tooMany + ", line " + (Curves.MAX_POINTS + 1) + ": more than "
                        + Curves.MAX_POINTS + " points");
    }

    @Test
    void aFileWithoutRecordsOrMissingIsNamed() throws IOException {
        Path empty = file("\n  \n");
        assertThatThrownBy(() -> MetricsFile.read(empty, "run")).hasMessageStartingWith("metrics file " + empty
                + ": no records");
        Path missing = dir.resolve("none.jsonl");
        assertThatThrownBy(() -> MetricsFile.read(missing, "run")).hasMessageStartingWith("metrics file " + missing
                + ": no such file");
    }
}
