package org.xformers4j.attention.sparse;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.nio.file.Path;
import java.util.random.RandomGenerator;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.attention.AttentionCapabilities;

/**
 * Block-sparse attention (Child et al., 2019, "Generating Long Sequences with Sparse Transformers";
 * DeepSpeed's block-sparse attention, Microsoft, 2020): softmax attention in which each block of
 * {@code blockSize} queries sees only the key blocks of a layout ({@link LayoutAttention}), on the
 * fused kernel that visits only those blocks. The layout is a named pattern or a file:
 * <ul>
 *   <li>{@code FIXED} (Child et al., §4.2): windows of {@code localBlocks} blocks, each block seeing
 *       its window, plus the last {@code globalBlocks} blocks of every window seen by all; with
 *       {@code globalPatterns} above 1, head h takes the (h mod globalPatterns)-th group of blocks
 *       from the end of each window instead (DeepSpeed's {@code num_different_global_patterns}).</li>
 *   <li>{@code STRIDED} (Child et al., §4.2, both heads' sets merged): the {@code localBlocks} − 1
 *       blocks on each side and every block a multiple of {@code localBlocks} away.</li>
 *   <li>{@code BIGBIRD} (Zaheer et al., 2020): a window of {@code windowBlocks} blocks, the first
 *       {@code globalBlocks} blocks global both ways, and {@code randomBlocks} random blocks per row
 *       and head, drawn from {@code seed} and the layer index (as {@code bigbird}).</li>
 *   <li>{@code LONGFORMER} (Beltagy et al., 2020, with blocks): the window and the global blocks.</li>
 *   <li>{@code RANDOM}: each block its own and random others, {@code density} of the blocks it may
 *       see, per head (for measuring the kernel against the density).</li>
 *   <li>{@code FILE}: the layout of {@code layoutFile} ({@link LayoutFile}: a header
 *       {@code layout HEADS BLOCKS}, then one line of '0'/'1' per query block and head), checked
 *       when the mechanism is configured.</li>
 * </ul>
 * Patterns are bidirectional; with a causal context every block after a query block's own is
 * dropped. The default blocks of 2 positions make the pattern sparse even on the conformance
 * suite's 8 positions; long sequences want blocks of 32 to 128 (the kernel's tiles are 64 queries
 * by 128 keys, and blocks below 8 waste part of each tile). Self-attention only. FLOPs: those of the
 * non-empty blocks ({@link LayoutAttention}).
 */
@ComponentInfo(name = "block-sparse",
        summary = "Softmax attention over the non-empty blocks of a fixed, strided, BigBird, Longformer, random "
                + "or file layout, on a fused kernel that visits only those blocks",
        reference = "Child et al., 2019, Generating Long Sequences with Sparse Transformers")
@AttentionCapabilities(causal = true, crossAttention = false, keyPaddingMask = true, additiveBias = true,
        incrementalDecoding = false, exact = false, exactWhen = "localBlocks=1000000",
        time = "O(nonEmptyBlocks*blockSize^2)", memory = "O(N)", linearMemory = true)
public final class BlockSparseAttention extends LayoutAttention {

    /** The layouts {@code block-sparse} can build. */
    public enum Pattern {
        /** Local windows and their last blocks as global summaries (Child et al., 2019, fixed). */
        FIXED,
        /** A local band and every stride-th block (Child et al., 2019, strided). */
        STRIDED,
        /** Window, global and random blocks (Zaheer et al., 2020). */
        BIGBIRD,
        /** Window and global blocks (Beltagy et al., 2020). */
        LONGFORMER,
        /** Random blocks of a given density. */
        RANDOM,
        /** Read from {@code layoutFile}. */
        FILE
    }

    @Config(description = "Positions per block (the last block of a sequence may be shorter).")
    @Range(min = 1)
    private int blockSize = 2;

    @Config(description = "The layout: FIXED, STRIDED, BIGBIRD, LONGFORMER, RANDOM or FILE (layoutFile).")
    private Pattern pattern = Pattern.FIXED;

    @Config(description = "FIXED: blocks per local window; STRIDED: the local band and the stride, in blocks.")
    @Range(min = 1)
    private int localBlocks = 2;

    @Config(description = "FIXED: summary blocks at the end of each window (dividing localBlocks); BIGBIRD, "
            + "LONGFORMER: leading blocks that see and are seen by every block.")
    @Range(min = 0)
    private int globalBlocks = 1;

