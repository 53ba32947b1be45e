package org.xformers4j.positional;

import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.positional.PositionalCapabilities;
import org.xformers4j.component.positional.PositionalEncoding;

/**
 * No position information: every hook of {@link PositionalEncoding} is its no-op default, so the
 * embeddings, queries and keys pass through unchanged and there is no attention bias. Attention
 * is then invariant to the order of the keys; a causal decoder can still infer positions from its
 * mask (Haviv et al., 2022, "Transformer Language Models without Positional Encodings Still Learn
 * Positional Information"), and set-like tasks need no order at all. Nothing is learned and no
 * length is out of range.
 */
@ComponentInfo(name = "none",
        summary = "No position information: embeddings, queries and keys pass through unchanged",
        reference = "Haviv et al., 2022, Transformer Language Models without Positional Encodings Still Learn "
                + "Positional Information")
@PositionalCapabilities(learnable = false, extrapolates = true)
public final class NoPositionalEncoding implements PositionalEncoding {

    /** The encoding; it has no hyperparameters. */
    public NoPositionalEncoding() {
    }

    @Override
    public String toString() {
        return "NoPositionalEncoding()";
    }
}
