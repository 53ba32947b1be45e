package org.xformers4j.registry.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.Component;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.ComponentKind;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.decoding.DecodingStrategy;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.compute.cpu.CpuBackend;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.RegistryListener;
import org.xformers4j.registry.fixture.RenamedProvider;
import org.xformers4j.registry.fixture.ScaledValueAttention;

class DefaultComponentRegistryTest {

    /** Records events as "+name" and "-name". */
    static final class Recorder implements RegistryListener {
        final List<String> events = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void providerAdded(ComponentDescriptor descriptor) {
            events.add("+" + descriptor.name());
        }

        @Override
        public void providerRemoved(ComponentDescriptor descriptor) {
            events.add("-" + descriptor.name());
        }
    }

    private static List<String> names(List<ComponentProvider<?>> providers) {
        return providers.stream().map(p -> p.descriptor().name()).toList();
    }

    @Test
    void standaloneFindsServiceLoaderProvidersAndBackends() {
        ComponentRegistry registry = ComponentRegistry.standalone();
        assertThat(names(registry.providers())).containsExactly("scaled-value", "shift", "echo");
        assertThat(names(registry.providers(ComponentKind.ATTENTION))).containsExactly("scaled-value");
        assertThat(names(registry.providers(ComponentKind.POSITIONAL))).containsExactly("shift");
        assertThat(names(registry.providers(ComponentKind.DECODING))).containsExactly("echo");
        assertThat(registry.find("shift").type().getSimpleName()).isEqualTo("ShiftEncoding");
        assertThat(registry.backends()).extracting(ComputeBackend::name).contains("cpu");
    }

    @Test
    void providersAreOrderedByKindThenName() {
        DefaultComponentRegistry registry = new DefaultComponentRegistry();
        List<ComponentProvider<?>> found = new ArrayList<>(ComponentRegistry.standalone().providers());
        Collections.reverse(found);
        found.forEach(registry::addProvider);
        registry.addProvider(new RenamedProvider("full"));
        registry.addProvider(new RenamedProvider("flash"));
        assertThat(names(registry.providers())).containsExactly("flash", "full", "scaled-value", "shift", "echo");
        assertThat(names(registry.providers(ComponentKind.ATTENTION))).containsExactly("flash", "full", "scaled-value");
    }

