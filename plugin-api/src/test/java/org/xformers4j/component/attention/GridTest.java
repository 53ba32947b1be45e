package org.xformers4j.component.attention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.xformers4j.component.attention.AttentionContext.Grid;

class GridTest {

    @Test
    void coveringIsTheMostNearlySquareGridOfEveryPosition() {
        assertThat(Grid.covering(8)).isEqualTo(new Grid(0, 2, 4));
        assertThat(Grid.covering(1024)).isEqualTo(new Grid(0, 32, 32));
        assertThat(Grid.covering(4096)).isEqualTo(new Grid(0, 64, 64));
        assertThat(Grid.covering(7)).isEqualTo(new Grid(0, 1, 7));
        assertThat(Grid.covering(1)).isEqualTo(new Grid(0, 1, 1));
        for (int length = 1; length <= 200; length++) {
            Grid grid = Grid.covering(length);
            assertThat(grid.cells()).isEqualTo(length);
            assertThat(grid.rows()).isLessThanOrEqualTo(grid.cols());
        }
        assertThatThrownBy(() -> Grid.covering(0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0");
    }
}
