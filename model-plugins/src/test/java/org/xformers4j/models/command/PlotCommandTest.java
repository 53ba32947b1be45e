package org.xformers4j.models.command;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code xformers4j plot}: several metrics files into one PNG, and the errors for bad files and arguments. */
class PlotCommandTest {

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int plot(String... args) {
        return new PlotCommand().run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    private Path metrics(String name, double scale) throws IOException {
        StringBuilder lines = new StringBuilder();
        for (int step = 10; step <= 50; step += 10) {
            lines.append("{\"step\":").append(step).append(",\"loss\":").append(scale / step)
                    .append(",\"validation_loss\":").append(scale * 1.1 / step).append("}\n");
        }
        Files.createDirectories(dir.resolve(name).getParent());
        return Files.writeString(dir.resolve(name), lines);
    }

    @Test
    void overlaysSeveralRunsInOnePng() throws IOException {
        Path a = metrics("a.jsonl", 5);
        Path b = metrics("b.jsonl", 7);
        Path png = dir.resolve("both.png");

        assertThat(plot(a.toString(), b.toString(), "--out", png.toString(), "--title", "flash vs full"))
                .as(err()).isZero();
        assertThat(out()).isEqualTo("plotted 2 runs (10 points) to " + png + "\n");
        assertThat(ImageIO.read(png.toFile()).getWidth()).isEqualTo(1000);
    }

    @Test
    void aBadLineFailsNamingTheFileAndTheLineAndWritesNothing() throws IOException {
        Path good = metrics("a.jsonl", 5);
        Path bad = Files.writeString(dir.resolve("bad.jsonl"), "{\"step\":1,\"loss\":2}\n{\"step\":2,\"loss\":true}\n");
        Path png = dir.resolve("out.png");

        assertThat(plot(good.toString(), bad.toString(), "--out", png.toString())).isEqualTo(1);
        assertThat(err()).isEqualTo("plot: metrics file " + bad + ", line 2: 'loss' must be a number or null, "
                + "got a boolean\n");
        assertThat(png).doesNotExist();
    }

    @Test
    void filesOfTheSameNameAreNamedByTheirPaths() throws IOException {
        Path first = metrics("x/m.jsonl", 5);
        Path second = metrics("y/m.jsonl", 7);
        assertThat(plot(first.toString(), second.toString(), "--out", dir.resolve("p.png").toString())).as(err())
                .isZero();
    }

    @Test
    void argumentErrorsGiveTheUsage() throws IOException {
        Path a = metrics("a.jsonl", 5);
        String[][] cases = {
                {"--out", "p.png"},
                {a.toString()},
                {a.toString(), "--out", "p.jpg"},
                {a.toString(), a.toString(), "--out", "p.png"},
        };
        String[] problems = {"give 1 to 10 metrics files, got 0", "--out is required", "--out must name a .png file",
                "is given twice"};
        for (int i = 0; i < cases.length; i++) {
            err.reset();
            assertThat(plot(cases[i])).as(String.join(" ", cases[i])).isEqualTo(2);
            assertThat(err()).contains(problems[i]).contains("usage: xformers4j plot");
        }
    }

    @Test
    void aMissingFileOrDirectoryIsNamed() throws IOException {
        Path a = metrics("a.jsonl", 5);
        assertThat(plot(dir.resolve("none.jsonl").toString(), "--out", dir.resolve("p.png").toString())).isEqualTo(1);
        assertThat(err()).contains("none.jsonl: no such file");
        err.reset();
        Path nowhere = dir.resolve("no-dir/p.png");
        assertThat(plot(a.toString(), "--out", nowhere.toString())).isEqualTo(1);
        assertThat(err()).contains("plot: cannot write " + nowhere).contains("does not exist");
    }
}
