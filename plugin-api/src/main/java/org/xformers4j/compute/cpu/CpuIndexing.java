package org.xformers4j.compute.cpu;

/**
 * Index-select, index-add, gather and scatter-add kernels of {@link CpuBackend}, along the middle
 * dimension of an array viewed as {@code [outer, n, inner]}; see
 * {@link org.xformers4j.compute.ComputeBackend} for the contracts.
 *
 * <p>Indices are checked before anything is written. The selecting kernels run in parallel over
 * the rows they write. The adding kernels may send several source rows to one destination row, so
 * they run in parallel over (outer block, inner column chunk) pairs, which never collide, and walk
 * the index positions in order inside each: every destination element receives its contributions
 * in ascending position order whatever the thread count.
 */
final class CpuIndexing {

    /** Elements per parallel chunk below which a loop runs inline. */
    private static final int GRAIN = 1 << 14;
    /** Columns of the inner dimension one task of the adding kernels owns. */
    private static final int COLUMNS = 64;

    private final Parallel parallel;

    CpuIndexing(Parallel parallel) {
        this.parallel = parallel;
    }

    void indexSelect(float[] src, int outer, int n, int inner, int[] index, float[] out) {
        // src: [outer, n, inner]; out: [outer, k, inner] with k = index.length
        checkRange("indexSelect", index, n);
        int k = index.length;
        parallel.forRange(outer * k, rowGrain(inner), (from, to) -> {
            for (int row = from; row < to; row++) {
                int o = row / k;
                int t = row % k;
                System.arraycopy(src, (o * n + index[t]) * inner, out, row * inner, inner);
            }
        });
    }

    void indexAdd(float[] dst, int outer, int n, int inner, int[] index, float[] src) {
        // dst: [outer, n, inner]; src: [outer, k, inner] with k = index.length
        checkRange("indexAdd", index, n);
        int k = index.length;
        int chunks = chunks(inner);
        parallel.forRange(outer * chunks, taskGrain(k, inner), (from, to) -> {
            for (int task = from; task < to; task++) {
                int o = task / chunks;
                int j0 = task % chunks * COLUMNS;
                int j1 = Math.min(inner, j0 + COLUMNS);
                for (int t = 0; t < k; t++) {
                    int d = (o * n + index[t]) * inner;
                    int s = (o * k + t) * inner;
                    for (int j = j0; j < j1; j++) {
                        dst[d + j] += src[s + j];
                    }
                }
            }
        });
    }

    void gather(float[] src, int outer, int n, int inner, int[] index, int m, float[] out) {
        // src: [outer, n, inner]; index, out: [outer, m, inner]
        checkRange("gather", index, outer, m, inner, n);
        parallel.forRange(outer * m, rowGrain(inner), (from, to) -> {
            for (int row = from; row < to; row++) {
                int base = row / m * n * inner;
                int off = row * inner;
                for (int j = 0; j < inner; j++) {
                    out[off + j] = src[base + index[off + j] * inner + j];
                }
            }
        });
    }

    void scatterAdd(float[] dst, int outer, int n, int inner, int[] index, int m, float[] src) {
        // dst: [outer, n, inner]; index, src: [outer, m, inner]
        checkRange("scatterAdd", index, outer, m, inner, n);
        int chunks = chunks(inner);
        parallel.forRange(outer * chunks, taskGrain(m, inner), (from, to) -> {
            for (int task = from; task < to; task++) {
                int o = task / chunks;
                int j0 = task % chunks * COLUMNS;
                int j1 = Math.min(inner, j0 + COLUMNS);
                int base = o * n * inner;
                for (int t = 0; t < m; t++) {
                    int off = (o * m + t) * inner;
                    for (int j = j0; j < j1; j++) {
                        dst[base + index[off + j] * inner + j] += src[off + j];
                    }
                }
            }
        });
    }

    /** Every entry of a 1-d index must lie in [0, n). */
    private static void checkRange(String op, int[] index, int n) {
        for (int t = 0; t < index.length; t++) {
            if (index[t] < 0 || index[t] >= n) {
                throw new IllegalArgumentException(op + ": index " + index[t] + " at position " + t
                        + " is out of range [0, " + n + ")");
            }
        }
    }

    /** Every entry of an [outer, m, inner] index must lie in [0, n); the error gives its position as [o, t, j]. */
    private static void checkRange(String op, int[] index, int outer, int m, int inner, int n) {
        int count = outer * m * inner;
        if (index.length < count) {
            throw new IllegalArgumentException(op + ": index has " + index.length + " entries, needs "
                    + outer + "·" + m + "·" + inner + " = " + count);
        }
        for (int e = 0; e < count; e++) {
            if (index[e] < 0 || index[e] >= n) {
                throw new IllegalArgumentException(op + ": index " + index[e] + " at position [" + e / (m * inner)
                        + ", " + e / inner % m + ", " + e % inner + "] is out of range [0, " + n + ")");
            }
        }
    }

    private static int chunks(int inner) {
        return (inner + COLUMNS - 1) / COLUMNS;
    }

    private static int rowGrain(int inner) {
        return Math.max(1, GRAIN / Math.max(1, inner));
    }

    /** Tasks of {@code positions} × at most {@value #COLUMNS} columns each. */
    private static int taskGrain(int positions, int inner) {
        return Math.max(1, GRAIN / Math.max(1, positions * Math.min(inner, COLUMNS)));
    }
}
