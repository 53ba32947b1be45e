package org.xformers4j.bench.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.internal.NDArrayEx;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The character LM of examples/char-lm.xml in DJL NDArray operations (PyTorch engine): byte
 * vocabulary 256, width 128, 4 heads, 4 pre-norm blocks x + drop(attn(LN(x))), x + drop(FFN(LN(x)))
 * with a GELU (erf) feed-forward of hidden size 4·128 with biases, rotary positions (the half-split
 * pairing, base 10000, the whole head rotated) applied to queries and keys, a final LayerNorm
 * (eps 1e-5) and logits through the tied token embedding (no output bias): 826,112 parameters, as
 * xformers4j's TransformerDecoder.
 *
 * <p>The one deliberate difference in layout: the query, key and value projections are one fused
 * [3·128, 128] matrix with a [3·128] bias (one GEMM instead of three, as PyTorch models usually
 * write it), the same parameter count as xformers4j's three [128, 128] projections; each third is
 * initialised as xformers4j initialises one projection (Xavier uniform, gain 1).
 *
 * <p>Parameters live in the manager given at construction; every operation is written with an
 * activation as its receiver, so that its result belongs to that activation's (per-step) manager.
 */
final class CharLm {

    static final int VOCAB = 256;

    final int dim;
    final int heads;
    final int headDim;
    final int layers;
    final int hidden;
    final float dropout;

    private final NDManager manager;
    private final NDArray tokenEmbedding;
    private final Layer[] blocks;
    private final NDArray finalNormGain;
    private final NDArray finalNormBias;
    /** Every parameter by name, in creation order, and whether AdamW's weight decay applies to it. */
    final Map<String, NDArray> parameters = new LinkedHashMap<>();
    final Map<String, Boolean> decayed = new HashMap<>();

    private final NDArray cosTable;
    private final NDArray sinTable;
    private final Map<Long, NDArray> causalMasks = new HashMap<>();
    private final Map<Long, NDArray[]> rotaryAtZero = new HashMap<>();

    private static final class Layer {
        NDArray norm1Gain;
        NDArray norm1Bias;
        NDArray qkvWeight;
        NDArray qkvBias;
        NDArray outWeight;
        NDArray outBias;
        NDArray norm2Gain;
        NDArray norm2Bias;
        NDArray upWeight;
        NDArray upBias;
        NDArray downWeight;
        NDArray downBias;
    }

    /** One layer's cached rotated keys and values, [batch, heads, length, headDim]. */
    static final class Cache {
        NDArray keys;
        NDArray values;

        int length() {
            return keys == null ? 0 : (int) keys.getShape().get(2);
        }
    }

