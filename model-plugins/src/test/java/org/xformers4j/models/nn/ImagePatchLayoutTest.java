package org.xformers4j.models.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.xformers4j.component.attention.AttentionContext.Grid;

/**
 * {@link ImagePatchLayout} against the patch matrix built by walking the patches themselves (row-major
 * patches; in each, rows, then columns, then channels), and its refusals.
 */
class ImagePatchLayoutTest {

    @Test
    void everyValueLandsWhereWalkingThePatchesPutsIt() {
        int height = 4;
        int width = 6;
        int channels = 2;
        int patch = 2;
        ImagePatchLayout layout = new ImagePatchLayout(height, width, channels, patch);
        int[] expected = new int[height * width * channels];                 // position → slot
        int slot = 0;
        for (int pr = 0; pr < height / patch; pr++) {
            for (int pc = 0; pc < width / patch; pc++) {
                for (int r = pr * patch; r < (pr + 1) * patch; r++) {
                    for (int c = pc * patch; c < (pc + 1) * patch; c++) {
                        for (int k = 0; k < channels; k++) {
                            expected[(r * width + c) * channels + k] = slot++;
                        }
                    }
                }
            }
        }
        int[] actual = new int[expected.length];
        for (int position = 0; position < actual.length; position++) {
            actual[position] = layout.slot(position);
        }
        assertThat(actual).containsExactly(expected);
        assertThat(layout.values()).isEqualTo(48);
        assertThat(layout.patches()).isEqualTo(6);
        assertThat(layout.patchDim()).isEqualTo(8);
        assertThat(layout.grid(1)).isEqualTo(new Grid(1, 2, 3));
    }

    @Test
    void sizesThatDoNotMakePatchesAreRefused() {
        assertThatThrownBy(() -> new ImagePatchLayout(8, 8, 1, 3)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("patchSize = 3 must divide height = 8 and width = 8");
        assertThatThrownBy(() -> new ImagePatchLayout(8, 0, 1, 2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("must be positive");
        assertThatThrownBy(() -> new ImagePatchLayout(1 << 14, 1 << 14, 1, 2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("values an image may have");
    }
}
