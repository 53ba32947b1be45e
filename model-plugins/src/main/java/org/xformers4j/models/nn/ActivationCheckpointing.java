package org.xformers4j.models.nn;

import org.xformers4j.nn.MultiHeadAttention;
import org.xformers4j.tensor.ActivationCheckpoint;

/**
 * Which activations of a stack of {@link TransformerBlock}s the backward pass recomputes instead of
 * keeping them from the forward pass: activation (gradient) checkpointing, Chen et al., 2016,
 * "Training Deep Nets with Sublinear Memory Cost", through {@link ActivationCheckpoint}. Every
 * level computes the same loss and the same gradients as {@link #OFF}: the recomputation runs the
 * same operations on the same values in the same order, and draws the residual dropout and
 * stochastic depth masks of the forward pass again (the generators are saved and restored, as
 * PyTorch's {@code preserve_rng_state}). A higher level holds less memory in training for about
 * one more forward pass of compute. Evaluation and decoding with caches run as {@link #OFF}:
 * without recording a graph there is nothing to recompute.
 *
 * <p>The levels follow the checkpoint levels {@code C0}, {@code C1}, {@code C2} of the Linformer
 * reference code (tatp22/linformer-pytorch, {@code checkpoint_level}), with one difference in the
 * unit of {@code C1}:
 * <ul>
 *   <li>{@link #OFF} is {@code C0}: nothing is recomputed.</li>
 *   <li>{@link #BLOCK} corresponds to {@code C1}. linformer-pytorch checkpoints each residual
 *       sublayer (the multi-head attention, the feed-forward) on its own and keeps the input of
 *       each; here the unit is the whole block (with a decoder block's cross-attention), and only
 *       the block's input is kept: one tensor [batch, length, modelDim] per block, where {@code C1}
 *       keeps two, and one block's activations alive while that block's gradient is computed.</li>
 *   <li>{@link #HEAD} is {@code C2}: {@link #BLOCK}, and inside each block the attention mechanism
 *       of every attention sublayer runs one head at a time, each head checkpointed on its own
 *       ({@link MultiHeadAttention} {@code checkpointHeads}), so that while a block's gradient is
 *       computed the mechanism's internals (full attention's [length, length] scores and weights)
 *       exist for one head at a time. The projections, the head split and merge and the
 *       feed-forward are recomputed with the block, as at {@link #BLOCK}.</li>
 * </ul>
 */
public enum ActivationCheckpointing {
    /** Store every activation (Linformer's {@code C0}). */
    OFF,
    /** Recompute each block in backward from its input, the only activation kept (Linformer's {@code C1}, per block). */
    BLOCK,
    /**
     * {@link #BLOCK}, and each attention head recomputed on its own inside the block (Linformer's
     * {@code C2}). Needs attention mechanisms whose heads are independent computations
     * ({@link org.xformers4j.component.attention.AttentionMechanism#headsIndependent()}: {@code
     * full}, {@code flash}, {@code local}, {@code sliding-window} and {@code lsh} without memory
     * key-values), checked when the block is built, and no attention dropout, whose masks are
     * drawn for all heads at once.
     */
    HEAD
}
