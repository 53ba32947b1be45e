package org.xformers4j.component.attention;

import java.util.random.RandomGenerator;
import org.xformers4j.tensor.Tensor;

/**
 * What a mechanism needs besides queries, keys and values. Immutable; build with
 * {@link #builder()}.
 *
 * <ul>
 *   <li>{@code keyPaddingMask}: [batch, keyLength], non-zero where the key is padding and must be
 *       ignored, zero where it is attended to; null when nothing is padded (see <b>Mask
 *       conventions</b> below).</li>
 *   <li>{@code causal}: query i may attend only to keys at positions &lt;= its own. With fewer
 *       queries than keys (incremental decoding) queries are aligned to the end: query i sits at
 *       key position {@code keyLength - queryLength + i}.</li>
 *   <li>{@code bias}: added to the scores before the softmax, broadcastable to
 *       [batch, heads, queryLength, keyLength]; may require grad (learned relative biases).</li>
 *   <li>{@code dropout}: probability of dropping an attention weight, with {@code rng}; 0 in
 *       evaluation.</li>
 *   <li>{@code grid}: a 2-D layout of the key sequence (and, in self-attention, of the queries),
 *       set by a model whose tokens are image patches; null for a plain sequence. Only mechanisms
 *       that declare {@link AttentionCapabilities#grid()} read it (2-D depth-wise convolutions of
 *       {@code relu-linear}); every other mechanism computes the same with or without it.</li>
 * </ul>
 *
 * <p><b>What masks a key.</b> Every mechanism masks by setting the score to -∞, so a masked key
 * takes exactly no weight whatever else is added to its score:
 * <ul>
 *   <li>a key the padding mask marks, and with {@code causal} a key after the query's position, is
 *       masked;</li>
 *   <li>a bias entry of {@code Float.NEGATIVE_INFINITY} masks its key the same way (and so does a
 *       sum of scores and bias that overflows to -∞);</li>
 *   <li>a finite bias, however large and negative ({@code -1e9}, or {@code -Float.MAX_VALUE} =
 *       {@code torch.finfo(torch.float32).min}, which Hugging Face models add to pad), is an
 *       ordinary score: it never lifts a masked key above it, but a query whose visible keys all
 *       carry it attends to them by the softmax of their float32 scores, in which the query-key
 *       term below |bias|·2⁻²⁴ is lost: nearly uniformly. To mask keys through the bias, use -∞
 *       (or the padding mask).</li>
 * </ul>
 * <p><b>Mask conventions.</b> Ours is PyTorch's and the opposite of Hugging Face's:
 * <table>
 *   <caption>Key padding masks</caption>
 *   <tr><th>where</th><th>name</th><th>padding (ignored)</th><th>token (attended)</th></tr>
 *   <tr><td>xformers4j</td><td>{@code keyPaddingMask}</td><td>non-zero (1)</td><td>0</td></tr>
 *   <tr><td>PyTorch {@code nn.MultiheadAttention}</td><td>{@code key_padding_mask}</td><td>{@code True}</td>
 *       <td>{@code False}</td></tr>
 *   <tr><td>Hugging Face transformers</td><td>{@code attention_mask}</td><td>0</td><td>1</td></tr>
 * </table>
 * A PyTorch mask carries over as is ({@code True} → 1). A Hugging Face {@code attention_mask} of
 * 0s and 1s converts in one line, {@code Tensor keyPaddingMask = attentionMask.rsub(1f);}
 * (1 - mask); passed unconverted it would mask every real token and attend only to the padding.
 *
 * <p>A query whose keys are all masked has no distribution to average over: its output row is zeros,
 * and it passes zero (finite) gradients to the queries, keys, values and bias. The backward pass
 * is exact for any finite score, also when a large bias puts the scores near ±1e8 and beyond.
 * The conformance suite ({@code huge-negative-bias}, {@code fully-masked-rows},
 * {@code large-score-gradients}) holds every mechanism to this.
 */
public final class AttentionContext {

    private static final AttentionContext NONE = builder().build();

    private final Tensor keyPaddingMask;
    private final boolean causal;
    private final Tensor bias;
    private final float dropout;
    private final RandomGenerator rng;
    private final Grid grid;

    private AttentionContext(Builder b) {
        this.keyPaddingMask = b.keyPaddingMask;
        this.causal = b.causal;
        this.bias = b.bias;
        this.dropout = b.dropout;
        this.rng = b.rng;
        this.grid = b.grid;
    }

    /** No mask, not causal, no bias, no dropout. */
    public static AttentionContext none() {
        return NONE;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding every feature of this context, to change some of them. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.keyPaddingMask = keyPaddingMask;
        b.causal = causal;
        b.bias = bias;
        b.dropout = dropout;
        b.rng = rng;
        b.grid = grid;
        return b;
    }