    @Test
    void unknownNameSuggestsTheClosest() {
        DefaultComponentRegistry registry = new DefaultComponentRegistry();
        List.of("full", "flash", "lsh", "linear").forEach(n -> registry.addProvider(new RenamedProvider(n)));
        assertThatThrownBy(() -> registry.find("flsh")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("unknown component 'flsh'; did you mean: flash, lsh?");
        assertThatThrownBy(() -> registry.create(Component.class, "rotary", Map.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("unknown component 'rotary'; valid names: flash, full, linear, lsh");
    }

    @Test
    void createSuggestsOnlyNamesOfTheAskedType() {
        ComponentRegistry registry = ComponentRegistry.standalone();
        assertThatThrownBy(() -> registry.create(PositionalEncoding.class, "shfit", Map.of()))
                .hasMessage("unknown component 'shfit'; did you mean: shift?");
        assertThatThrownBy(() -> registry.create(DecodingStrategy.class, "shfit", Map.of()))
                .hasMessage("unknown component 'shfit'; valid names: echo");
    }

    @Test
    void createsConfiguredInstancesThroughTheProvider() {
        ComponentRegistry registry = ComponentRegistry.standalone();
        AttentionMechanism attention = registry.create(AttentionMechanism.class, "scaled-value", Map.of("factor", "2.5"));
        assertThat(((ScaledValueAttention) attention).factor()).isEqualTo(2.5f);
        assertThat(registry.create("shift", Map.of())).isInstanceOf(PositionalEncoding.class);
        assertThat(registry.create(DecodingStrategy.class, "echo", Map.of("times", "2"))).isNotNull();
    }

    @Test
    void createReportsWrongKindAndBadOptions() {
        ComponentRegistry registry = ComponentRegistry.standalone();
        assertThatThrownBy(() -> registry.create(AttentionMechanism.class, "shift", Map.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'shift' is a positional component")
                .hasMessageContaining("not a AttentionMechanism");
        assertThatThrownBy(() -> registry.create("scaled-value", Map.of("factr", "2")))
                .isInstanceOf(PropertyException.class).hasMessageContaining("factr")
                .hasMessageContaining("factor, rounding");
        assertThatThrownBy(() -> registry.create("scaled-value", Map.of("factor", "11")))
                .isInstanceOf(PropertyException.class).hasMessageContaining("scaled-value.factor = 11.0");
        assertThatThrownBy(() -> registry.create("echo", Map.of()))
                .isInstanceOf(PropertyException.class).hasMessageContaining("times");
    }

    @Test
    void bindAndUnbindTellListeners() {
        OsgiComponentRegistry registry = new OsgiComponentRegistry();
        Recorder recorder = new Recorder();
        registry.addListener(recorder);
        RenamedProvider full = new RenamedProvider("full");
        RenamedProvider flash = new RenamedProvider("flash");

        registry.bindProvider(full);
        registry.bindProvider(flash);
        assertThat(names(registry.providers())).containsExactly("flash", "full");
        registry.unbindProvider(full);
        assertThat(names(registry.providers())).containsExactly("flash");
        assertThatThrownBy(() -> registry.find("full")).hasMessageContaining("unknown component 'full'");
        registry.unbindProvider(full);
        assertThat(recorder.events).containsExactly("+full", "+flash", "-full");

        registry.removeListener(recorder);
        registry.unbindProvider(flash);
        assertThat(registry.providers()).isEmpty();
        assertThat(recorder.events).containsExactly("+full", "+flash", "-full");
    }

    @Test
    void bindAndUnbindBackends() {
        OsgiComponentRegistry registry = new OsgiComponentRegistry();
        CpuBackend cpu = new CpuBackend();
        registry.bindBackend(cpu);
        assertThat(registry.backends()).containsExactly(cpu);
        registry.unbindBackend(cpu);
        assertThat(registry.backends()).isEmpty();
    }

    @Test
    void duplicateNameKeepsTheFirstAndTheSecondTakesOverWhenTheFirstLeaves() {
        OsgiComponentRegistry registry = new OsgiComponentRegistry();
        Recorder recorder = new Recorder();
        registry.addListener(recorder);
        RenamedProvider first = new RenamedProvider("full");
        RenamedProvider second = new RenamedProvider("full");
        RenamedProvider third = new RenamedProvider("full");
        List<String> warnings = new ArrayList<>();
        Logger logger = Logger.getLogger(DefaultComponentRegistry.class.getName());
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord record) {
                warnings.add(record.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        logger.addHandler(handler);
        try {
            registry.bindProvider(first);
            registry.bindProvider(second);
            registry.bindProvider(third);
        } finally {
            logger.removeHandler(handler);
        }
        assertThat(warnings).hasSize(2).allMatch(w -> w.startsWith("component name 'full' is provided by both"));
        assertThat(registry.find("full")).isSameAs(first);
        assertThat(registry.providers()).hasSize(1);

        registry.unbindProvider(second);
        assertThat(registry.find("full")).isSameAs(first);
        registry.unbindProvider(first);
        assertThat(registry.find("full")).isSameAs(third);
        registry.unbindProvider(third);
        assertThat(registry.providers()).isEmpty();
        assertThat(recorder.events).containsExactly("+full", "-full", "+full", "-full");
    }

    @Test
    void listenersMayCallBackIntoTheRegistry() {
        OsgiComponentRegistry registry = new OsgiComponentRegistry();
        List<ComponentProvider<?>> seen = new ArrayList<>();
        registry.addListener(new RegistryListener() {
            @Override
            public void providerAdded(ComponentDescriptor descriptor) {
                seen.add(registry.find(descriptor.name()));
            }

            @Override
            public void providerRemoved(ComponentDescriptor descriptor) {
                seen.addAll(registry.providers());
            }
        });
        RenamedProvider full = new RenamedProvider("full");
        registry.bindProvider(full);
        registry.unbindProvider(full);
        assertThat(seen).containsExactly(full);
    }

    @Test
    void concurrentBindsAndUnbindsLeaveAConsistentRegistry() throws Exception {
        OsgiComponentRegistry registry = new OsgiComponentRegistry();
        Recorder recorder = new Recorder();
        registry.addListener(recorder);
        int threads = 8;
        int perThread = 100;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(pool.submit(() -> IntStream.range(0, perThread).forEach(i -> {
                    RenamedProvider provider = new RenamedProvider("p" + thread + "-" + i);
                    registry.bindProvider(provider);
                    if (i % 2 == 1) {
                        registry.unbindProvider(provider);
                    }
                    registry.providers();
                })));
            }
            for (Future<?> f : done) {
                f.get(30, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(registry.providers()).hasSize(threads * perThread / 2);
        for (int t = 0; t < threads; t++) {
            for (int i = 0; i < perThread; i++) {
                String name = "p" + t + "-" + i;
                List<String> events = recorder.events.stream().filter(e -> e.substring(1).equals(name)).toList();
                assertThat(events).as(name).isEqualTo(i % 2 == 1 ? List.of("+" + name, "-" + name) : List.of("+" + name));
            }
        }
    }
}
