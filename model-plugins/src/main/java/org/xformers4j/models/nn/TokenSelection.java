package org.xformers4j.models.nn;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.attention.WeightedAttention;
import org.xformers4j.component.positional.PositionalCapabilities;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.tensor.Tensor;

/**
 * Token selective attention (Singh et al., 2024, "ToSA: Token Selective Attention for Efficient
 * Vision Transformers", CVPR workshops): in a selection block l only the most important tokens take
 * part — they attend among themselves and go through the feed-forward — while the others bypass the
 * block unchanged, and both are merged back in their positions, so every token keeps a state for the
 * next block (and for dense prediction), at the cost of attention over k² instead of N² pairs.
 * <pre>
 *   importance_j = mean over heads h and unpadded queries i of  A⁽ˡ⁻¹⁾[h, i, j]   (the attention j receives)
 *   kept         = the P prefix tokens (CLS, registers) ∪ the ⌈keepRatio · L⌉ input tokens of highest importance
 *   x'[kept]     = Block_l(x[kept])          (attention among the kept tokens, with their padding mask)
 *   x'[others]   = x[others]                 (the bypass: the residual stream as it is)
 * </pre>
 * The ranking. The paper's token selector is a small learned network (two 1-D convolutions over
 * block l−1's unnormalised scores q kᵀ) that predicts block l's attention map and is trained by
 * distillation from a full teacher; the tokens are then ranked by the attention the predicted map
 * gives them. Without a teacher here, the ranking uses block l−1's own attention map as the
 * prediction of block l's: the same column means, without parameters or a second training stage.
 * So block l−1 must be an ordinary block whose mechanism reports its weights ({@link
 * org.xformers4j.component.attention.WeightedAttention}), and no two selection blocks follow each
 * other. Ties go to the earlier position; the kept tokens keep their order. The count is
 * {@code ⌈keepRatio · L⌉} of the L input tokens (at least 1), the same for every example of a
 * batch; an example with fewer real tokens keeps some padding, which stays masked.
 *
 * <p>Gradients flow through the kept tokens' block and through the bypass; the choice of tokens is
 * discrete and passes none. The ranking weights are computed without a graph, in one more
 * evaluation of block l−1's attention weights.
 *
 * @param layers    the selection blocks, 0-based, ascending: each at least 1, none right after another
 * @param keepRatio the fraction of the input tokens kept, in (0, 1]
 */
public record TokenSelection(List<Integer> layers, float keepRatio) {

