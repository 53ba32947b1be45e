package org.xformers4j.compute;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Proxy;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.xformers4j.compute.cpu.CpuBackend;
import org.xformers4j.nn.Linear;
import org.xformers4j.tensor.Tensor;

class BackendsTest {

    @Test
    void serviceLoaderFindsTheCpuBackendAndPicksIt() {
        List<ComputeBackend> found = Backends.discover();
        assertThat(found).extracting(ComputeBackend::name).contains("cpu");
        assertThat(Backends.select(found, null).name()).isEqualTo("cpu");
        assertThat(Backends.select(found, " CPU ").name()).isEqualTo("cpu");
    }

    @Test
    void unknownBackendNameIsAClearError() {
        assertThatThrownBy(() -> Backends.select(Backends.discover(), "tpu"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("xformers4j.backend=tpu").hasMessageContaining("cpu");
    }

    @Test
    void highestPriorityAvailableBackendWins() {
        ComputeBackend cpu = new CpuBackend();
        assertThat(Backends.select(List.of(unavailable(), cpu), null)).isSameAs(cpu);
        assertThatThrownBy(() -> Backends.select(List.of(unavailable(), cpu), "ghost"))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("not available");
    }

    @Test
    void memoryCounterTracksHeldAndPeakBytes() {
        CpuBackend backend = new CpuBackend();
        MemoryStats memory = backend.memory();
        long before = memory.currentBytes();
        memory.resetPeak();
        Buffer a = backend.allocate(40_000);
        Buffer b = backend.upload(new float[20_000]);
        Buffer small = backend.allocate(100);
        assertThat(memory.currentBytes() - before).as("small buffers are not held").isEqualTo(240_000);
        a.close();
        a.close();
        small.close();
        assertThat(memory.currentBytes() - before).isEqualTo(80_000);
        assertThat(memory.peakBytes() - before).isEqualTo(240_000);
        assertThat(memory.allocatedBytesSinceReset()).as("every buffer is allocated").isEqualTo(240_400);
        memory.resetPeak();
        assertThat(memory.peakBytes()).isEqualTo(memory.currentBytes());
        b.close();
        assertThat(memory.currentBytes()).isEqualTo(before);
    }

    @Test
    void aScopeChangesTheDefaultOfItsThreadUntilClosedAndNests() throws Exception {
        ComputeBackend outside = Backends.defaultBackend();
        CpuBackend first = new CpuBackend();
        CpuBackend second = new CpuBackend();
        try (Backends.Scope a = Backends.use(first)) {
            assertThat(Backends.defaultBackend()).isSameAs(first);
            assertThat(Tensor.zeros(2, 3).backend()).isSameAs(first);
            assertThat(Tensor.of(new float[] {1, 2}, 2).backend()).isSameAs(first);
            try (Backends.Scope b = Backends.use(second)) {
                assertThat(Tensor.ones(4).backend()).isSameAs(second);
            }
            assertThat(Backends.defaultBackend()).isSameAs(first);
            assertThat(CompletableFuture.supplyAsync(Backends::defaultBackend).get()).isSameAs(outside);
        }
        assertThat(Backends.defaultBackend()).isSameAs(outside);
        assertThatThrownBy(() -> Backends.use(null)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aLayerBuiltInAScopeKeepsItsParametersAndRunsThereAfterwards() {
        CpuBackend other = new CpuBackend();
        Linear layer;
        try (Backends.Scope ignored = Backends.use(other)) {
            layer = new Linear(3, 2, true, new SplittableRandom(1));
        }
        assertThat(layer.parameters()).allSatisfy(p -> assertThat(p.backend()).isSameAs(other));
        try (DefaultBackendGuard guard = DefaultBackendGuard.install()) {
            Tensor y = layer.forward(Tensor.of(other, new float[] {1, 2, 3}, 1, 3));
            y.sum().backward();
            assertThat(y.backend()).isSameAs(other);
            guard.assertUntouched();
        }
    }

    @Test
    void theGuardCatchesATensorMadeOnTheDefaultAndRestoresIt() {
        ComputeBackend before = Backends.defaultBackend();
        try (DefaultBackendGuard guard = DefaultBackendGuard.install()) {
            assertThatThrownBy(() -> Tensor.zeros(2)).hasMessageContaining("the default backend was used: allocate");
            assertThatThrownBy(guard::assertUntouched).isInstanceOf(AssertionError.class)
                    .hasMessageContaining("1 call(s)");
        }
        assertThat(Backends.defaultBackend()).isSameAs(before);
    }

    /** A backend that is never available, standing in for CUDA on a machine without a GPU; no kernel may run. */
    private static ComputeBackend unavailable() {
        return (ComputeBackend) Proxy.newProxyInstance(ComputeBackend.class.getClassLoader(),
                new Class<?>[] {ComputeBackend.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "name" -> "ghost";
                    case "priority" -> 100;
                    case "isAvailable" -> false;
                    case "description" -> "ghost: no device";
                    default -> throw new AssertionError("kernel " + method.getName() + " called on an unavailable backend");
                });
    }
}
