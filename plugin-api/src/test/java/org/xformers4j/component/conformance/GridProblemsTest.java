package org.xformers4j.component.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.ConfigurableComponentProvider;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionContext.Grid;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.tensor.Tensor;

/** A mechanism that declares {@code gridRequired} gets the tokens of every problem as a grid; others get none. */
class GridProblemsTest {

    /** Softmax attention that refuses a context without the grid covering its keys. */
    abstract static class NeedsGrid implements AttentionMechanism {

        @Override
        public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
            if (query.dim() != 4 || key.dim() != 4 || value.dim() != 4 || query.size(3) != key.size(3)
                    || query.size(2) != key.size(2) || key.size(2) != value.size(2)) {
                throw new IllegalArgumentException("gridded: query " + Arrays.toString(query.shape()) + ", key "
                        + Arrays.toString(key.shape()) + ", value " + Arrays.toString(value.shape()));
            }
            if (context.keyPaddingMask() != null || context.bias() != null || context.causal()
                    || context.dropout() > 0) {
                throw new IllegalArgumentException("gridded: no key padding mask, no bias, not causal, no dropout");
            }
            if (!Grid.covering(key.size(2)).equals(context.grid())) {
                throw new IllegalArgumentException("gridded: needs the grid of the " + key.size(2) + " tokens, got "
                        + context.grid());
            }
            return query.mul((float) (1 / Math.sqrt(query.size(3)))).matmul(key, false, true).softmax(-1).matmul(value);
        }
    }

    @ComponentInfo(name = "gridded", summary = "Softmax attention that needs a grid.", reference = "test")
    @AttentionCapabilities(causal = false, crossAttention = false, keyPaddingMask = false, additiveBias = false,
            incrementalDecoding = false, exact = true, grid = true, gridRequired = true, time = "O(N^2)", memory = "O(N^2)")
    public static final class Gridded extends NeedsGrid {
        private Gridded() {
        }
    }

    public static final class GriddedProvider extends ConfigurableComponentProvider<Gridded> {
        public GriddedProvider() {
            super(Gridded.class);
        }
    }

    /** The same mechanism without declaring that it needs the grid. */
    @ComponentInfo(name = "undeclared", summary = "Softmax attention that needs an undeclared grid.", reference = "test")
    @AttentionCapabilities(causal = false, crossAttention = false, keyPaddingMask = false, additiveBias = false,
            incrementalDecoding = false, exact = true, time = "O(N^2)", memory = "O(N^2)")
    public static final class Undeclared extends NeedsGrid {
        private Undeclared() {
        }
    }

    public static final class UndeclaredProvider extends ConfigurableComponentProvider<Undeclared> {
        public UndeclaredProvider() {
            super(Undeclared.class);
        }
    }

    @Test
    void aMechanismThatRequiresAGridGetsTheCoveringGridInEveryCheck() {
        List<CheckResult> results = AttentionConformance.run(new GriddedProvider());
        // (linear-memory, over the grids 32 x 32 and 64 x 64, is exercised by swin's suite in attention-plugins)
        assertThat(results).extracting(CheckResult::check).containsExactly("matches-full", "gradient-inputs",
                "batch-independent", "rejects-bad-input", "reproducible");
        assertThat(results).allSatisfy(r -> assertThat(r.passed()).as(r.detail()).isTrue());
    }

    @Test
    void aMechanismThatDoesNotDeclareItGetsNoGrid() {
        List<CheckResult> results = AttentionConformance.run(new UndeclaredProvider());
        assertThat(results).filteredOn(r -> r.check().equals("matches-full"))
                .allSatisfy(r -> assertThat(r.detail()).contains("needs the grid"));
    }
}
