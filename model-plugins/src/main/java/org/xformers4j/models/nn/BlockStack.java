package org.xformers4j.models.nn;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.attention.StackAware;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.nn.Module;
import org.xformers4j.nn.SharedParameters;

/**
 * The N {@link TransformerBlock}s of an encoder or decoder, registered under the names 0 … N-1 as
 * {@code torch.nn.ModuleList} does. Each block gets its own attention mechanism instances from the
 * suppliers, as mechanisms may hold per-layer state (LSH rotations, learned parameters), and block
 * l of N gets l/N of the configured stochastic depth rate (Huang et al., 2016, "Deep Networks with
 * Stochastic Depth", §4, linear decay). A pairing problem is reported naming the owner and the block.
 *
 * <p>Parameters shared across layers: the stack makes one {@link SharedParameters} store for its
 * self-attention mechanisms, registered as {@code attentionShared}, and, when the blocks have
 * cross-attention, another for the cross-attention mechanisms, {@code crossAttentionShared} (the two
 * attend over different sequences, so they share nothing with each other). Each mechanism that is
 * {@link StackAware} is placed at its block's index with its role's store before its block
 * initialises it, so that, for example, Linformer's LAYERWISE projection is one parameter of the
 * stack ({@code blocks.attentionShared.linformerProjection}), listed, saved and updated once, with the
 * gradient of every block. A store nobody asks for holds nothing and adds no parameter name.
 */
final class BlockStack extends Module {

    private final TransformerBlock[] blocks;

    /**
     * @param owner            the model's name, for error messages
     * @param block            every block's architecture
     * @param layers           number of blocks
     * @param mechanisms       a new, distinct self-attention mechanism on every call
     * @param crossMechanisms  a new, distinct cross-attention mechanism on every call, or null for blocks without one
     * @param positional       the initialised positional encoding shared by every block, or null
     * @param rng              seeded generator for every weight
     */
    BlockStack(String owner, BlockConfig block, int layers, Supplier<? extends AttentionMechanism> mechanisms,
               Supplier<? extends AttentionMechanism> crossMechanisms, PositionalEncoding positional,
               RandomGenerator rng) {
        this.blocks = new TransformerBlock[layers];
        SharedParameters shared = registerModule("attentionShared", new SharedParameters());
        SharedParameters crossShared = crossMechanisms == null ? null
                : registerModule("crossAttentionShared", new SharedParameters());
        Set<AttentionMechanism> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (int l = 0; l < layers; l++) {
            AttentionMechanism mechanism = place(distinct(owner, mechanisms, seen, l, layers), l, layers, shared);
            AttentionMechanism cross = crossMechanisms == null ? null
                    : place(distinct(owner, crossMechanisms, seen, l, layers), l, layers, crossShared);
            float dropPath = block.dropPath() * (l + 1) / layers;
            try {
                blocks[l] = registerModule(Integer.toString(l),
                        new TransformerBlock(block.withDropPath(dropPath), mechanism, cross, positional, rng));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(owner + ": block " + l + ": " + e.getMessage(), e);
            }
        }
    }

    private static AttentionMechanism distinct(String owner, Supplier<? extends AttentionMechanism> mechanisms,
                                               Set<AttentionMechanism> seen, int block, int layers) {
        AttentionMechanism mechanism = mechanisms.get();
        if (mechanism == null || !seen.add(mechanism)) {
            throw new IllegalArgumentException(owner + ": the mechanisms supplier must return a new attention "
                    + "mechanism for each of the " + layers + " blocks, got "
                    + (mechanism == null ? "null" : "the same instance again") + " for block " + block);
        }
        return mechanism;
    }

    /** {@code mechanism}, told its place when it is {@link StackAware}. */
    private static AttentionMechanism place(AttentionMechanism mechanism, int layer, int layers,
                                            SharedParameters shared) {
        if (mechanism instanceof StackAware member) {
            member.placeInStack(layer, layers, shared);
        }
        return mechanism;
    }

    /** Block {@code index}, 0-based. */
    TransformerBlock get(int index) {
        return blocks[index];
    }

    /** The blocks in order; the array is a copy. */
    TransformerBlock[] all() {
        return blocks.clone();
    }

    int size() {
        return blocks.length;
    }
}