    CharLm(NDManager manager, int dim, int heads, int layers, float dropout, int maxPositions) {
        this.manager = manager;
        this.dim = dim;
        this.heads = heads;
        this.headDim = dim / heads;
        this.layers = layers;
        this.hidden = 4 * dim;
        this.dropout = dropout;
        tokenEmbedding = parameter("tokenEmbedding", manager.randomNormal(0f, 0.02f, new Shape(VOCAB, dim),
                DataType.FLOAT32), false);
        blocks = new Layer[layers];
        for (int l = 0; l < layers; l++) {
            Layer b = new Layer();
            String p = "blocks." + l + ".";
            b.norm1Gain = parameter(p + "attentionNorm.gain", manager.ones(new Shape(dim)), false);
            b.norm1Bias = parameter(p + "attentionNorm.bias", manager.zeros(new Shape(dim)), false);
            float square = (float) Math.sqrt(6.0 / (dim + dim));
            b.qkvWeight = parameter(p + "attention.qkv.weight",
                    manager.randomUniform(-square, square, new Shape(3L * dim, dim)), true);
            b.qkvBias = parameter(p + "attention.qkv.bias", manager.zeros(new Shape(3L * dim)), false);
            b.outWeight = parameter(p + "attention.output.weight",
                    manager.randomUniform(-square, square, new Shape(dim, dim)), true);
            b.outBias = parameter(p + "attention.output.bias", manager.zeros(new Shape(dim)), false);
            b.norm2Gain = parameter(p + "feedForwardNorm.gain", manager.ones(new Shape(dim)), false);
            b.norm2Bias = parameter(p + "feedForwardNorm.bias", manager.zeros(new Shape(dim)), false);
            float wide = (float) Math.sqrt(6.0 / (dim + hidden));
            b.upWeight = parameter(p + "feedForward.up.weight",
                    manager.randomUniform(-wide, wide, new Shape(hidden, dim)), true);
            b.upBias = parameter(p + "feedForward.up.bias", manager.zeros(new Shape(hidden)), false);
            b.downWeight = parameter(p + "feedForward.down.weight",
                    manager.randomUniform(-wide, wide, new Shape(dim, hidden)), true);
            b.downBias = parameter(p + "feedForward.down.bias", manager.zeros(new Shape(dim)), false);
            blocks[l] = b;
        }
        finalNormGain = parameter("finalNorm.gain", manager.ones(new Shape(dim)), false);
        finalNormBias = parameter("finalNorm.bias", manager.zeros(new Shape(dim)), false);

        int half = headDim / 2;
        float[] cos = new float[maxPositions * half];
        float[] sin = new float[maxPositions * half];
        for (int t = 0; t < maxPositions; t++) {
            for (int i = 0; i < half; i++) {
                double angle = t * Math.pow(10000, -2.0 * i / headDim);
                cos[t * half + i] = (float) Math.cos(angle);
                sin[t * half + i] = (float) Math.sin(angle);
            }
        }
        cosTable = manager.create(cos, new Shape(maxPositions, half));
        sinTable = manager.create(sin, new Shape(maxPositions, half));
    }

    private NDArray parameter(String name, NDArray value, boolean decay) {
        value.setRequiresGradient(true);
        parameters.put(name, value);
        decayed.put(name, decay);
        return value;
    }

    long parameterCount() {
        long n = 0;
        for (NDArray p : parameters.values()) {
            n += p.size();
        }
        return n;
    }

    /**
     * Logits [batch, length, 256] of tokens [batch, length] (int64) at positions offset…offset+length-1.
     *
     * @param caches   one per layer, extended in place (their arrays moved to {@code cacheScope}), or null
     * @param training whether residual dropout is active
     */
    NDArray forward(NDArray tokens, int offset, Cache[] caches, NDManager cacheScope, boolean training) {
        NDManager scope = tokens.getManager();
        long batch = tokens.getShape().get(0);
        long length = tokens.getShape().get(1);
        NDArray x = tokens.getNDArrayInternal().embedding(tokens, tokenEmbedding, SparseFormat.DENSE).singletonOrThrow();
        NDArray[] rotary = rotary(offset, length, scope);
        for (int l = 0; l < layers; l++) {
            Layer b = blocks[l];
            NDArray h = layerNorm(x, b.norm1Gain, b.norm1Bias);
            h = attention(h, b, rotary, batch, length, caches == null ? null : caches[l], cacheScope);
            x = x.add(residualDropout(h, training));
            h = layerNorm(x, b.norm2Gain, b.norm2Bias);
            h = linear(Activation.gelu(linear(h, b.upWeight, b.upBias)), b.downWeight, b.downBias);
            x = x.add(residualDropout(h, training));
        }
        x = layerNorm(x, finalNormGain, finalNormBias);
        return linear(x, tokenEmbedding, null);
    }

