package org.xformers4j.component.attention;

import java.util.random.RandomGenerator;
import org.xformers4j.tensor.Tensor;

/**
 * What a mechanism needs besides queries, keys and values. Immutable; build with
 * {@link #builder()}.
 *
 * <ul>
 *   <li>{@code keyPaddingMask}: [batch, keyLength], non-zero where the key is padding and must be
 *       ignored (PyTorch's {@code key_padding_mask} convention); null when nothing is padded.</li>
 *   <li>{@code causal}: query i may attend only to keys at positions &lt;= its own. With fewer
 *       queries than keys (incremental decoding) queries are aligned to the end: query i sits at
 *       key position {@code keyLength - queryLength + i}.</li>
 *   <li>{@code bias}: added to the scores before the softmax, broadcastable to
 *       [batch, heads, queryLength, keyLength]; may require grad (learned relative biases).</li>
 *   <li>{@code dropout}: probability of dropping an attention weight, with {@code rng}; 0 in
 *       evaluation.</li>
 * </ul>
 */
public final class AttentionContext {

    private static final AttentionContext NONE = builder().build();

    private final Tensor keyPaddingMask;
    private final boolean causal;
    private final Tensor bias;
    private final float dropout;
    private final RandomGenerator rng;

    private AttentionContext(Builder b) {
        this.keyPaddingMask = b.keyPaddingMask;
        this.causal = b.causal;
        this.bias = b.bias;
        this.dropout = b.dropout;
        this.rng = b.rng;
    }

    /** No mask, not causal, no bias, no dropout. */
    public static AttentionContext none() {
        return NONE;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** [batch, keyLength], non-zero where padded, or null. */
    public Tensor keyPaddingMask() {
        return keyPaddingMask;
    }

    public boolean causal() {
        return causal;
    }

    /** Additive score bias broadcastable to [batch, heads, queryLength, keyLength], or null. */
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

    /** Builds an {@link AttentionContext}. */
    public static final class Builder {
        private Tensor keyPaddingMask;
        private boolean causal;
        private Tensor bias;
        private float dropout;
        private RandomGenerator rng;

        private Builder() {
        }

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

        public AttentionContext build() {
            return new AttentionContext(this);
        }
    }
}
