package org.xformers4j.component.conformance;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.ComponentKind;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.decoding.DecodingCapabilities;
import org.xformers4j.component.decoding.DecodingStrategy;

/** The decoding strategy under test: its provider, name and capabilities, and fresh instances. */
final class DecodingSubject {

    private final ComponentProvider<?> provider;
    private final DecodingCapabilities capabilities;

    /** @throws IllegalArgumentException if {@code provider} is not a decoding component */
    DecodingSubject(ComponentProvider<?> provider) {
        ComponentDescriptor descriptor = provider.descriptor();
        if (descriptor.kind() != ComponentKind.DECODING) {
            throw new IllegalArgumentException("the decoding conformance suite checks decoding strategies; '"
                    + descriptor.name() + "' is a component of kind " + descriptor.kind().label());
        }
        this.provider = provider;
        this.capabilities = descriptor.capabilities(DecodingCapabilities.class);
    }

    String name() {
        return provider.descriptor().name();
    }

    DecodingCapabilities capabilities() {
        return capabilities;
    }

    /**
     * A fresh strategy configured with {@code options} over its defaults.
     *
     * @throws IllegalArgumentException naming the component and options, in one line, if the
     *                                  strategy cannot be configured so
     */
    DecodingStrategy create(Map<String, String> options) {
        try {
            return (DecodingStrategy) provider.create(options);
        } catch (PropertyException e) {
            throw new IllegalArgumentException("cannot configure " + name() + " with "
                    + (options.isEmpty() ? "its defaults" : options) + ": " + e.getMessage().lines().findFirst()
                    .orElse(""), e);
        }
    }

    /**
     * The options under which the strategy is greedy decoding: none when it is neither stochastic
     * nor keeps several hypotheses and declares no {@link DecodingCapabilities#greedyWhen()}, those
     * otherwise; empty when it has no greedy configuration.
     *
     * @throws IllegalArgumentException for a {@code greedyWhen} entry that is not {@code name=value}
     */
    Optional<Map<String, String>> greedyOptions() {
        if (capabilities.greedyWhen().length == 0) {
            return capabilities.stochastic() || capabilities.multipleHypotheses() ? Optional.empty()
                    : Optional.of(Map.of());
        }
        Map<String, String> options = new LinkedHashMap<>();
        for (String entry : capabilities.greedyWhen()) {
            int eq = entry.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException(name() + ": @DecodingCapabilities greedyWhen entry '" + entry
                        + "' is not name=value");
            }
            options.put(entry.substring(0, eq).trim(), entry.substring(eq + 1).trim());
        }
        return Optional.of(options);
    }
}
