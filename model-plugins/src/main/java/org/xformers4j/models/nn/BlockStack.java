package org.xformers4j.models.nn;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.attention.StackAware;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.nn.Module;
import org.xformers4j.nn.SharedParameters;
import org.xformers4j.tensor.ActivationCheckpoint;
import org.xformers4j.tensor.ReplayableState;
import org.xformers4j.tensor.Tensor;

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
 *
 * <p>Activation checkpointing ({@link BlockConfig#checkpointing()}, {@link ActivationCheckpointing}):
 * {@link #forward} runs a block under {@link ActivationCheckpoint} at {@link
 * ActivationCheckpointing#BLOCK} and {@link ActivationCheckpointing#HEAD}, keeping the block's input,
 * the memory it attends to and any bias, and recomputing the block in backward with the generators
 * of its dropout and stochastic depth, and those of the attention contexts, set back to where the
 * forward pass found them.
 */
final class BlockStack extends Module {

    private final TransformerBlock[] blocks;
    private final SharedParameters shared;
    private final SharedParameters crossShared;

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
        this.shared = registerModule("attentionShared", new SharedParameters());
        this.crossShared = crossMechanisms == null ? null
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

    /**
     * Block {@code index} over {@code x} without a cache, recomputed in the backward pass when the
     * blocks' {@link BlockConfig#checkpointing()} is not {@link ActivationCheckpointing#OFF} (and a
     * graph is recorded); see {@link TransformerBlock#forward(Tensor, AttentionContext, org.xformers4j.nn.KvCache,
     * TransformerBlock.Memory)}.
     */
    Tensor forward(int index, Tensor x, AttentionContext context, TransformerBlock.Memory memory) {
        TransformerBlock block = blocks[index];
        if (block.config().checkpointing() == ActivationCheckpointing.OFF) {
            return block.forward(x, context, null, memory);
        }
        List<ReplayableState> states = new ArrayList<>(block.replayableStates());
        addGenerator(states, block, context, "the attention context");
        List<Tensor> parameters = new ArrayList<>(block.parameters());
        parameters.addAll(shared.parameters());
        if (crossShared != null) {
            parameters.addAll(crossShared.parameters());
        }
        // what the block reads that a graph may lead to: x, the memory's states, the biases
        List<Tensor> inputs = new ArrayList<>(List.of(x));
        int bias = context.bias() == null ? -1 : add(inputs, context.bias());
        int memoryStates = memory == null ? -1 : add(inputs, memory.states());
        int memoryBias = memory == null || memory.context().bias() == null ? -1 : add(inputs, memory.context().bias());
        if (memory != null) {
            addGenerator(states, block, memory.context(), "the memory's attention context");
        }
        return ActivationCheckpoint.apply(in -> block.forward(in[0],
                        bias < 0 ? context : context.toBuilder().bias(in[bias]).build(), null,
                        memory == null ? null : new TransformerBlock.Memory(in[memoryStates], memoryBias < 0
                                ? memory.context() : memory.context().toBuilder().bias(in[memoryBias]).build())),
                parameters, states, inputs.toArray(new Tensor[0]));
    }

    private static int add(List<Tensor> inputs, Tensor t) {
        inputs.add(t);
        return inputs.size() - 1;
    }

    /**
     * Lists the generator of {@code context} when its attention dropout draws in training; one that
     * cannot be set back would draw other masks in the recomputation, so it is refused.
     */
    private static void addGenerator(List<ReplayableState> states, TransformerBlock block, AttentionContext context,
                                     String what) {
        if (context.dropout() == 0f || !block.isTraining()) {
            return;
        }
        if (!(context.rng() instanceof ReplayableState generator)) {
            throw new IllegalArgumentException("BlockStack: activation checkpointing recomputes the blocks in backward, "
                    + "so " + what + "'s attention dropout must draw from a generator that can be set back (a "
                    + "ReplayableRandom), got " + context.rng());
        }
        states.add(generator);
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
