package org.xformers4j.attention.local;

import com.oracle.labs.mlrg.olcut.config.Config;
import java.util.BitSet;
import java.util.random.RandomGenerator;
import org.xformers4j.attention.exact.FullAttention;
import org.xformers4j.attention.exact.SoftmaxAttention;
import org.xformers4j.attention.internal.AttentionInputs;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionContext.Grid;
import org.xformers4j.component.attention.AttentionPattern;
import org.xformers4j.component.attention.PatternedAttention;
import org.xformers4j.component.attention.StackAware;
import org.xformers4j.component.attention.WeightedAttention;
import org.xformers4j.nn.SharedParameters;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.Tensor;

/**
 * Shifted-window attention of the Swin Transformer (Liu et al., 2021, "Swin Transformer:
 * Hierarchical Vision Transformer using Shifted Windows", §3.2): softmax attention within
 * non-overlapping M×M windows of the image-patch grid, the windows of alternate blocks shifted by
 * ⌊M/2⌋ cells so that information crosses the window borders, with the authors' cyclic shift and
 * attention mask (the layout is {@link SwinWindows}'). Optionally each head adds a learned relative
 * position bias B̂ of (2M−1)² entries, indexed by the offset of query and key in the window (§3.2,
 * "Relative position bias"; eq. 4):
 * <pre>
 *   Attention(Q, K, V) = SoftMax(Q Kᵀ · scale + B) V      within each window
 * </pre>
 *
 * <p><b>The grid.</b> The tokens' layout is the context's {@link AttentionContext#grid() grid},
 * which an image-patch encoder sets; without one the mechanism refuses the call. A grid side that M
 * does not divide is padded to a multiple of M, and a side not longer than M is one window that is
 * not shifted, as torchvision's {@code shifted_window_attention}; padded cells hold no token and take
 * no weight (torchvision attends to its zero-padded tokens through the projection biases; here the
 * result does not depend on the padding). Tokens off the grid (a CLS or register token before it,
 * tokens after it) are global: every query sees them and they see every token, so a classifier's
 * CLS token gathers the whole image. The relative bias is added to window pairs only, never to a
 * pair with a global token.
 *
 * <p><b>Shifts</b> ({@link Shift}): by default a mechanism placed in a stack ({@link StackAware})
 * shifts its windows on the odd layers, as the paper alternates W-MSA and SW-MSA blocks; a
 * mechanism used on its own is layer 0 and not shifted.
 *
 * <p><b>Computation.</b> The queries are gathered window by window into [B, H, windows, M², D], the
 * keys and values of each window (its M² cells and the global tokens) into [B, H, windows, M² + G,
 * D], and each window attends with one batched product, the region mask, padded cells and key
 * padding added as -∞, the relative bias and the gathered band of the context's bias added to the
 * scores; the G global queries attend to all keys as {@link FullAttention}. Time and memory
 * O(N·(M² + G)), never N². Autograd differentiates through the gathers. The authors add -100 to
 * the scores of masked pairs; here they are -∞ and take exactly no weight.
 *
 * <p>Key padding, an additive bias (its window band is read and receives a gradient) and attention
 * dropout apply as in {@link FullAttention}; a query whose visible keys are all masked outputs
 * zeros. A causal context is refused (the windows of an image have no order), and so are fewer
 * queries than keys (the windows partition one sequence) and memory key/values. The exact pairs
 * and biases are {@link #pattern}.
 *
 * <p><b>FLOPs</b> ({@link SoftmaxAttention}): the scores of each query against its window,
 * counted for N tokens on a grid whose sides M divides: N·min(M², N) scores per batch element and
 * head, forward {@code 2·B·H·N·min(M², N)·(D + Dv)}, backward twice that (the count has no grid:
 * padding and global tokens add to the work a real grid takes).
 */
@ComponentInfo(name = "swin",
        summary = "Swin Transformer: softmax attention within (shifted) M x M windows of the image-patch grid, "
                + "with a learned relative position bias per window offset",
        reference = "Liu et al., 2021, Swin Transformer: Hierarchical Vision Transformer using Shifted Windows")
@AttentionCapabilities(causal = false, crossAttention = false, keyPaddingMask = true, additiveBias = true,
        incrementalDecoding = false, exact = false, exactWhen = {"window=64", "relativePositionBias=false"},
        grid = true, gridRequired = true, time = "O(N*window^2)", memory = "O(N*window^2)", linearMemory = true)
public final class SwinAttention extends SoftmaxAttention implements PatternedAttention, WeightedAttention, StackAware {

    private static final String NAME = "swin";
    /** Standard deviation of the initial relative position bias, the authors' {@code trunc_normal_(std=.02)}. */
    private static final double BIAS_INIT_STD = 0.02;
    /** The truncation of that initialisation: timm's default bounds [-2, 2]. */
    private static final double BIAS_INIT_BOUND = 2;

