package org.xformers4j.component;

import com.oracle.labs.mlrg.olcut.config.Configurable;
import java.util.List;

/**
 * What {@code xformers4j describe} shows about a configurable class that is not a registry component
 * (a trainer, an input encoder, an output head, the architecture, the training settings): its role,
 * a one-line summary and its {@code @Config} fields, derived from the class as a component's
 * hyperparameters are.
 *
 * @param name            the class's simple name, as a user names it to {@code describe}
 * @param role            what it is in a configuration, e.g. {@code trainer}, {@code input encoder}
 * @param summary         one line
 * @param implementation  fully qualified class name
 * @param hyperparameters its {@code @Config} fields in declaration order (superclass fields first), with
 *                        the defaults of a fresh instance
 */
public record ConfigurableDescriptor(String name, String role, String summary, String implementation,
                                     List<Hyperparameter> hyperparameters) {

    public ConfigurableDescriptor {
        hyperparameters = List.copyOf(hyperparameters);
    }

    /**
     * Derives the descriptor of {@code type}, which OLCUT creates through its no-argument constructor.
     *
     * @throws IllegalArgumentException naming the class if it has no such constructor
     */
    public static ConfigurableDescriptor of(Class<? extends Configurable> type, String role, String summary) {
        return new ConfigurableDescriptor(type.getSimpleName(), role, summary, type.getName(),
                Hyperparameters.describe(type));
    }
}