    public TokenSelection {
        layers = List.copyOf(layers);
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("TokenSelection: layers must name at least one block");
        }
        for (int i = 0; i < layers.size(); i++) {
            int l = layers.get(i);
            if (l < 1) {
                throw new IllegalArgumentException("TokenSelection: block " + l + " cannot select tokens: it ranks them "
                        + "by the attention of the block before it, so selection blocks start at 1");
            }
            if (i > 0 && l <= layers.get(i - 1) + 1) {
                throw new IllegalArgumentException("TokenSelection: layers must be ascending, none right after another "
                        + "(block l ranks by block l-1's attention over every token), got " + layers);
            }
        }
        if (!(keepRatio > 0f && keepRatio <= 1f)) {
            throw new IllegalArgumentException("TokenSelection: keepRatio must be in (0, 1], got " + keepRatio);
        }
    }

    /**
     * The selection of the text form {@code "2,4"} (block indices separated by commas, spaces
     * allowed), or null for an empty text: no selection.
     *
     * @throws IllegalArgumentException naming the part that is not a block index, or what the constructor refuses
     */
    public static TokenSelection parse(String layers, float keepRatio) {
        if (layers == null || layers.isBlank()) {
            return null;
        }
        List<Integer> indices = new ArrayList<>();
        for (String part : layers.split(",", -1)) {
            try {
                indices.add(Integer.parseInt(part.strip()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("TokenSelection: layers must be block indices separated by commas, "
                        + "got '" + part.strip() + "' in '" + layers + "'");
            }
        }
        return new TokenSelection(indices, keepRatio);
    }

    /**
     * Checks that the blocks' attention {@code mechanism} and the {@code positional} encoding (or
     * null) work with token selection: the mechanism must report its weights (a {@link
     * WeightedAttention}), for the ranking, and must not read the image grid, which the kept tokens
     * no longer form; the encoding must not act inside the attention (rotations, biases), whose
     * relative positions would be those among the kept tokens.
     *
     * @throws IllegalArgumentException naming the component and the option
     */
    public static void checkComponents(AttentionMechanism mechanism, PositionalEncoding positional) {
        String name = TransformerBlock.nameOf(mechanism);
        if (!(mechanism instanceof WeightedAttention)) {
            throw new IllegalArgumentException("token selection (tokenSelectionLayers) ranks the tokens by the attention "
                    + "weights of the block before, which attention '" + name + "' cannot report (it is not a "
                    + "WeightedAttention: it never forms them); use a mechanism that does, such as full or flash");
        }
        if (ComponentDescriptor.of(mechanism.getClass()).capabilities(AttentionCapabilities.class).grid()) {
            throw new IllegalArgumentException("token selection (tokenSelectionLayers) passes a subset of the tokens, "
                    + "which no longer form the image grid that attention '" + name + "' reads");
        }
        if (positional != null) {
            PositionalCapabilities hooks = ComponentDescriptor.of(positional.getClass())
                    .capabilities(PositionalCapabilities.class);
            if (hooks.rotatesQueryKey() || hooks.attentionBias()) {
                throw new IllegalArgumentException("token selection (tokenSelectionLayers) passes a subset of the "
                        + "tokens, so the relative positions that positional '" + TransformerBlock.nameOf(positional)
                        + "' gives inside the attention would be those among the kept tokens; use an encoding that adds "
                        + "to the embeddings (learned, sinusoidal) or none");
            }
        }
    }

    /** Whether block {@code layer} selects its tokens. */
    public boolean selects(int layer) {
        return layers.contains(layer);
    }

    /**
     * The number of the {@code length} input tokens kept: ⌈keepRatio · length⌉, at least 1, with
     * keepRatio taken as the decimal it prints as (0.3 · 10 keeps 3, although the float 0.3 is a
     * little more).
     */
    public int kept(int length) {
        BigDecimal product = new BigDecimal(Float.toString(keepRatio)).multiply(BigDecimal.valueOf(length));
        return Math.max(1, product.setScale(0, RoundingMode.CEILING).intValueExact());
    }

    /**
     * The tokens kept for the block after the one whose attention weights are {@code weights}.
     *
     * @param weights        [B, H, N, N], the previous block's attention over every token
     * @param keyPaddingMask [B, N], non-zero at padded tokens, or null
     * @param prefix         the P prefix tokens, always kept
     */
    public Kept rank(Tensor weights, Tensor keyPaddingMask, int prefix) {
        int batch = weights.size(0);
        int n = weights.size(2);
        int keep = prefix + kept(n - prefix);
        Tensor rows = weights;                                             // a padded query's row says nothing
        if (keyPaddingMask != null) {
            Tensor real = keyPaddingMask.zerosLike().add(1f).maskedFill(keyPaddingMask, 0f);       // [B, N]
            rows = weights.mul(real.reshape(batch, 1, n, 1));
        }
        float[] received = rows.sum(1, false).sum(1, false).toFloatArray();  // [B, N]: Σ over heads and queries
        int[][] positions = new int[batch][];
        for (int b = 0; b < batch; b++) {
            int base = b * n;
            Integer[] order = new Integer[n - prefix];
            for (int j = 0; j < order.length; j++) {
                order[j] = prefix + j;
            }
            Arrays.sort(order, (p, q) -> received[base + p] != received[base + q]
                    ? Float.compare(received[base + q], received[base + p]) : Integer.compare(p, q));
            int[] chosen = new int[keep];
            for (int p = 0; p < prefix; p++) {
                chosen[p] = p;
            }
            for (int t = prefix; t < keep; t++) {
                chosen[t] = order[t - prefix];
            }
            Arrays.sort(chosen);
            positions[b] = chosen;
        }
        return new Kept(positions, n);
    }

    /**
     * The tokens a selection block keeps, per example, and the gathers and merge that route them.
     *
     * @param positions per example the kept positions, ascending, as many for each
     * @param length    N, the tokens of the whole sequence
     */
    public record Kept(int[][] positions, int length) {

        /** The number of tokens kept per example. */
        public int count() {
            return positions[0].length;
        }

        /** The kept tokens of {@code x} [B, N, D]: [B, K, D], with the gradient back to their positions. */
        public Tensor gather(Tensor x) {
            return x.gather(1, index(x));
        }

        /** The kept tokens' padding mask, [B, K], of {@code keyPaddingMask} [B, N]; null for null. */
        public Tensor gatherMask(Tensor keyPaddingMask) {
            if (keyPaddingMask == null) {
                return null;
            }
            float[] mask = keyPaddingMask.toFloatArray();
            float[] kept = new float[positions.length * count()];
            for (int b = 0; b < positions.length; b++) {
                for (int t = 0; t < count(); t++) {
                    kept[b * count() + t] = mask[b * length + positions[b][t]];
                }
            }
            return Tensor.of(keyPaddingMask.backend(), kept, positions.length, count());
        }

        /**
         * {@code x} [B, N, D] with the kept positions replaced by {@code y} [B, K, D]: x · bypass +
         * scatter(y), where bypass is 0 at the kept positions, so the kept rows are y exactly and the
         * others x exactly; gradients go to x at the bypassed positions and to y.
         */
        public Tensor merge(Tensor x, Tensor y) {
            int batch = positions.length;
            float[] bypass = new float[batch * length];
            Arrays.fill(bypass, 1f);
            for (int b = 0; b < batch; b++) {
                for (int p : positions[b]) {
                    bypass[b * length + p] = 0f;
                }
            }
            return x.mul(Tensor.of(x.backend(), bypass, batch, length, 1)).scatterAdd(1, index(x), y);
        }

        /**
         * The kept tokens' attention weights {@code weights} [B, H, K, K] placed at their positions
         * among all N tokens: [B, H, N, N], 0 in the rows and columns of bypassed tokens (which
         * attend to nothing and are attended by nothing in this block).
         */
        public Tensor scatterWeights(Tensor weights) {
            int batch = positions.length;
            int heads = weights.size(1);
            int k = count();
            float[] w = weights.toFloatArray();
            float[] out = new float[batch * heads * length * length];
            for (int b = 0; b < batch; b++) {
                for (int h = 0; h < heads; h++) {
                    for (int i = 0; i < k; i++) {
                        int from = ((b * heads + h) * k + i) * k;
                        int to = ((b * heads + h) * length + positions[b][i]) * length;
                        for (int j = 0; j < k; j++) {
                            out[to + positions[b][j]] = w[from + j];
                        }
                    }
                }
            }
            return Tensor.of(weights.backend(), out, batch, heads, length, length);
        }

        /** [B, K, D]: each kept position repeated along the width D of {@code x}, the index of gather and scatter. */
        private Tensor index(Tensor x) {
            int batch = positions.length;
            int width = x.size(2);
            float[] index = new float[batch * count() * width];
            for (int b = 0; b < batch; b++) {
                for (int t = 0; t < count(); t++) {
                    Arrays.fill(index, (b * count() + t) * width, (b * count() + t + 1) * width, positions[b][t]);
                }
            }
            return Tensor.of(x.backend(), index, batch, count(), width);
        }
    }
}