    /** Which layers of a stack shift their windows. */
    public enum Shift {
        /** The odd layers of the stack (the paper's alternating W-MSA and SW-MSA blocks). */
        AUTO,
        /** None: every layer attends within the same windows. */
        NONE,
        /** Every layer. */
        ALWAYS
    }

    @Config(description = "M: the windows are M x M cells of the image-patch grid (a grid side not longer than M "
            + "is one window).")
    @Range(min = 1, max = 64)
    private int window = 7;

    @Config(description = "Which layers shift their windows by M/2: AUTO the odd layers of a stack, NONE, ALWAYS.")
    private Shift shift = Shift.AUTO;

    @Config(description = "Add a learned relative position bias per head, a table of (2M-1)^2 entries indexed by "
            + "the offset of query and key in the window.")
    private boolean relativePositionBias = true;

    private int layer;
    private boolean placed;
    /** [heads, (2M−1)²], or null before initialize and without a relative bias. */
    private Tensor biasTable;
    private boolean initialized;

    /** For OLCUT. */
    private SwinAttention() {
    }

    /**
     * Swin attention in {@code window × window} windows, shifted as {@code shift} says, with the
     * relative position bias when {@code relativePositionBias}, scores scaled by {@code scale}
     * (1/sqrt(headDim) when 0).
     */
    public SwinAttention(int window, Shift shift, boolean relativePositionBias, float scale) {
        super(scale);
        this.window = window;
        this.shift = shift;
        this.relativePositionBias = relativePositionBias;
        postConfig();
    }

    public int window() {
        return window;
    }

    public Shift shift() {
        return shift;
    }

    /** Whether this layer's windows are shifted: by its {@link Shift} and, for AUTO, its place in the stack. */
    public boolean shifted() {
        return shift == Shift.ALWAYS || shift == Shift.AUTO && layer % 2 == 1;
    }

    /** Memory slots have no place on the grid: not supported. */
    @Override
    protected boolean supports(Option option) {
        return option != Option.MEMORY_KEY_VALUES;
    }

    @Override
    public void placeInStack(int layer, int layers, SharedParameters shared) {
        AttentionInputs.checkPlacement(NAME, layer, layers, shared, placed || initialized);
        this.placed = true;
        this.layer = layer;
    }

    /**
     * Creates the relative position bias table [heads, (2M−1)²] (with {@code relativePositionBias}),
     * from N(0, 0.02²) truncated to [-2, 2] as the authors' {@code trunc_normal_(std=.02)}, and
     * without weight decay (the authors' {@code no_weight_decay_keywords}).
     */
    @Override
    public void initialize(int heads, int headDim, RandomGenerator rng) {
        super.initialize(heads, headDim, rng);
        if (biasTable != null && biasTable.size(0) != heads) {
            throw new IllegalStateException(NAME + ": initialised for " + biasTable.size(0) + " heads, asked for "
                    + heads);
        }
        if (relativePositionBias && biasTable == null) {
            int entries = (2 * window - 1) * (2 * window - 1);
            float[] table = new float[heads * entries];
            for (int i = 0; i < table.length; i++) {
                double x;
                do {
                    x = BIAS_INIT_STD * rng.nextGaussian();
                } while (Math.abs(x) > BIAS_INIT_BOUND);
                table[i] = (float) x;
            }
            biasTable = registerParameter("relativePositionBiasTable", Tensor.of(table, heads, entries), false);
        }
        initialized = true;
    }

    /** The learned table has one column per head: a single head cannot run alone with it. */
    @Override
    public boolean headsIndependent() {
        return !relativePositionBias && super.headsIndependent();
    }

    /** The window attention: q [B, H, N, D], k [B, H, N, D], v [B, H, N, Dv] → [B, H, N, Dv]. */
    @Override
    protected Tensor attend(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        AttentionInputs.check(NAME, query, key, value, context);
        SwinWindows layout = layout(query.size(1), query.size(2), key.size(2), context,
                "query " + AttentionInputs.shape(query) + " and key " + AttentionInputs.shape(key));
        float s = scoreScale(query.size(3));
        Tensor out = windowAttention(layout, query, key, value, context, s);
        int[] offGrid = layout.offGrid();
        if (offGrid.length > 0) {
            out = Tensor.concat(2, out, globalAttention(offGrid, query, key, value, context, s));
        }
        return out.indexSelect(2, layout.outputIndex());
    }

