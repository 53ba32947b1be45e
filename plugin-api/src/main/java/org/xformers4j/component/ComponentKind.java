package org.xformers4j.component;

import java.util.Locale;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.decoding.DecodingStrategy;
import org.xformers4j.component.positional.PositionalEncoding;

/** The three kinds of pluggable component, each with the interface its implementations provide. */
public enum ComponentKind {
    /** Computes attention over per-head queries, keys and values. */
    ATTENTION(AttentionMechanism.class),
    /** Injects position information into embeddings, queries and keys, or attention scores. */
    POSITIONAL(PositionalEncoding.class),
    /** Chooses tokens step by step from a language model's next-token logits. */
    DECODING(DecodingStrategy.class);

    private final Class<? extends Component> type;

    ComponentKind(Class<? extends Component> type) {
        this.type = type;
    }

    /** The interface components of this kind implement. */
    public Class<? extends Component> type() {
        return type;
    }

    /** The kind's stable lower-case name: {@code attention}, {@code positional}, {@code decoding}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The kind whose interface {@code implementation} implements. */
    public static ComponentKind of(Class<?> implementation) {
        for (ComponentKind kind : values()) {
            if (kind.type.isAssignableFrom(implementation)) {
                return kind;
            }
        }
        throw new IllegalArgumentException(implementation.getName() + " implements none of "
                + ATTENTION.type.getSimpleName() + ", " + POSITIONAL.type.getSimpleName() + ", "
                + DECODING.type.getSimpleName());
    }

    /** The kind called {@code label} (case-insensitive). */
    public static ComponentKind fromLabel(String label) {
        for (ComponentKind kind : values()) {
            if (kind.label().equalsIgnoreCase(label)) {
                return kind;
            }
        }
        throw new IllegalArgumentException("unknown component kind '" + label + "'; kinds: attention, positional, decoding");
    }
}
