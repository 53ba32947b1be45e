package org.xformers4j.attention.lowrank;

import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * Linformer's projection by a matrix (Wang et al., 2020, "Linformer: Self-Attention with Linear
 * Complexity"): {@code Eᵀ x} for E [n, k] (the transpose of the paper's k×n E_i; one matrix for
 * every head) or [H, n, k] (one per head), of which an input of L ≤ n positions uses
 * the first L rows (what zero-padding it to n would give) and the first {@code columns} columns
 * (all of them unless a layer of a stack with a shrinking k uses fewer of a shared matrix).
 */
final class MatrixProjection implements SequenceProjection {

    private final Tensor weight;
    private final int columns;

    /**
     * @param weight  E, [n, k] or [H, n, k]: a parameter, or a constant
     * @param columns how many leading columns of E this layer uses, at most k
     */
    MatrixProjection(Tensor weight, int columns) {
        this.weight = weight;
        this.columns = columns;
    }

    /** x [B, H, L, F] → Eᵀ x [B, H, columns, F]. */
    @Override
    public Tensor project(Tensor x) {
        return used(x.size(2)).matmul(x, true, false);
    }

    /** A slot is unreached when its column of E is zero on every real row: Σ_real |E| = 0. */
    @Override
    public Tensor unreached(Tensor real) {
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            int batch = real.size(0);
            int length = real.size(1);
            Tensor reach = real.reshape(batch, 1, 1, length).matmul(used(length).abs());
            return reach.eq(reach.zerosLike());
        }
    }

    /** The rows and columns of E an input of {@code length} positions uses, [length, columns] or [H, length, columns]. */
    private Tensor used(int length) {
        int rows = weight.dim() - 2;
        Tensor e = length < weight.size(rows) ? weight.narrow(rows, 0, length) : weight;
        return columns < weight.size(rows + 1) ? e.narrow(rows + 1, 0, columns) : e;
    }
}