    /**
     * The layout for these lengths and context, after the checks every call makes; {@code inputs}
     * describes the queries and keys for a message.
     */
    private SwinWindows layout(int heads, int queryLength, int keyLength, AttentionContext context, String inputs) {
        if (context.causal()) {
            throw new IllegalArgumentException(NAME + ": a causal context is not supported: the windows of an image "
                    + "grid have no order");
        }
        if (queryLength != keyLength) {
            throw new IllegalArgumentException(NAME + ": queries and keys must be one sequence (the windows partition "
                    + "its grid), got " + inputs);
        }
        Grid grid = context.grid();
        if (grid == null) {
            throw new IllegalArgumentException(NAME + ": needs the 2-D grid of the tokens (AttentionContext.grid(), "
                    + "set by an image-patch input encoder such as ImagePatches); got a plain sequence of " + keyLength
                    + " tokens");
        }
        if (relativePositionBias && biasTable == null) {
            throw new IllegalStateException(NAME + ": the relative position bias needs initialize(heads, headDim, rng) "
                    + "first (MultiHeadAttention calls it)");
        }
        if (biasTable != null && biasTable.size(0) != heads) {
            throw new IllegalArgumentException(NAME + ": initialised for " + biasTable.size(0) + " heads, got " + heads);
        }
        try {
            return new SwinWindows(grid, keyLength, window, shifted());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(NAME + ": " + e.getMessage(), e);
        }
    }

    /** Each window's queries against its keys: [B, H, windows · M², Dv]. */
    private Tensor windowAttention(SwinWindows layout, Tensor q, Tensor k, Tensor v, AttentionContext context,
                                   float scale) {
        int batch = q.size(0);
        int heads = q.size(1);
        int n = layout.windows();
        int cells = layout.cells();
        int keys = layout.keysPerWindow();
        int[] keyIndex = layout.keyIndex();
        // qw [B, H, n, M², D], kw [B, H, n, M² + G, D], vw [B, H, n, M² + G, Dv]
        Tensor qw = q.indexSelect(2, layout.queryIndex()).reshape(batch, heads, n, cells, q.size(3));
        Tensor kw = k.indexSelect(2, keyIndex).reshape(batch, heads, n, keys, k.size(3));
        Tensor vw = v.indexSelect(2, keyIndex).reshape(batch, heads, n, keys, v.size(3));

        // scores [B, H, n, M², M² + G] = (qw · s) kwᵀ + B̂ + the context's bias
        Tensor scores = qw.mul(scale).matmul(kw, false, true);
        if (biasTable != null) {
            scores = scores.add(relativeBias(layout, heads));
        }
        if (context.bias() != null) {
            scores = scores.add(windowBand(layout, context.bias()));
        }
        Tensor masked = mask(layout, context.keyPaddingMask(), q);
        if (masked != null) {
            scores = scores.add(masked);
        }
        // a query with every key masked has a row of -∞: zeros, zero gradient
        Tensor weights = scores.softmax(-1);
        if (context.dropout() > 0f) {
            weights = Functional.dropout(weights, context.dropout(), true, context.rng());
        }
        return weights.matmul(vw).reshape(batch, heads, n * cells, v.size(3));
    }

    /** The relative position bias of the window pairs, 0 for the global keys: [1, H, 1, M², M² + G]. */
    private Tensor relativeBias(SwinWindows layout, int heads) {
        int cells = layout.cells();
        int[] index = new int[cells * cells];
        for (int u = 0; u < cells; u++) {
            for (int t = 0; t < cells; t++) {
                index[u * cells + t] = layout.relativeIndex(u, t);
            }
        }
        Tensor bias = biasTable.indexSelect(1, index).reshape(heads, cells, cells);
        int global = layout.keysPerWindow() - cells;
        if (global > 0) {
            bias = Tensor.concat(2, bias, Tensor.zeros(bias.backend(), heads, cells, global));
        }
        return bias.reshape(1, heads, 1, cells, cells + global);
    }

    /**
     * The entries of a bias broadcastable to [B, H, N, N] that the windows read: [Bb, Hb, n, M², M² + G]
     * with Bb, Hb its own batch and head sizes, gathered with one index-select on the flattened
     * [query, key] plane so that its gradient flows back to exactly those entries.
     */
    private static Tensor windowBand(SwinWindows layout, Tensor bias) {
        int[] s = {1, 1, 1, 1};
        System.arraycopy(bias.shape(), 0, s, 4 - bias.dim(), bias.dim());
        int rows = s[2];
        int columns = s[3];
        int[] queries = layout.queryIndex();
        int[] keys = layout.keyIndex();
        int cells = layout.cells();
        int perWindow = layout.keysPerWindow();
        int[] index = new int[queries.length * perWindow];
        for (int w = 0; w < layout.windows(); w++) {
            for (int u = 0; u < cells; u++) {
                int row = rows == 1 ? 0 : queries[w * cells + u];
                for (int t = 0; t < perWindow; t++) {
                    int column = columns == 1 ? 0 : keys[w * perWindow + t];
                    index[(w * cells + u) * perWindow + t] = row * columns + column;
                }
            }
        }
        return bias.reshape(s[0], s[1], rows * columns).indexSelect(2, index)
                .reshape(s[0], s[1], layout.windows(), cells, perWindow);
    }

