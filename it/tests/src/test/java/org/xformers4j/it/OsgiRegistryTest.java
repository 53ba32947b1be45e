package org.xformers4j.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.osgi.framework.Bundle;
import org.osgi.framework.wiring.BundleWire;
import org.osgi.framework.wiring.BundleWiring;
import org.xformers4j.attention.exact.FlashAttention;
import org.xformers4j.attention.exact.FullAttention;
import org.xformers4j.attention.hashing.LshAttention;
import org.xformers4j.attention.kernel.CosformerAttention;
import org.xformers4j.attention.kernel.HydraAttention;
import org.xformers4j.attention.kernel.LinearAttention;
import org.xformers4j.attention.kernel.PerformerAttention;
import org.xformers4j.attention.kernel.ReluLinearAttention;
import org.xformers4j.attention.kernel.SimaAttention;
import org.xformers4j.attention.local.LocalAttention;
import org.xformers4j.attention.local.SlidingWindowAttention;
import org.xformers4j.attention.local.SwinAttention;
import org.xformers4j.attention.lowrank.LinformerAttention;
import org.xformers4j.attention.lowrank.NystromAttention;
import org.xformers4j.attention.mixing.ConvolutionalModulation;
import org.xformers4j.attention.mixing.CrossCovarianceAttention;
import org.xformers4j.attention.mixing.SwiftFormerAttention;
import org.xformers4j.attention.sparse.BigBirdAttention;
import org.xformers4j.attention.sparse.BlockSparseAttention;
import org.xformers4j.component.Component;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.decoding.BeamSearchDecoding;
import org.xformers4j.decoding.ContrastiveSearchDecoding;
import org.xformers4j.decoding.DiverseBeamSearchDecoding;
import org.xformers4j.decoding.GreedyDecoding;
import org.xformers4j.decoding.SamplingDecoding;
import org.xformers4j.host.OsgiHost;
import org.xformers4j.positional.AlibiPositionalBias;
import org.xformers4j.positional.AxialPositionalEncoding;
import org.xformers4j.positional.DynamicPositionBias;
import org.xformers4j.positional.LearnedPositionalEncoding;
import org.xformers4j.positional.NoPositionalEncoding;
import org.xformers4j.positional.RotaryPositionalEncoding;
import org.xformers4j.positional.SinusoidalPositionalEncoding;
import org.xformers4j.positional.T5RelativePositionBias;
import org.xformers4j.positional.XposPositionalEncoding;
import org.xformers4j.registry.ComponentRegistry;

