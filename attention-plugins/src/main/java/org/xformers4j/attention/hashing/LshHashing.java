package org.xformers4j.attention.hashing;

import java.util.SplittableRandom;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * Angular locality-sensitive hashing by random rotations (Andoni et al., 2015, "Practical and
 * Optimal LSH for Angular Distance"), as Reformer uses it (Kitaev et al., 2020, §3): for a bucket
 * count b, draw a Gaussian matrix R [headDim, b/2] and hash x to {@code argmax([xR; -xR])}.
 *
 * <p>A factorised bucket count b = b₁·b₂·… (the paper's trick for many buckets) hashes with one
 * rotation of b₁/2 columns, one of b₂/2, … and combines the digits as
 * {@code h₁ + b₁·(h₂ + b₂·(…))}, so it needs Σ bᵢ/2 columns instead of b/2. One bucket needs no
 * rotation at all.
 *
 * <p>Every round has its own rotations. They are drawn once, in order, from the seed, so the same
 * seed hashes the same vectors to the same buckets in every call and every instance.
 */
final class LshHashing {

    private final int headDim;
    private final int rounds;
    private final int[] factors;
    /** Rotation columns per round: Σ factors[i] / 2. */
    private final int columns;
    /** [headDim, rounds · columns]; round r owns columns [r·columns, (r+1)·columns). */
    private final float[] rotations;

    /**
     * @param factors the bucket count as a product of even factors; empty for a single bucket
     */
    LshHashing(int headDim, int rounds, int[] factors, long seed) {
        this.headDim = headDim;
        this.rounds = rounds;
        this.factors = factors.clone();
        this.columns = columns(factors);
        this.rotations = new float[headDim * rounds * columns];
        SplittableRandom rng = new SplittableRandom(seed);
        for (int i = 0; i < rotations.length; i++) {
            rotations[i] = (float) rng.nextGaussian();
        }
    }

    /** Rotation columns per round for a bucket count factorised as {@code factors}: Σ factors[i] / 2. */
    static int columns(int[] factors) {
        int c = 0;
        for (int f : factors) {
            c += f / 2;
        }
        return c;
    }

    int headDim() {
        return headDim;
    }

    /** A copy of the rotations, [headDim, rounds · Σ factors/2] row-major. */
    float[] rotations() {
        return rotations.clone();
    }

    /**
     * The bucket of every vector in every round: {@code x} [batch, heads, length, headDim] →
     * buckets laid out [batch·heads, rounds, length]. Not differentiable (argmax); x's graph is
     * left alone.
     */
    int[] buckets(Tensor x) {
        int batchHeads = x.size(0) * x.size(1);
        int length = x.size(2);
        int[] out = new int[batchHeads * rounds * length];
        if (columns == 0) {
            return out;
        }
        float[] rotated;
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            // [B, H, N, D] · [D, rounds·columns] → [B, H, N, rounds·columns]
            rotated = x.matmul(Tensor.of(x.backend(), rotations, headDim, rounds * columns)).toFloatArray();
        }
        for (int bh = 0; bh < batchHeads; bh++) {
            for (int n = 0; n < length; n++) {
                int row = (bh * length + n) * rounds * columns;
                for (int r = 0; r < rounds; r++) {
                    out[(bh * rounds + r) * length + n] = bucket(rotated, row + r * columns);
                }
            }
        }
        return out;
    }

    /** Combines the factors' digits argmax([xRᵢ; -xRᵢ]) read from {@code rotated} at {@code offset}. */
    private int bucket(float[] rotated, int offset) {
        int bucket = 0;
        int place = 1;
        for (int f : factors) {
            int half = f / 2;
            int best = 0;
            float bestValue = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < f; i++) {
                float value = i < half ? rotated[offset + i] : -rotated[offset + i - half];
                if (value > bestValue) {
                    best = i;
                    bestValue = value;
                }
            }
            bucket += place * best;
            place *= f;
            offset += half;
        }
        return bucket;
    }
}