    /**
     * -∞ where a window score is masked (another region of a shifted window, a padded cell, a padded
     * key) and 0 elsewhere, [B or 1, 1, n, M², M² + G]; null when nothing is masked.
     */
    private static Tensor mask(SwinWindows layout, Tensor keyPaddingMask, Tensor like) {
        int n = layout.windows();
        int cells = layout.cells();
        int keys = layout.keysPerWindow();
        float[] padded = keyPaddingMask == null ? null : keyPaddingMask.toFloatArray();
        int batch = padded == null ? 1 : keyPaddingMask.size(0);
        int length = padded == null ? 0 : keyPaddingMask.size(1);
        int[] keyIndex = layout.keyIndex();
        float[] mask = new float[batch * n * cells * keys];
        boolean any = false;
        for (int b = 0; b < batch; b++) {
            for (int w = 0; w < n; w++) {
                for (int u = 0; u < cells; u++) {
                    for (int t = 0; t < keys; t++) {
                        boolean hidden = !layout.sees(w, u, t)
                                || padded != null && padded[b * length + keyIndex[w * keys + t]] != 0f;
                        if (hidden) {
                            mask[((b * n + w) * cells + u) * keys + t] = Float.NEGATIVE_INFINITY;
                            any = true;
                        }
                    }
                }
            }
        }
        return any ? Tensor.of(like.backend(), mask, batch, 1, n, cells, keys) : null;
    }

    /** The tokens off the grid, each attending to every key: [B, H, G, Dv]. */
    private static Tensor globalAttention(int[] offGrid, Tensor q, Tensor k, Tensor v, AttentionContext context,
                                          float scale) {
        AttentionContext.Builder global = AttentionContext.builder().keyPaddingMask(context.keyPaddingMask())
                .dropout(context.dropout(), context.rng());
        Tensor bias = context.bias();
        if (bias != null) {
            while (bias.dim() < 4) {
                bias = bias.unsqueeze(0);
            }
            global.bias(bias.size(2) == 1 ? bias : bias.indexSelect(2, offGrid));
        }
        return new FullAttention(scale).forward(q.indexSelect(2, offGrid), k, v, global.build());
    }

    /** The weights of softmax attention within each token's (shifted) window, with the bias table; see {@link #pattern}. */
    @Override
    public Tensor attentionWeights(Tensor query, Tensor key, AttentionContext context) {
        return softmaxWeights(query, key, context);
    }

    /**
     * The pairs each query sees, in token positions: the window pairs of the same region (the shift
     * undone), every pair with a token off the grid; and the relative position bias of each window
     * pair (0 for the others), from the current table.
     */
    @Override
    public AttentionPattern pattern(int heads, int queryLength, int keyLength, AttentionContext context) {
        SwinWindows layout = layout(heads, queryLength, keyLength, context,
                queryLength + " queries and " + keyLength + " keys");
        int n = keyLength;
        if ((long) heads * n * n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(NAME + ": a dense pattern of " + heads + " heads over " + n
                    + " tokens has more than " + Integer.MAX_VALUE + " pairs");
        }
        BitSet allowed = new BitSet(heads * n * n);
        float[] bias = biasTable == null ? null : new float[heads * n * n];
        float[] table = biasTable == null ? null : biasTable.toFloatArray();
        int entries = (2 * window - 1) * (2 * window - 1);
        int cells = layout.cells();
        for (int h = 0; h < heads; h++) {
            for (int w = 0; w < layout.windows(); w++) {
                for (int u = 0; u < cells; u++) {
                    int i = layout.position(w, u);
                    for (int t = 0; t < cells && i >= 0; t++) {
                        if (layout.sees(w, u, t)) {
                            int pair = (h * n + i) * n + layout.position(w, t);
                            allowed.set(pair);
                            if (bias != null) {
                                bias[pair] = table[h * entries + layout.relativeIndex(u, t)];
                            }
                        }
                    }
                }
            }
            for (int g : layout.offGrid()) {
                for (int j = 0; j < n; j++) {
                    allowed.set((h * n + g) * n + j);
                    allowed.set((h * n + j) * n + g);
                }
            }
        }
        return new AttentionPattern(heads, queryLength, keyLength, allowed, bias);
    }

    /** Each of the N queries against the min(M², N) keys of its window. */
    @Override
    protected double scores(int queryLength, int keyLength, boolean causal) {
        return (double) queryLength * Math.min((double) window * window, keyLength);
    }

    @Override
    public String toString() {
        return "SwinAttention(window=" + window + ", shift=" + shift + ", relativePositionBias=" + relativePositionBias
                + ", scale=" + (scale() == 0f ? "1/sqrt(headDim)" : scale()) + ")";
    }
}
