package org.xformers4j.component.conformance;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.ComponentKind;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.attention.KernelFeatureMap;
import org.xformers4j.nn.Module;

/**
 * The attention component under test: its provider, name and capabilities, and fresh instances
 * configured and initialised the same way every time, so that two of them compute the same thing.
 */
final class Subject {

    /** Seed of the generator each instance is initialised with (its parameters, hashing rotations). */
    private static final long INITIALIZATION_SEED = 20240611L;

    private final ComponentProvider<?> provider;
    private final AttentionCapabilities capabilities;

    Subject(ComponentProvider<?> provider) {
        ComponentDescriptor descriptor = provider.descriptor();
        if (descriptor.kind() != ComponentKind.ATTENTION) {
            throw new IllegalArgumentException("the attention conformance suite checks attention components; '"
                    + descriptor.name() + "' is a " + descriptor.kind().label() + " component");
        }
        this.provider = provider;
        this.capabilities = descriptor.capabilities(AttentionCapabilities.class);
    }

    String name() {
        return provider.descriptor().name();
    }

    AttentionCapabilities capabilities() {
        return capabilities;
    }

    /** The mechanism with its default hyperparameters, initialised for {@code heads} heads of size {@code headDim}. */
    AttentionMechanism create(int heads, int headDim) {
        return create(Map.of(), heads, headDim);
    }

    /**
     * The mechanism configured from {@code options}, initialised for {@code heads} heads of size
     * {@code headDim} and values of the problems' size {@link Problem#VALUE_DIM}.
     */
    AttentionMechanism create(Map<String, String> options, int heads, int headDim) {
        return create(options, heads, headDim, Problem.VALUE_DIM);
    }

    /**
     * The mechanism configured from {@code options}, initialised for {@code heads} heads of size
     * {@code headDim} and values of size {@code valueDim}.
     */
    AttentionMechanism create(Map<String, String> options, int heads, int headDim, int valueDim) {
        AttentionMechanism mechanism = configure(options);
        mechanism.initialize(heads, headDim, valueDim, new SplittableRandom(INITIALIZATION_SEED));
        return mechanism;
    }

    /** The mechanism configured from {@code options}, not yet initialised (for a multi-head layer to initialise). */
    AttentionMechanism configure(Map<String, String> options) {
        return (AttentionMechanism) provider.create(options);
    }

    /** Whether the mechanism with its default hyperparameters is a {@link Module} with parameters. */
    boolean hasParameters() {
        return create(Problem.HEADS, Problem.HEAD_DIM) instanceof Module m && !m.parameters().isEmpty();
    }

    /**
     * The feature map of the mechanism with its default hyperparameters, initialised, when it is a
     * kernel attention that declares one ({@link KernelFeatureMap}); empty otherwise.
     */
    Optional<KernelFeatureMap> featureMap() {
        return create(Problem.HEADS, Problem.HEAD_DIM) instanceof KernelFeatureMap map
                ? Optional.of(map) : Optional.empty();
    }

    /**
     * The options under which the mechanism computes exact softmax attention: none when it is
     * {@link AttentionCapabilities#exact() exact}, its {@link AttentionCapabilities#exactWhen()}
     * otherwise; empty when it has no exact configuration.
     *
     * @throws IllegalArgumentException for an {@code exactWhen} entry that is not {@code name=value}
     */
    Optional<Map<String, String>> exactOptions() {
        if (capabilities.exact()) {
            return Optional.of(Map.of());
        }
        if (capabilities.exactWhen().length == 0) {
            return Optional.empty();
        }
        Map<String, String> options = new LinkedHashMap<>();
        for (String entry : capabilities.exactWhen()) {
            putOption(options, entry, "exactWhen");
        }
        return Optional.of(options);
    }

    /**
     * The settings of {@link AttentionCapabilities#convergesWith()}, in order, each as options.
     *
     * @throws IllegalArgumentException for an entry that is not comma-separated {@code name=value} pairs
     */
    List<Map<String, String>> convergenceSettings() {
        List<Map<String, String>> settings = new ArrayList<>();
        for (String entry : capabilities.convergesWith()) {
            Map<String, String> options = new LinkedHashMap<>();
            for (String pair : entry.split(",")) {
                putOption(options, pair, "convergesWith");
            }
            settings.add(options);
        }
        return settings;
    }

    /** Whether the mechanism has a {@code seed} hyperparameter (random features, hashing rotations). */
    boolean hasSeed() {
        return provider.descriptor().hyperparameter("seed").isPresent();
    }

    /** Puts {@code name=value} into {@code options}; {@code member} names the capability it came from. */
    private void putOption(Map<String, String> options, String entry, String member) {
        int eq = entry.indexOf('=');
        if (eq <= 0 || entry.substring(0, eq).isBlank()) {
            throw new IllegalArgumentException(name() + ": @AttentionCapabilities " + member + " entry '" + entry
                    + "' is not name=value");
        }
        options.put(entry.substring(0, eq).trim(), entry.substring(eq + 1).trim());
    }
}
