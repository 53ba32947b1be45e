package org.xformers4j.nn;

import java.util.random.RandomGenerator;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.Tensor;

/**
 * A lookup table of learned vectors, one per token id, as {@code torch.nn.Embedding}; the weight
 * [numEmbeddings, embeddingDim] is initialised N(0, 1) as PyTorch does.
 */
public final class Embedding extends Module {

    private final int numEmbeddings;
    private final int embeddingDim;
    private final Tensor weight;

    /**
     * @param numEmbeddings number of ids (the vocabulary size)
     * @param embeddingDim  size of each vector
     * @param rng           seeded generator for the weight
     */
    public Embedding(int numEmbeddings, int embeddingDim, RandomGenerator rng) {
        this.numEmbeddings = Args.positive("Embedding", "numEmbeddings", numEmbeddings);
        this.embeddingDim = Args.positive("Embedding", "embeddingDim", embeddingDim);
        this.weight = registerParameter("weight", Init.normal(rng, 0f, 1f, numEmbeddings, embeddingDim));
    }

    /** The vectors of {@code ids} laid out in {@code idsShape}: the result is idsShape + [embeddingDim]. */
    public Tensor forward(int[] ids, int... idsShape) {
        return Functional.embedding(weight, ids, idsShape);
    }

    /** The table, [numEmbeddings, embeddingDim]. */
    public Tensor weight() {
        return weight;
    }

    public int numEmbeddings() {
        return numEmbeddings;
    }

    public int embeddingDim() {
        return embeddingDim;
    }
}
