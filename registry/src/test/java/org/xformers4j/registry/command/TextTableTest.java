package org.xformers4j.registry.command;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TextTableTest {

    @Test
    void alignsColumnsAndLeavesTheLastUnpadded() {
        String table = new TextTable("NAME", "AVAILABLE", "DESCRIPTION")
                .row("cpu", "yes", "SIMD, 2 threads")
                .row("cuda", "no", null)
                .render();
        assertThat(table).isEqualTo("""
                  NAME  AVAILABLE  DESCRIPTION
                  cpu   yes        SIMD, 2 threads
                  cuda  no
                """);
    }

    @Test
    void rowMustMatchTheHeader() {
        assertThatThrownBy(() -> new TextTable("A", "B").row("1"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("row has 1 cells, the header 2");
    }
}
