package org.xformers4j.component.conformance;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.nn.Embedding;
import org.xformers4j.nn.KvCache;
import org.xformers4j.nn.LayerNorm;
import org.xformers4j.nn.Linear;
import org.xformers4j.nn.Module;
import org.xformers4j.nn.MultiHeadAttention;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * A decoder-only language model just large enough to generate with, built from the {@code nn}
 * layers around a mechanism under test: token embeddings of a vocabulary of {@value #VOCABULARY},
 * {@value #LAYERS} pre-norm causal self-attention blocks {@code x + MultiHeadAttention(LayerNorm(x))}
 * (the pre-norm arrangement of GPT-2, Radford et al., 2019; no positional encoding, no
 * feed-forward), and a final layer norm and linear map to next-token logits. Its weights are drawn
 * from a seeded generator, and it is in evaluation mode.
 */
final class TinyLanguageModel extends Module {

    static final int VOCABULARY = 13;
    static final int LAYERS = 2;

    private static final AttentionContext CAUSAL = AttentionContext.builder().causal(true).build();

    private final Embedding embedding;
    private final List<LayerNorm> norms = new ArrayList<>();
    private final List<MultiHeadAttention> attentions = new ArrayList<>();
    private final LayerNorm finalNorm;
    private final Linear logits;

    /**
     * @param mechanisms a fresh, uninitialised mechanism for each layer
     * @param heads      attention heads per layer
     * @param headDim    size of each head; the model width is {@code heads * headDim}
     * @param seed       seed of every weight
     */
    TinyLanguageModel(Supplier<AttentionMechanism> mechanisms, int heads, int headDim, long seed) {
        int modelDim = heads * headDim;
        SplittableRandom rng = new SplittableRandom(seed);
        this.embedding = registerModule("embedding", new Embedding(VOCABULARY, modelDim, rng));
        for (int layer = 0; layer < LAYERS; layer++) {
            norms.add(registerModule("norm" + layer, new LayerNorm(modelDim)));
            attentions.add(registerModule("attention" + layer,
                    new MultiHeadAttention(modelDim, heads, mechanisms.get(), null, true, rng)));
        }
        this.finalNorm = registerModule("finalNorm", new LayerNorm(modelDim));
        this.logits = registerModule("logits", new Linear(modelDim, VOCABULARY, true, rng));
        eval();
    }

    /** Empty caches for {@link #nextTokenLogits}, one per layer. */
    List<KvCache> newCaches() {
        List<KvCache> caches = new ArrayList<>();
        for (int layer = 0; layer < LAYERS; layer++) {
            caches.add(new KvCache());
        }
        return caches;
    }

    /**
     * The logits of the token after the last of {@code tokens}, without recording a graph: one
     * causal pass over {@code tokens} alone, or, with {@code caches}, over the positions they hold
     * followed by {@code tokens}, which are then appended to them.
     *
     * @param tokens [batch][length] token ids, every row of the same length
     * @param caches one cache per layer, or null to attend over {@code tokens} only
     * @return [batch * {@value #VOCABULARY}] logits, row by row
     */
    float[] nextTokenLogits(int[][] tokens, List<KvCache> caches) {
        int batch = tokens.length;
        int length = tokens[0].length;
        int[] ids = new int[batch * length];
        for (int row = 0; row < batch; row++) {
            System.arraycopy(tokens[row], 0, ids, row * length, length);
        }
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            Tensor x = embedding.forward(ids, batch, length);
            for (int layer = 0; layer < LAYERS; layer++) {
                Tensor normed = norms.get(layer).forward(x);
                MultiHeadAttention attention = attentions.get(layer);
                x = x.add(caches == null ? attention.selfAttention(normed, CAUSAL)
                        : attention.selfAttentionStep(normed, CAUSAL, caches.get(layer)));
            }
            return logits.forward(finalNorm.forward(x.narrow(1, length - 1, 1))).toFloatArray();
        }
    }
}