    private NDArray attention(NDArray x, Layer b, NDArray[] rotary, long batch, long length, Cache cache,
                              NDManager cacheScope) {
        NDList qkv = linear(x, b.qkvWeight, b.qkvBias).reshape(batch, length, 3, heads, headDim)
                .transpose(2, 0, 3, 1, 4).split(3, 0);
        Shape headShape = new Shape(batch, heads, length, headDim);
        NDArray q = rotate(qkv.get(0).reshape(headShape), rotary).mul(1.0 / Math.sqrt(headDim));
        NDArray k = rotate(qkv.get(1).reshape(headShape), rotary);
        NDArray v = qkv.get(2).reshape(headShape);
        int past = 0;
        if (cache != null) {
            past = cache.length();
            NDArray keys = past == 0 ? k : cache.keys.concat(k, 2);
            NDArray values = past == 0 ? v : cache.values.concat(v, 2);
            if (past > 0) {
                cache.keys.close();
                cache.values.close();
            }
            keys.attach(cacheScope);
            values.attach(cacheScope);
            cache.keys = keys;
            cache.values = values;
            k = keys;
            v = values;
        }
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2));
        if (length > 1) {
            scores = scores.add(causalMask(length, past));
        }
        NDArray y = scores.softmax(-1).matMul(v).transpose(0, 2, 1, 3).reshape(batch, length, dim);
        return linear(y, b.outWeight, b.outBias);
    }

    /** x [batch, heads, length, headDim] rotated: (x1, x2) → (x1·cos − x2·sin, x2·cos + x1·sin). */
    private NDArray rotate(NDArray x, NDArray[] rotary) {
        int half = headDim / 2;
        NDArray x1 = x.get("..., :" + half);
        NDArray x2 = x.get("..., " + half + ":");
        NDArray first = x1.mul(rotary[0]).sub(x2.mul(rotary[1]));
        NDArray second = x2.mul(rotary[0]).add(x1.mul(rotary[1]));
        return first.concat(second, -1);
    }

    /** The cos and sin rows [length, headDim/2] of positions offset…; cached for offset 0. */
    private NDArray[] rotary(int offset, long length, NDManager scope) {
        if (offset == 0) {
            return rotaryAtZero.computeIfAbsent(length, n -> new NDArray[] {
                cosTable.get("0:" + n), sinTable.get("0:" + n)});
        }
        NDArray cos = cosTable.get(offset + ":" + (offset + length));
        NDArray sin = sinTable.get(offset + ":" + (offset + length));
        cos.attach(scope);
        sin.attach(scope);
        return new NDArray[] {cos, sin};
    }

    /** Additive causal mask [length, past+length] for queries at past…past+length-1 (cached for past 0). */
    private NDArray causalMask(long length, int past) {
        if (past != 0) {
            throw new IllegalArgumentException("CharLm: a multi-token step after cached positions is not supported");
        }
        return causalMasks.computeIfAbsent(length, n -> {
            float[] mask = new float[(int) (n * n)];
            for (int i = 0; i < n; i++) {
                for (int j = i + 1; j < n; j++) {
                    mask[(int) (i * n + j)] = Float.NEGATIVE_INFINITY;
                }
            }
            return manager.create(mask, new Shape(n, n));
        });
    }

    private NDArray residualDropout(NDArray x, boolean training) {
        if (!training || dropout == 0f) {
            return x;
        }
        return x.getNDArrayInternal().dropout(x, dropout, true).singletonOrThrow();
    }

    private static NDArray linear(NDArray x, NDArray weight, NDArray bias) {
        NDArrayEx ex = x.getNDArrayInternal();
        return ex.linear(x, weight, bias).singletonOrThrow();
    }

    private NDArray layerNorm(NDArray x, NDArray gain, NDArray bias) {
        return x.getNDArrayInternal().layerNorm(x, new Shape(dim), gain, bias, 1e-5f).singletonOrThrow();
    }

    Cache[] newCaches() {
        Cache[] caches = new Cache[layers];
        for (int l = 0; l < layers; l++) {
            caches[l] = new Cache();
        }
        return caches;
    }

    List<String> parameterNames() {
        return new ArrayList<>(parameters.keySet());
    }
}