    /**
     * [batch, keyLength], non-zero where the key is padding (ignored), 0 where it is attended to,
     * or null; the inverse of a Hugging Face {@code attention_mask} (see the class comment).
     */
    public Tensor keyPaddingMask() {
        return keyPaddingMask;
    }

    public boolean causal() {
        return causal;
    }

    /**
     * Additive score bias broadcastable to [batch, heads, queryLength, keyLength], or null; -∞
     * masks a key, a finite value is a score (see the class comment).
     */
    public Tensor bias() {
        return bias;
    }

    /** Attention-weight dropout probability in [0, 1). */
    public float dropout() {
        return dropout;
    }

    /** The generator dropout draws from; non-null when {@link #dropout()} &gt; 0. */
    public RandomGenerator rng() {
        return rng;
    }

    /** The 2-D layout of the key sequence, or null for a plain sequence; see {@link Grid}. */
    public Grid grid() {
        return grid;
    }

    /**
     * Where the sequence is an image: the {@code rows · cols} key positions from {@code start} on
     * are the cells of a {@code rows × cols} grid, row-major (position {@code start + r · cols + c}
     * is row r, column c), as an image-patch encoder lays out its patches; positions before
     * {@code start} or after the grid (a CLS token, register tokens) are not on it.
     *
     * @param start the key position of cell (0, 0), at least 0
     * @param rows  at least 1
     * @param cols  at least 1
     */
    public record Grid(int start, int rows, int cols) {

        public Grid {
            if (start < 0 || rows < 1 || cols < 1) {
                throw new IllegalArgumentException("a grid needs start >= 0 and at least one row and column, got start "
                        + start + ", " + rows + " x " + cols);
            }
        }

        /**
         * All {@code length} positions as the most nearly square grid from position 0: {@code r ×
         * length/r} cells, r the largest divisor of the length up to its square root (2 × 4 for 8,
         * 32 × 32 for 1024, 1 × 7 for 7); what a check or benchmark gives a mechanism that
         * {@linkplain AttentionCapabilities#gridRequired() requires a grid} over a plain sequence.
         *
         * @param length at least 1
         */
        public static Grid covering(int length) {
            if (length < 1) {
                throw new IllegalArgumentException("a grid covers at least one position, got " + length);
            }
            int rows = (int) Math.sqrt(length);
            while (length % rows != 0) {
                rows--;
            }
            return new Grid(0, rows, length / rows);
        }

        /** The number of cells, rows · cols. */
        public int cells() {
            return rows * cols;
        }

        /** This grid with {@code offset} more positions before it (tokens prepended to the sequence). */
        public Grid shifted(int offset) {
            return new Grid(start + offset, rows, cols);
        }

        @Override
        public String toString() {
            return rows + "x" + cols + " from position " + start;
        }
    }

    /** Builds an {@link AttentionContext}. */
    public static final class Builder {
        private Tensor keyPaddingMask;
        private boolean causal;
        private Tensor bias;
        private float dropout;
        private RandomGenerator rng;
        private Grid grid;

        private Builder() {
        }

        /**
         * The key padding mask, [batch, keyLength]: non-zero marks padding to ignore (PyTorch's
         * {@code key_padding_mask}); from a Hugging Face {@code attention_mask} (1 = attend) pass
         * {@code attentionMask.rsub(1f)}. Null for none.
         */
        public Builder keyPaddingMask(Tensor mask) {
            if (mask != null && mask.dim() != 2) {
                throw new IllegalArgumentException("keyPaddingMask must be [batch, keyLength], got shape "
                        + java.util.Arrays.toString(mask.shape()));
            }
            this.keyPaddingMask = mask;
            return this;
        }

        public Builder causal(boolean value) {
            this.causal = value;
            return this;
        }

        public Builder bias(Tensor value) {
            if (value != null && value.dim() > 4) {
                throw new IllegalArgumentException("bias must broadcast to [batch, heads, queryLength, keyLength], got shape "
                        + java.util.Arrays.toString(value.shape()));
            }
            this.bias = value;
            return this;
        }

        /** Dropout on the attention weights with probability {@code p}, drawn from {@code generator}. */
        public Builder dropout(float p, RandomGenerator generator) {
            if (!(p >= 0f && p < 1f)) {
                throw new IllegalArgumentException("attention dropout must be in [0, 1), got " + p);
            }
            if (p > 0f && generator == null) {
                throw new IllegalArgumentException("attention dropout " + p + " needs a random generator");
            }
            this.dropout = p;
            this.rng = generator;
            return this;
        }

        /** The 2-D layout of the key sequence ({@link Grid}); null for a plain sequence. */
        public Builder grid(Grid value) {
            this.grid = value;
            return this;
        }

        public AttentionContext build() {
            return new AttentionContext(this);
        }
    }
}