    @Config(description = "FIXED: different summary-block groups across heads (at most localBlocks / globalBlocks).")
    @Range(min = 1)
    private int globalPatterns = 1;

    @Config(description = "BIGBIRD, LONGFORMER: blocks of the sliding window centred on each block.")
    @Range(min = 1)
    private int windowBlocks = 3;

    @Config(description = "BIGBIRD: random key blocks per query block and head.")
    @Range(min = 0)
    private int randomBlocks = 1;

    @Config(description = "RANDOM: fraction of the blocks each query block sees (its own always).")
    @Range(min = 0, minInclusive = false, max = 1)
    private double density = 0.25;

    @Config(description = "Seed of the random blocks (BIGBIRD, RANDOM), mixed with the layer index.")
    private long seed = 20190423L;

    @Config(description = "FILE: a text file: a line 'layout HEADS BLOCKS' (HEADS 1 or the model's), then for each "
            + "head BLOCKS lines of BLOCKS characters 0 or 1 (query block by key block); '#' starts a comment line.")
    private String layoutFile = "";

    private LayoutFile file;

    /** For OLCUT. */
    private BlockSparseAttention() {
    }

    /** A {@code pattern} layout of blocks of {@code blockSize}, other options at their defaults, scale 1/sqrt(headDim). */
    public BlockSparseAttention(int blockSize, Pattern pattern) {
        this.blockSize = blockSize;
        this.pattern = pattern;
        postConfig();
    }

    @Override
    public void postConfig() {
        super.postConfig();
        String name = name();
        if (pattern == Pattern.FIXED && globalBlocks > 0 && localBlocks % globalBlocks != 0) {
            throw new PropertyException(name, "globalBlocks", name + ".globalBlocks = " + globalBlocks
                    + " must divide localBlocks = " + localBlocks + " for the FIXED pattern");
        }
        if (pattern == Pattern.FIXED && globalPatterns > 1 && globalPatterns > localBlocks / Math.max(1, globalBlocks)) {
            throw new PropertyException(name, "globalPatterns", name + ".globalPatterns = " + globalPatterns
                    + " exceeds localBlocks / globalBlocks = " + localBlocks / Math.max(1, globalBlocks));
        }
        if (pattern == Pattern.FILE) {
            if (layoutFile.isBlank()) {
                throw new PropertyException(name, "layoutFile", name + ".pattern = FILE needs a layoutFile");
            }
            try {
                file = LayoutFile.read(Path.of(layoutFile));
            } catch (IllegalArgumentException e) {
                throw new PropertyException(e, name, "layoutFile", e.getMessage());
            }
        } else if (!layoutFile.isBlank()) {
            throw new PropertyException(name, "layoutFile", name + ".layoutFile is read with pattern = FILE only, got "
                    + "pattern = " + pattern);
        }
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    public Pattern pattern() {
        return pattern;
    }

    @Override
    boolean sharedByHeads() {
        return switch (pattern) {
            case FIXED -> globalPatterns == 1;
            case STRIDED, LONGFORMER -> true;
            case BIGBIRD, RANDOM -> false;
            case FILE -> file.heads == 1;
        };
    }

    @Override
    long seed() {
        return seed;
    }

    @Override
    void checkFits(int heads, int n) {
        if (pattern == Pattern.FILE) {
            try {
                file.checkFits(heads, n, blockSize);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(name() + ": " + layoutFile + ": " + e.getMessage(), e);
            }
        }
    }

    @Override
    void addRow(BlockRows rows, int h, int n, boolean causal, RandomGenerator rng) {
        switch (pattern) {
            case FIXED -> BlockPatterns.fixed(rows, h, n, localBlocks, globalBlocks, globalPatterns);
            case STRIDED -> BlockPatterns.strided(rows, n, localBlocks);
            case BIGBIRD -> BlockPatterns.bigBird(rows, n, windowBlocks, globalBlocks, randomBlocks, causal, rng);
            case LONGFORMER -> BlockPatterns.longformer(rows, n, windowBlocks, globalBlocks);
            case RANDOM -> BlockPatterns.random(rows, n, density, causal, rng);
            case FILE -> file.addRow(rows, h, n);
        }
    }

    @Override
    public String toString() {
        return "BlockSparseAttention(blockSize=" + blockSize + ", pattern=" + pattern + ", scale="
                + (scale() == 0f ? "1/sqrt(headDim)" : scale()) + ")";
    }
}
