package org.xformers4j.models.nn;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.nn.Module;

/**
 * The N {@link TransformerBlock}s of an encoder or decoder, registered under the names 0 … N-1 as
 * {@code torch.nn.ModuleList} does. Each block gets its own attention mechanism instances from the
 * suppliers, as mechanisms may hold per-layer state (LSH rotations, learned parameters), and block
 * l of N gets l/N of the configured stochastic depth rate (Huang et al., 2016, "Deep Networks with
 * Stochastic Depth", §4, linear decay). A pairing problem is reported naming the owner and the block.
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
        Set<AttentionMechanism> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (int l = 0; l < layers; l++) {
            AttentionMechanism mechanism = distinct(owner, mechanisms, seen, l, layers);
            AttentionMechanism cross = crossMechanisms == null ? null
                    : distinct(owner, crossMechanisms, seen, l, layers);
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
