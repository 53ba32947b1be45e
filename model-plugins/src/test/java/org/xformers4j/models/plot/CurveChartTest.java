package org.xformers4j.models.plot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chart: a panel per measure some run has, the runs in their colours, the PNG written
 * atomically, and the refusals.
 */
class CurveChartTest {

    private static final int BLUE = 0x1f77b4;
    private static final int ORANGE = 0xff7f0e;
    private static final int GREEN = 0x2ca02c;

    @TempDir
    Path dir;

    private static Curves run(String name, boolean withMetrics) {
        Curves.Builder builder = new Curves.Builder(name);
        for (int step = 10; step <= 100; step += 10) {
            builder.add(withMetrics
                    ? Map.of("step", (double) step, "loss", 5.0 / step, "validation_loss", 6.0 / step,
                            "validation_bits_per_character", 8.0 / step, "learning_rate", 1e-3, "items_per_second", 900.0)
                    : Map.of("step", (double) step, "loss", 5.0 / step));
        }
        return builder.build();
    }

    private static boolean has(BufferedImage image, int rgb) {
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                if ((image.getRGB(x, y) & 0xffffff) == rgb) {
                    return true;
                }
            }
        }
        return false;
    }

    @Test
    void aPanelPerMeasureSomeRunHas() {
        BufferedImage lossOnly = CurveChart.image("t", List.of(run("a", false)), false);
        BufferedImage all = CurveChart.image("t", List.of(run("a", true)), false);
        BufferedImage mixed = CurveChart.image("t", List.of(run("a", false), run("b", true)), false);
        // losses, bits per character, learning rate, throughput: four panels where the first has one
        assertThat(all.getHeight() - lossOnly.getHeight()).isEqualTo(3 * CurveChart.PANEL_HEIGHT);
        assertThat(mixed.getHeight()).isEqualTo(all.getHeight());
        assertThat(all.getWidth()).isEqualTo(1000);
    }

    @Test
    void eachRunHasItsColourAndASingleRunAColourPerLossLine() {
        BufferedImage one = CurveChart.image("t", List.of(run("a", true)), false);
        assertThat(has(one, BLUE)).as("training loss").isTrue();
        assertThat(has(one, ORANGE)).as("validation loss").isTrue();
        assertThat(has(one, GREEN)).isFalse();

        BufferedImage three = CurveChart.image("t", List.of(run("a", false), run("b", false), run("c", false)), false);
        assertThat(has(three, BLUE)).isTrue();
        assertThat(has(three, ORANGE)).isTrue();
        assertThat(has(three, GREEN)).isTrue();
    }

    @Test
    void aLogScaleForTheLossChangesThePictureAndLeavesOutValuesThatAreNotPositive() {
        BufferedImage linear = CurveChart.image("t", List.of(run("a", false)), false);
        BufferedImage log = CurveChart.image("t", List.of(run("a", false)), true);
        boolean differs = false;
        for (int y = 0; y < linear.getHeight() && !differs; y++) {
            for (int x = 0; x < linear.getWidth() && !differs; x++) {
                differs = linear.getRGB(x, y) != log.getRGB(x, y);
            }
        }
        assertThat(differs).isTrue();
        Curves zero = new Curves.Builder("z").add(Map.of("step", 1.0, "loss", 0.0)).add(Map.of("step", 2.0, "loss", 0.5))
                .add(Map.of("step", 3.0, "loss", 0.25)).build();
        assertThat(CurveChart.image("t", List.of(zero), true).getHeight()).isEqualTo(linear.getHeight());
    }

    @Test
    void writesAPngAtomically() throws IOException {
        Path png = dir.resolve("curves.png");
        Files.writeString(png, "an older chart");
        CurveChart.write(png, "Learning curves", List.of(run("a", true), run("b", true)), true);
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image).isNotNull();
        assertThat(image.getWidth()).isEqualTo(1000);
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("curves.png");
        }
    }

    @Test
    void refusesNoRunsTooManyRunsAndRunsWithoutALoss() {
        assertThatThrownBy(() -> CurveChart.image("t", List.of(), false)).hasMessage("a chart shows 1 to 10 runs, got 0");
        List<Curves> eleven = new ArrayList<>(Collections.nCopies(11, run("a", false)));
        assertThatThrownBy(() -> CurveChart.image("t", eleven, false)).hasMessage("a chart shows 1 to 10 runs, got 11");
        Curves rateOnly = new Curves.Builder("r").add(Map.of("step", 1.0, "learning_rate", 0.1)).build();
        assertThatThrownBy(() -> CurveChart.image("t", List.of(rateOnly), false))
                .hasMessage("no run has a 'loss' or 'validation_loss' value to draw");
    }
}
