package org.xformers4j.component.attention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.xformers4j.component.attention.FlopCount.Shape;

/** The sizes a FLOP count is asked for: validated, and their product never overflows. */
class FlopCountShapeTest {

    @Test
    void selfAttentionHasEqualLengthsAndSizes() {
        assertThat(Shape.self(2, 8, 1024, 64, true)).isEqualTo(new Shape(2, 8, 1024, 1024, 64, 64, true));
    }

    @Test
    void aSizeBelowOneIsRejectedNamingEverySize() {
        assertThatThrownBy(() -> new Shape(1, 8, 0, 16, 64, 64, false)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("queryLength 0").hasMessageContaining("keyLength 16");
    }

    @Test
    void batchTimesHeadsIsADoubleSoThatLengthProductsDoNotOverflow() {
        Shape shape = Shape.self(Integer.MAX_VALUE, Integer.MAX_VALUE, 1 << 20, 64, false);
        assertThat(shape.batchHeads() * shape.queryLength()).isPositive();
        assertThat(shape.batchHeads()).isEqualTo((double) Integer.MAX_VALUE * Integer.MAX_VALUE);
    }
}