/**
 * The real bundles in the embedded framework (Felix, and Equinox in a second run:
 * {@link FrameworkUnderTest}): components are found only through the registry service, follow their
 * bundle as it stops and starts, and match the standalone registry.
 *
 * <p>The registry service and its descriptors are the bundles' classes; this class's
 * {@code ComponentRegistry} and {@code ComponentDescriptor} come from the test class path, a
 * different class loader. So the service is reached reflectively ({@link Mirror#call}) and
 * descriptors are compared as class-loader-independent views ({@link Mirror#view}); the listener is
 * a {@link Proxy} of the registry bundle's own {@code RegistryListener} interface.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OsgiRegistryTest {

    private static final String REGISTRY = "(objectClass=org.xformers4j.registry.ComponentRegistry)";
    /** The components the attention bundle publishes. */
    private static final List<Class<? extends Component>> ATTENTION_BUNDLE_COMPONENTS = List.of(
            FullAttention.class, FlashAttention.class, LocalAttention.class, SlidingWindowAttention.class,
            LshAttention.class, SinusoidalPositionalEncoding.class, LearnedPositionalEncoding.class,
            AxialPositionalEncoding.class, NoPositionalEncoding.class, RotaryPositionalEncoding.class,
            XposPositionalEncoding.class, AlibiPositionalBias.class, T5RelativePositionBias.class,
            DynamicPositionBias.class, LinearAttention.class, HydraAttention.class, SimaAttention.class,
            PerformerAttention.class, CosformerAttention.class, ReluLinearAttention.class, NystromAttention.class,
            LinformerAttention.class, SwinAttention.class, BlockSparseAttention.class, BigBirdAttention.class,
            SwiftFormerAttention.class, CrossCovarianceAttention.class, ConvolutionalModulation.class);

    private static final List<Class<? extends Component>> PROJECT_COMPONENTS = Stream.concat(
            ATTENTION_BUNDLE_COMPONENTS.stream(), Stream.of(GreedyDecoding.class, BeamSearchDecoding.class,
                    DiverseBeamSearchDecoding.class, SamplingDecoding.class, ContrastiveSearchDecoding.class)).toList();

    private static List<String> attentionBundleNames(String prefix) {
        return ATTENTION_BUNDLE_COMPONENTS.stream().map(t -> prefix + ComponentDescriptor.of(t).name()).toList();
    }

    private OsgiHost host;
    private Object registry;

    @BeforeAll
    void startFramework() throws Exception {
        host = OsgiHost.start(OsgiHost.defaultBundlesDirectory(), FrameworkUnderTest.get());
        registry = host.waitForService(REGISTRY, Duration.ofSeconds(60));
    }

    @AfterAll
    void stopFramework() {
        if (host != null) {
            host.close();
        }
    }

    /** Name → descriptor view of every provider of an OSGi-side registry, in the registry's order. */
    private static Map<String, Map<String, Object>> descriptors(Object registry) {
        Map<String, Map<String, Object>> out = new LinkedHashMap<>();
        for (Object provider : (List<?>) Mirror.call(registry, "providers")) {
            Map<String, Object> d = Mirror.record(Mirror.call(provider, "descriptor"));
            out.put((String) d.get("name"), d);
        }
        return out;
    }

    @Test
    void everyProjectComponentIsDiscoveredWithTheDescriptorItsClassDeclares() {
        Map<String, Map<String, Object>> osgi = descriptors(registry);
        for (Class<? extends Component> type : PROJECT_COMPONENTS) {
            Map<String, Object> expected = Mirror.record(ComponentDescriptor.of(type));
            assertThat(osgi).as(type.getName()).containsEntry((String) expected.get("name"), expected);
        }
        assertThat(osgi.get("full")).containsEntry("kind", "ATTENTION")
                .containsEntry("implementation", FullAttention.class.getName());
        assertThat(osgi.get("sinusoidal")).containsEntry("kind", "POSITIONAL");
        assertThat(osgi.get("learned")).containsEntry("kind", "POSITIONAL");
        assertThat(osgi.get("greedy")).containsEntry("kind", "DECODING");
        assertThat(capabilities(osgi.get("full"))).containsEntry("causal", true).containsEntry("crossAttention", true)
                .containsEntry("keyPaddingMask", true).containsEntry("additiveBias", true);
        assertThat(capabilities(osgi.get("learned"))).containsEntry("learnable", true).containsEntry("maximumLength", true);
        assertThat(capabilities(osgi.get("sinusoidal"))).containsEntry("learnable", false);
        assertThat(capabilities(osgi.get("greedy"))).containsEntry("stochastic", false);
        assertThat(hyperparameters(osgi.get("learned"))).extracting(h -> h.get("name"), h -> h.get("type"), h -> h.get("defaultValue"))
                .containsExactly(tuple("maxLength", "int", "512"),
                        tuple("initStd", "float", "0.02"));
        assertThat(hyperparameters(osgi.get("sinusoidal"))).extracting(h -> h.get("name")).containsExactly("base");
        assertThat(hyperparameters(osgi.get("full"))).extracting(h -> h.get("name")).contains("scale");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> capabilities(Map<String, Object> descriptor) {
        return (Map<String, Object>) descriptor.get("capabilities");
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> hyperparameters(Map<String, Object> descriptor) {
        return (List<Map<String, Object>>) descriptor.get("hyperparameters");
    }

    @Test
    void providersComeFromTheirBundlesAndTheCpuBackendIsAvailable() {
        Map<String, String> bundleOf = host.serviceReferences("(objectClass=" + ComponentProvider.class.getName() + ")")
                .stream().collect(Collectors.toMap(
                        ref -> (String) Mirror.record(Mirror.call(host.context().getService(ref), "descriptor")).get("name"),
                        ref -> ref.getBundle().getSymbolicName()));
        for (String name : attentionBundleNames("")) {
            assertThat(bundleOf).containsEntry(name, "org.xformers4j.attention");
        }
        assertThat(bundleOf).containsEntry("greedy", "org.xformers4j.models");
        Map<String, Boolean> backends = ((List<?>) Mirror.call(registry, "backends")).stream().collect(Collectors.toMap(
                b -> (String) Mirror.call(b, "name"), b -> (Boolean) Mirror.call(b, "isAvailable")));
        assertThat(backends).containsEntry("cpu", true);
    }

    @Test
    void theBundlesRunInTheFrameworkUnderTest() {
        assertThat(host.context().getBundle(0).getSymbolicName()).isEqualTo(switch (FrameworkUnderTest.get()) {
            case FELIX -> "org.apache.felix.framework";
            case EQUINOX -> "org.eclipse.osgi";
        });
    }

    @Test
    void pluginApiTakesTheVectorApiFromTheSystemBundleWhenTheJvmHasIt() {
        Bundle api = host.bundle("org.xformers4j.plugin.api").orElseThrow();
        List<BundleWire> vector = api.adapt(BundleWiring.class).getRequiredWires("osgi.wiring.package").stream()
                .filter(w -> "jdk.incubator.vector".equals(w.getCapability().getAttributes().get("osgi.wiring.package")))
                .toList();
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
            assertThat(vector).hasSize(1);
            assertThat(vector.get(0).getProvider().getBundle().getBundleId()).isZero();
        } else {
            assertThat(vector).isEmpty();
        }
    }

    @Test
    void stoppingTheAttentionBundleRemovesItsComponentsAndStartingItBringsThemBack() throws Exception {
        Bundle attention = host.bundle("org.xformers4j.attention").orElseThrow();
        Class<?> listenerType = registry.getClass().getClassLoader().loadClass("org.xformers4j.registry.RegistryListener");
        List<String> events = new CopyOnWriteArrayList<>();
        Object listener = Proxy.newProxyInstance(listenerType.getClassLoader(), new Class<?>[] {listenerType},
                (proxy, method, args) -> switch (method.getName()) {
                    case "providerAdded", "providerRemoved" -> {
                        events.add(method.getName() + " " + Mirror.record(args[0]).get("name"));
                        yield null;
                    }
                    case "equals" -> proxy == args[0];
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "toString" -> "test listener";
                    default -> throw new UnsupportedOperationException(method.getName());
                });
        Mirror.call(registry, "addListener", listener);
        try {
            attention.stop();
            assertThat(descriptors(registry).keySet()).doesNotContainAnyElementsOf(attentionBundleNames(""))
                    .contains("greedy");
            assertThat(events).containsExactlyInAnyOrderElementsOf(attentionBundleNames("providerRemoved "));

            events.clear();
            attention.start();
            assertThat(descriptors(registry).keySet()).containsAll(attentionBundleNames("")).contains("greedy");
            assertThat(events).containsExactlyInAnyOrderElementsOf(attentionBundleNames("providerAdded "));
        } finally {
            Mirror.call(registry, "removeListener", listener);
            if (attention.getState() != Bundle.ACTIVE) {
                attention.start();
            }
        }
        events.clear();
        attention.stop();
        attention.start();
        assertThat(events).as("a removed listener hears nothing").isEmpty();
    }

    @Test
    void theStandaloneRegistryOnThePlainClassPathHasTheSameComponentsAndBackends() {
        ComponentRegistry standalone = ComponentRegistry.standalone();
        Map<String, Object> plain = new LinkedHashMap<>();
        for (ComponentProvider<?> provider : standalone.providers()) {
            plain.put(provider.descriptor().name(), Mirror.view(provider.descriptor()));
        }
        assertThat(plain.keySet()).containsAll(PROJECT_COMPONENTS.stream()
                .map(t -> ComponentDescriptor.of(t).name()).toList());
        assertThat(plain).containsExactlyEntriesOf(descriptors(registry));
        assertThat(standalone.backends().stream().map(ComputeBackend::name).toList())
                .isEqualTo(((List<?>) Mirror.call(registry, "backends")).stream().map(b -> Mirror.call(b, "name")).toList());
    }
}
