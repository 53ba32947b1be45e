package org.xformers4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.nn.Init;
import org.xformers4j.nn.Linear;

class AllocationBudgetTest {

    @Test
    void aScopeRefusesTheTensorThatWouldExceedItBeforeAllocatingIt() {
        try (AllocationBudget budget = AllocationBudget.open(1000, "model x.bin")) {
            Tensor.zeros(10, 10);
            Init.normal(new SplittableRandom(1), 0f, 1f, 20, 20);
            assertThat(budget.used()).isEqualTo(500);
            // 2^31 - 1 floats would be 8 GiB: refused by the count alone, nothing allocated
            assertThatThrownBy(() -> Init.normal(new SplittableRandom(1), 0f, 1f, 46341, 46340))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("model x.bin: building it would allocate more than the 1000 tensor elements")
                    .hasMessageContaining("[46341, 46340]");
            assertThatThrownBy(() -> new Linear(100, 100, true, new SplittableRandom(2)))
                    .hasMessageContaining("[100, 100]");
            assertThat(budget.used()).isEqualTo(500);
            Tensor.of(new float[500], 500);                     // the array exists already: not charged
            Tensor.randn(new SplittableRandom(3), 500);
            assertThat(budget.used()).isEqualTo(1000);
            assertThatThrownBy(() -> Tensor.rand(new SplittableRandom(3), 0f, 1f, 1)).hasMessageContaining("model x.bin");
        }
        Tensor.zeros(100, 100);     // no scope, no limit
    }

    @Test
    void nestedScopesChargeEveryEnclosingBudgetAndCloseInOrder() {
        try (AllocationBudget outer = AllocationBudget.open(100, "outer")) {
            try (AllocationBudget inner = AllocationBudget.open(1000, "inner")) {
                Tensor.zeros(60);
                assertThatThrownBy(() -> Tensor.zeros(60)).hasMessageStartingWith("outer:");
                assertThat(inner.used()).isEqualTo(60);
            }
            assertThat(outer.used()).isEqualTo(60);
            AllocationBudget stray = AllocationBudget.open(5, "stray");
            assertThatThrownBy(outer::close).isInstanceOf(IllegalStateException.class);
            stray.close();
        }
    }

    @Test
    void shapesBeyondATensorAreRefusedWithoutOverflow() {
        assertThatThrownBy(() -> AllocationBudget.elements(65536, 65536, 65536, 65536, 65536))
                .hasMessageContaining("more elements than a tensor can hold");
        assertThatThrownBy(() -> AllocationBudget.elements(3, -1)).hasMessageContaining("negative");
        assertThat(AllocationBudget.elements(0, Integer.MAX_VALUE, Integer.MAX_VALUE)).isZero();
        assertThat(AllocationBudget.elements()).isEqualTo(1);
    }
}
