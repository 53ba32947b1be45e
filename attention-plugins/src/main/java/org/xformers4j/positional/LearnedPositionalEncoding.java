package org.xformers4j.positional;

import com.oracle.labs.mlrg.olcut.config.Config;
import java.util.random.RandomGenerator;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.positional.PositionalCapabilities;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.nn.Init;
import org.xformers4j.nn.Module;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.Tensor;

/**
 * Learned absolute position embeddings (Gehring et al., 2017, "Convolutional Sequence to
 * Sequence Learning"; used by BERT and GPT): a trainable table {@code weight} [maxLength,
 * modelDim] whose row p is added to the token embedding at position p. Positions at or beyond
 * {@code maxLength} have no row and are rejected.
 *
 * <p>The table is created by {@link #initialize(int, RandomGenerator)} with N(0, initStd²)
 * entries (0.02 as in BERT, Devlin et al., 2019) and registered as the module's parameter
 * {@code weight}, so the owning model optimises it.
 */
@ComponentInfo(name = "learned",
        summary = "Trainable absolute position vectors, one per position up to maxLength, added to the embeddings",
        reference = "Gehring et al., 2017, Convolutional Sequence to Sequence Learning")
@PositionalCapabilities(addsToEmbeddings = true, learnable = true, maximumLength = true, extrapolates = false)
public final class LearnedPositionalEncoding extends Module implements PositionalEncoding {

    private static final String NAME = "learned";

    @Config(description = "Number of positions with a learned vector; longer inputs are rejected.")
    @Range(min = 1)
    private int maxLength = 512;

    @Config(description = "Standard deviation of the normal initialisation of the table.")
    @Range(min = 0, maxInclusive = false)
    private float initStd = 0.02f;

    private int modelDim;
    private Tensor weight;

    /** For OLCUT. */
    private LearnedPositionalEncoding() {
    }

    /** An encoding for up to {@code maxLength} positions, initialised N(0, initStd²). */
    public LearnedPositionalEncoding(int maxLength, float initStd) {
        this.maxLength = maxLength;
        this.initStd = initStd;
        postConfig();
    }

    /** Creates and registers the table [maxLength, modelDim]; once only. */
    @Override
    public void initialize(int modelDim, int heads, RandomGenerator rng) {
        if (weight != null) {
            throw new IllegalStateException(NAME + ": already initialized with modelDim " + this.modelDim);
        }
        int dim = EmbeddingArgs.modelDim(NAME, modelDim);
        this.weight = registerParameter("weight", Init.normal(rng, 0f, initStd, maxLength, dim));
        this.modelDim = dim;
    }

    /** {@code embeddings} [batch, length, modelDim] + weight[offset … offset + length). */
    @Override
    public Tensor addToEmbeddings(Tensor embeddings, int offset) {
        EmbeddingArgs.check(NAME, embeddings, offset, modelDim);
        int length = embeddings.size(1);
        EmbeddingArgs.checkWithin(NAME, offset, length, maxLength, "maxLength " + maxLength, "maxLength");
        int[] positions = new int[length];
        for (int p = 0; p < length; p++) {
            positions[p] = offset + p;
        }
        return embeddings.add(Functional.embedding(weight, positions, length));
    }

    /** The table [maxLength, modelDim]; null before {@link #initialize(int, RandomGenerator)}. */
    public Tensor weight() {
        return weight;
    }

    public int maxLength() {
        return maxLength;
    }

    @Override
    public String toString() {
        return "LearnedPositionalEncoding(maxLength=" + maxLength + ", modelDim=" + modelDim + ")";
    }
}
