package org.xformers4j.attention.sparse;

import com.oracle.labs.mlrg.olcut.config.Config;
import java.util.random.RandomGenerator;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.attention.AttentionCapabilities;

/**
 * BigBird attention (Zaheer et al., 2020, "Big Bird: Transformers for Longer Sequences", §2 and
 * appendix D, the ITC variant): each block of {@code blockSize} queries sees a sliding window of
 * {@code windowBlocks} key blocks centred on its own, the first {@code globalBlocks} blocks (global
 * tokens: they also see every block), and {@code randomBlocks} key blocks drawn at random per query
 * block and head (DeepSpeed's {@code BigBirdSparsityConfig}: drawn among all blocks, or the blocks
 * up to its own under a causal context). The random blocks are drawn once per layer, from
 * {@code seed} mixed with the layer's index in its stack ({@link org.xformers4j.component.attention.StackAware}):
 * every call of a layer uses the same layout, and layers differ. It runs on the block-sparse kernel
 * of {@code block-sparse} ({@link LayoutAttention}): time O(N · (window + global + random) · b · d).
 * The default blocks of 1 position keep the pattern sparse on the conformance suite's 8 positions;
 * the paper uses blocks of 64. FLOPs: those of the non-empty blocks.
 */
@ComponentInfo(name = "bigbird",
        summary = "Sliding-window, global and random blocks of softmax attention, random blocks fixed per layer",
        reference = "Zaheer et al., 2020, Big Bird: Transformers for Longer Sequences")
@AttentionCapabilities(causal = true, crossAttention = false, keyPaddingMask = true, additiveBias = true,
        incrementalDecoding = false, exact = false, exactWhen = "windowBlocks=2000001",
        time = "O(N*(window+global+random)*blockSize)", memory = "O(N)", linearMemory = true)
public final class BigBirdAttention extends LayoutAttention {

    @Config(description = "Positions per block (the last block of a sequence may be shorter).")
    @Range(min = 1)
    private int blockSize = 1;

    @Config(description = "Blocks of the sliding window centred on each block (3 in the paper).")
    @Range(min = 1)
    private int windowBlocks = 3;

    @Config(description = "Leading blocks that see and are seen by every block (global tokens).")
    @Range(min = 0)
    private int globalBlocks = 1;

    @Config(description = "Random key blocks per query block and head.")
    @Range(min = 0)
    private int randomBlocks = 1;

    @Config(description = "Seed of the random blocks, mixed with the layer index.")
    private long seed = 20200728L;

    /** For OLCUT. */
    private BigBirdAttention() {
    }

    /** BigBird with the given blocks, scale 1/sqrt(headDim). */
    public BigBirdAttention(int blockSize, int windowBlocks, int globalBlocks, int randomBlocks, long seed) {
        this.blockSize = blockSize;
        this.windowBlocks = windowBlocks;
        this.globalBlocks = globalBlocks;
        this.randomBlocks = randomBlocks;
        this.seed = seed;
        postConfig();
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    boolean sharedByHeads() {
        return randomBlocks == 0;
    }

    @Override
    long seed() {
        return seed;
    }

    @Override
    void addRow(BlockRows rows, int h, int n, boolean causal, RandomGenerator rng) {
        BlockPatterns.bigBird(rows, n, windowBlocks, globalBlocks, randomBlocks, causal, rng);
    }

    @Override
    public String toString() {
        return "BigBirdAttention(blockSize=" + blockSize + ", windowBlocks=" + windowBlocks + ", globalBlocks="
                + globalBlocks + ", randomBlocks=" + randomBlocks + ", seed=" + seed + ")";
    }
}
