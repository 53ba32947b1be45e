package org.xformers4j.models.nn;

import java.util.Arrays;
import java.util.List;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.tensor.Tensor;

/**
 * Attention rollout (Abnar and Zuidema, 2020, "Quantifying Attention Flow in Transformers", §3):
 * how much each input token flows into the encoder's pooled output through the stack of attention
 * layers. Each layer's heads are averaged and the residual connection is accounted for by adding
 * the identity, Â_l = 0.5·A_l + 0.5·I with rows renormalised to sum 1; the layers compose by
 * matrix product, rollout = Â_N · … · Â_1, whose row i says how much of position i's final state
 * came from each input position. The attention weights are those of {@link
 * TransformerEncoder#attentionWeights}: dense softmax attention with each layer's projections,
 * which for an approximate mechanism is the attention it approximates. Computed on host arrays in
 * float64.
 */
public final class AttentionRollout {

    private AttentionRollout() {
    }

    /**
     * The input tokens' relevance to the pooled output of {@code encoder} for these inputs, from
     * {@link TransformerEncoder#attentionWeights}; see {@link #relevance(List, int, TransformerEncoder.Pooling, Tensor)}.
     *
     * @param embeddings     token embeddings [batch, length, modelDim]
     * @param keyPaddingMask [batch, length], non-zero at padded tokens, or null when nothing is padded
     * @return per example [length]
     */
    public static double[][] relevance(TransformerEncoder encoder, Tensor embeddings, Tensor keyPaddingMask) {
        return relevance(encoder, embeddings, keyPaddingMask, null);
    }

    /**
     * {@link #relevance(TransformerEncoder, Tensor, Tensor)} of tokens laid out as {@code grid}
     * (image patches), as the encoder's forward sees them.
     *
     * @param grid the tokens' 2-D layout, or null for a sequence
     */
    public static double[][] relevance(TransformerEncoder encoder, Tensor embeddings, Tensor keyPaddingMask,
                                       AttentionContext.Grid grid) {
        return relevance(encoder.attentionWeights(embeddings, keyPaddingMask, grid), encoder.prefixLength(),
                encoder.config().pooling(), keyPaddingMask);
    }

    /**
     * The input tokens' relevance to the pooled output: for CLS pooling the CLS row (position 0)
     * of the rollout, for MEAN pooling the mean of the rows of the non-padded input tokens,
     * restricted to the input tokens' columns (the prefix tokens are left out), padded tokens set
     * to 0, normalised to sum 1 (all 0 if every input token is padded).
     *
     * @param layers         per layer the attention weights [batch, heads, prefix + length, prefix + length]
     * @param prefixLength   the number of CLS and register tokens before the input tokens, at least 1 for CLS pooling
     * @param pooling        how the encoder pools
     * @param keyPaddingMask [batch, length], non-zero at padded tokens, or null when nothing is padded
     * @return per example [length]
     */
    public static double[][] relevance(List<Tensor> layers, int prefixLength, TransformerEncoder.Pooling pooling,
                                       Tensor keyPaddingMask) {
        double[][][] rollout = rollout(layers);                                   // [B][T][T]
        int batch = rollout.length;
        int length = rollout[0].length - prefixLength;
        if (prefixLength < (pooling == TransformerEncoder.Pooling.CLS ? 1 : 0) || length < 0) {
            throw new IllegalArgumentException("AttentionRollout: prefixLength " + prefixLength + " for " + pooling
                    + " pooling and " + rollout[0].length + " positions");
        }
        if (keyPaddingMask != null && !Arrays.equals(keyPaddingMask.shape(), new int[] {batch, length})) {
            throw new IllegalArgumentException("AttentionRollout: keyPaddingMask must be [batch, length] = [" + batch
                    + ", " + length + "], got shape " + Arrays.toString(keyPaddingMask.shape()));
        }
        float[] padding = keyPaddingMask == null ? new float[batch * length] : keyPaddingMask.toFloatArray();   // [B·L]
        double[][] relevance = new double[batch][length];
        for (int b = 0; b < batch; b++) {
            int rows = 0;
            for (int row = 0; row < prefixLength + length; row++) {          // the rows the pooled output reads
                boolean pooled = pooling == TransformerEncoder.Pooling.CLS ? row == 0
                        : row >= prefixLength && padding[b * length + row - prefixLength] == 0f;
                if (pooled) {
                    rows++;
                    for (int j = 0; j < length; j++) {
                        relevance[b][j] += rollout[b][row][prefixLength + j];
                    }
                }
            }
            double sum = 0;
            for (int j = 0; j < length; j++) {
                relevance[b][j] = padding[b * length + j] != 0f ? 0 : relevance[b][j] / rows;
                sum += relevance[b][j];
            }
            for (int j = 0; j < length && sum > 0; j++) {
                relevance[b][j] /= sum;
            }
        }
        return relevance;
    }

    /**
     * rollout = Â_N · … · Â_1 with Â_l = rownorm(0.5·mean_h A_l + 0.5·I).
     *
     * @param layers per layer the attention weights [batch, heads, T, T], first layer first
     * @return [batch][T][T]
     */
    public static double[][][] rollout(List<Tensor> layers) {
        if (layers == null || layers.isEmpty()) {
            throw new IllegalArgumentException("AttentionRollout: needs the attention weights of at least one layer, got "
                    + layers);
        }
        int[] shape = layers.get(0).shape();
        if (shape.length != 4 || shape[2] != shape[3]) {
            throw new IllegalArgumentException("AttentionRollout: layer 0 attention weights must be [batch, heads, T, T], "
                    + "got shape " + Arrays.toString(shape));
        }
        int batch = shape[0];
        int heads = shape[1];
        int t = shape[2];
        double[][][] rollout = null;
        for (int l = 0; l < layers.size(); l++) {
            if (!Arrays.equals(layers.get(l).shape(), shape)) {
                throw new IllegalArgumentException("AttentionRollout: layer " + l + " attention weights have shape "
                        + Arrays.toString(layers.get(l).shape()) + ", layer 0 " + Arrays.toString(shape));
            }
            float[] a = layers.get(l).toFloatArray();                             // [B, H, T, T]
            double[][][] next = new double[batch][][];
            for (int b = 0; b < batch; b++) {
                double[][] mixed = new double[t][t];                              // Â_l [T, T]
                for (int i = 0; i < t; i++) {
                    double rowSum = 0;
                    for (int j = 0; j < t; j++) {
                        double mean = 0;
                        for (int h = 0; h < heads; h++) {
                            mean += a[((b * heads + h) * t + i) * t + j];
                        }
                        mixed[i][j] = 0.5 * mean / heads + (i == j ? 0.5 : 0);
                        rowSum += mixed[i][j];
                    }
                    for (int j = 0; j < t; j++) {
                        mixed[i][j] /= rowSum;
                    }
                }
                next[b] = rollout == null ? mixed : multiply(mixed, rollout[b]);
            }
            rollout = next;
        }
        return rollout;
    }

    /** x [T, T] · y [T, T]. */
    private static double[][] multiply(double[][] x, double[][] y) {
        int t = x.length;
        double[][] out = new double[t][t];
        for (int i = 0; i < t; i++) {
            for (int k = 0; k < t; k++) {
                for (int j = 0; j < t; j++) {
                    out[i][j] += x[i][k] * y[k][j];
                }
            }
        }
        return out;
    }
}
