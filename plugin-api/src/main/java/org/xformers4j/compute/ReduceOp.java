package org.xformers4j.compute;

/** Reductions along one dimension of a tensor viewed as [outer, n, inner]. */
public enum ReduceOp {
    SUM,
    MAX,
    MIN,
    /** ln Σ e^x, computed stably. */
    LOGSUMEXP
}
