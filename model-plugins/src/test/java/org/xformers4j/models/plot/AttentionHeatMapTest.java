package org.xformers4j.models.plot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The heat maps: the colours follow the weights on one scale from 0 to the largest, a grid of
 * maps, the PNG written atomically, and the refusals.
 */
class AttentionHeatMapTest {

    @TempDir
    Path dir;

    /** How many pixels of the image have each colour. */
    private static Map<Integer, Integer> histogram(BufferedImage image) {
        Map<Integer, Integer> counts = new HashMap<>();
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                counts.merge(image.getRGB(x, y) & 0xffffff, 1, Integer::sum);
            }
        }
        return counts;
    }

    private static int rgb(float t) {
        return AttentionHeatMap.colour(t).getRGB() & 0xffffff;
    }

    @Test
    void eachCellTakesTheColourOfItsWeightOnTheScaleOfTheLargest() throws IOException {
        // weights 0.8 (the top of the scale), 0.2 (a quarter of it), 0 twice: one cell each of the first two
        AttentionHeatMap.Map map = new AttentionHeatMap.Map("m", 2, new float[] {0.8f, 0.2f, 0f, 0f});
        Path png = dir.resolve("map.png");
        AttentionHeatMap.write(png, "title", "subtitle", List.of("a", "b"), List.of(map), 1);
        BufferedImage image = ImageIO.read(png.toFile());
        Map<Integer, Integer> counts = histogram(image);
        int top = counts.getOrDefault(rgb(1f), 0);
        int quarter = counts.getOrDefault(rgb(0.25f), 0);
        int zero = counts.getOrDefault(rgb(0f), 0);
        int cell = 36 * 36;                                              // 2 tokens: the largest cells
        assertThat(top).as("the 0.8 cell and the top row of the colour bar").isBetween(cell, cell + 60);
        assertThat(quarter).as("the 0.2 cell and a row of the colour bar").isBetween(cell, cell + 60);
        assertThat(zero).as("the two 0 cells and the bottom of the colour bar").isBetween(2 * cell, 2 * cell + 60);
        // the same weights transposed move the colours, not their amounts
        AttentionHeatMap.Map transposed = new AttentionHeatMap.Map("m", 2, new float[] {0.8f, 0f, 0.2f, 0f});
        BufferedImage other = AttentionHeatMap.image("title", "subtitle", List.of("a", "b"), List.of(transposed), 1);
        assertThat(histogram(other).get(rgb(0.25f))).isEqualTo(quarter);
        assertThat(pixelsDiffer(image, other)).isGreaterThanOrEqualTo(2 * cell);
    }

    private static int pixelsDiffer(BufferedImage a, BufferedImage b) {
        int differ = 0;
        for (int y = 0; y < a.getHeight(); y++) {
            for (int x = 0; x < a.getWidth(); x++) {
                differ += a.getRGB(x, y) != b.getRGB(x, y) ? 1 : 0;
            }
        }
        return differ;
    }

    @Test
    void theScaleRunsThroughViridisFromDarkPurpleToYellow() {
        assertThat(AttentionHeatMap.colour(0f)).isEqualTo(new Color(0x440154));
        assertThat(AttentionHeatMap.colour(1f)).isEqualTo(new Color(0xfde725));
        assertThat(AttentionHeatMap.colour(0.5f)).isEqualTo(new Color(0x1fa187));
        assertThat(AttentionHeatMap.colour(-1f)).isEqualTo(AttentionHeatMap.colour(0f));
        assertThat(AttentionHeatMap.colour(2f)).isEqualTo(AttentionHeatMap.colour(1f));
    }

    @Test
    void severalMapsShareOneScaleInAGrid() {
        float[] uniform = new float[9];
        Arrays.fill(uniform, 1f / 3);
        float[] peaked = new float[9];
        peaked[0] = 1f;
        List<AttentionHeatMap.Map> maps = List.of(new AttentionHeatMap.Map("head 0", 3, uniform),
                new AttentionHeatMap.Map("head 1", 3, peaked), new AttentionHeatMap.Map("head 2", 3, uniform));
        BufferedImage image = AttentionHeatMap.image("t", null, List.of("a", "b", "c"), maps, 2);
        Map<Integer, Integer> counts = histogram(image);
        // one scale: a third is a third of the peaked head's 1, not the top of its own map
        assertThat(counts.get(rgb(1f / 3))).isGreaterThanOrEqualTo(2 * 9 * 16 * 16);
        assertThat(counts).containsKey(rgb(1f));
        BufferedImage wide = AttentionHeatMap.image("t", null, List.of("a", "b", "c"), maps, 3);
        assertThat(wide.getWidth()).isGreaterThan(image.getWidth());
        assertThat(wide.getHeight()).isLessThan(image.getHeight());
    }

    @Test
    void badInputIsRefused() {
        float[] two = {1f, 0f, 0f, 1f};
        assertThatThrownBy(() -> new AttentionHeatMap.Map("m", 2, new float[3]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("need 4 weights, got 3");
        assertThatThrownBy(() -> new AttentionHeatMap.Map("m", 2, new float[] {Float.NaN, 0f, 0f, 0f}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NaN");
        assertThatThrownBy(() -> new AttentionHeatMap.Map("m", AttentionHeatMap.MAX_TOKENS + 1, new float[0]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 to 1024 tokens");
        AttentionHeatMap.Map map = new AttentionHeatMap.Map("m", 2, two);
        assertThatThrownBy(() -> AttentionHeatMap.image("t", null, List.of("a"), List.of(map), 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 labels");
        assertThatThrownBy(() -> AttentionHeatMap.image("t", null, List.of("a", "b"), List.of(), 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 to 256 maps");
        assertThatThrownBy(() -> AttentionHeatMap.image("t", null, List.of("a", "b"),
                Collections.nCopies(AttentionHeatMap.MAX_MAPS + 1, map), 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("got 257");
    }

    @Test
    void aFileThatCannotBeWrittenLeavesNothingBehind() {
        AttentionHeatMap.Map map = new AttentionHeatMap.Map("m", 2, new float[] {1f, 0f, 0f, 1f});
        Path png = dir.resolve("missing").resolve("map.png");
        assertThatThrownBy(() -> AttentionHeatMap.write(png, "t", null, List.of("a", "b"), List.of(map), 1))
                .isInstanceOf(IOException.class);
        assertThat(dir.resolve("missing")).doesNotExist();
    }
}
