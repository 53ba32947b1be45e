package org.xformers4j.compute.cpu;

import java.util.Arrays;
import org.xformers4j.compute.BinaryOp;
import org.xformers4j.compute.UnaryOp;

/**
 * Elementwise kernels of {@link CpuBackend}; see {@link org.xformers4j.compute.ComputeBackend} for
 * the contracts. Contiguous ranges go to {@link ContiguousLoops} (SIMD where available); broadcast
 * operands are walked as rows of the last dimension after merging the dimensions every operand
 * reads contiguously, so same-shape operands are one long row and a row or scalar broadcast is a
 * row against a fixed row or element.
 */
final class CpuElementwise {

    /** Elements below which a kernel runs on the calling thread alone. */
    private static final int GRAIN = 1 << 14;
    /** Elements per partial sum of {@link #sumOfSquares}: fixed, so the sum does not depend on the thread count. */
    private static final int SUM_CHUNK = 1 << 14;

    private final Parallel parallel;
    private final ContiguousLoops loops;

    CpuElementwise(Parallel parallel) {
        this(parallel, ContiguousLoops.best());
    }

    CpuElementwise(Parallel parallel, ContiguousLoops loops) {
        this.parallel = parallel;
        this.loops = loops;
    }

    void unary(UnaryOp op, float param, float[] x, float[] y, int n) {
        forBlocks(n, (from, to) -> loops.unary(op, param, x, y, from, to));
    }

    void unaryBackward(UnaryOp op, float param, float[] x, float[] y, float[] dy, float[] dx, int n) {
        forBlocks(n, (from, to) -> loops.unaryBackward(op, param, x, y, dy, dx, from, to));
    }

    void dropout(long state, float p, float[] x, float[] y, int n) {
        float keep = 1f / (1f - p);
        // u_i = (r_i >>> 8) · 2^-24 < p exactly when r_i >>> 8 < p · 2^24 (both sides exact): compare integers
        long threshold = (long) Math.ceil(p * 0x1.0p24);
        forBlocks(n, (from, to) -> loops.dropout(state, threshold, keep, x, y, from, to));
    }

    void binary(BinaryOp op, int[] shape, float[] a, int[] aStrides, float[] b, int[] bStrides, float[] out) {
        checkRank("binary " + op, shape, aStrides, bStrides);
        int[][] c = collapse(shape, aStrides, bStrides);
        int[] cShape = c[0];
        int last = cShape.length - 1;
        int aStep = c[1][last];
        int bStep = c[2][last];
        forSegments(cShape, new int[][] {c[1], c[2]}, (offsets, outOffset, length) ->
                loops.binary(op, a, offsets[0], aStep, b, offsets[1], bStep, out, outOffset, length));
    }

    void where(int[] shape, float[] cond, int[] condStrides, float[] a, int[] aStrides,
               float[] b, int[] bStrides, float[] out) {
        checkRank("where", shape, condStrides, aStrides, bStrides);
        int[][] c = collapse(shape, condStrides, aStrides, bStrides);
        int[] cShape = c[0];
        int last = cShape.length - 1;
        int cStep = c[1][last];
        int aStep = c[2][last];
        int bStep = c[3][last];
        forSegments(cShape, new int[][] {c[1], c[2], c[3]}, (offsets, outOffset, length) -> {
            for (int i = 0; i < length; i++) {
                out[outOffset + i] = cond[offsets[0] + i * cStep] != 0
                        ? a[offsets[1] + i * aStep] : b[offsets[2] + i * bStep];
            }
        });
    }

    void axpy(float alpha, float[] x, float[] y, int n) {
        forBlocks(n, (from, to) -> loops.axpy(alpha, x, y, from, to));
    }

    double sumOfSquares(float[] x, int n) {
        int chunks = (n + SUM_CHUNK - 1) / SUM_CHUNK;
        double[] partial = new double[chunks];
        parallel.forRange(chunks, 1, (c0, c1) -> {
            for (int c = c0; c < c1; c++) {
                double s = 0;
                for (int i = c * SUM_CHUNK, end = Math.min(n, i + SUM_CHUNK); i < end; i++) {
                    s += (double) x[i] * x[i];
                }
                partial[c] = s;
            }
        });
        double total = 0;
        for (double s : partial) {
            total += s;
        }
        return total;
    }

    /** Runs body over [0, n) split between threads at multiples of {@link ContiguousLoops#BLOCK}. */
    private void forBlocks(int n, Parallel.IntRangeBody body) {
        int block = ContiguousLoops.BLOCK;
        int blocks = (int) (((long) n + block - 1) / block);
        parallel.forRange(blocks, GRAIN / block,
                (b0, b1) -> body.run(b0 * block, (int) Math.min(n, (long) b1 * block)));
    }

    /** A contiguous run of outputs and where each operand's first element of it is. */
    @FunctionalInterface
    private interface SegmentBody {
        void run(int[] offsets, int outOffset, int length);
    }

    /**
     * Calls body for runs of consecutive outputs within one row of the last dimension of shape,
     * with each operand's offset for the run's first element; the output is contiguous.
     */
    private void forSegments(int[] shape, int[][] strides, SegmentBody body) {
        int rank = shape.length;
        int inner = shape[rank - 1];
        int total = 1;
        for (int s : shape) {
            total *= s;
        }
        parallel.forRange(total, GRAIN, (from, to) -> {
            int[] offsets = new int[strides.length];
            for (int pos = from; pos < to; ) {
                int j = pos % inner;
                int row = pos / inner;
                int length = Math.min(inner - j, to - pos);
                for (int k = 0; k < strides.length; k++) {
                    offsets[k] = j * strides[k][rank - 1];
                }
                for (int d = rank - 2; d >= 0; d--) {
                    int i = row % shape[d];
                    row /= shape[d];
                    for (int k = 0; k < strides.length; k++) {
                        offsets[k] += i * strides[k][d];
                    }
                }
                body.run(offsets, pos, length);
                pos += length;
            }
        });
    }

    /**
     * The shape and strides with size-1 dimensions dropped and neighbouring dimensions merged
     * wherever every operand steps through them as through one (the contiguous output always does).
     * Returns {shape, strides of operand 0, strides of operand 1, ...}, of rank at least 1.
     */
    static int[][] collapse(int[] shape, int[]... strides) {
        int ops = strides.length;
        int[] outShape = new int[Math.max(1, shape.length)];
        int[][] outStrides = new int[ops][outShape.length];
        int rank = 0;
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] == 1) {
                continue;
            }
            boolean merge = rank > 0;
            for (int k = 0; k < ops && merge; k++) {
                merge = outStrides[k][rank - 1] == strides[k][d] * shape[d];
            }
            if (merge) {
                outShape[rank - 1] *= shape[d];
                for (int k = 0; k < ops; k++) {
                    outStrides[k][rank - 1] = strides[k][d];
                }
            } else {
                outShape[rank] = shape[d];
                for (int k = 0; k < ops; k++) {
                    outStrides[k][rank] = strides[k][d];
                }
                rank++;
            }
        }
        if (rank == 0) {
            outShape[0] = 1;
            rank = 1;
        }
        int[][] result = new int[ops + 1][];
        result[0] = Arrays.copyOf(outShape, rank);
        for (int k = 0; k < ops; k++) {
            result[k + 1] = Arrays.copyOf(outStrides[k], rank);
        }
        return result;
    }

    private static void checkRank(String op, int[] shape, int[]... strides) {
        for (int[] s : strides) {
            if (s.length != shape.length) {
                throw new IllegalArgumentException(op + ": shape " + Arrays.toString(shape) + " has rank "
                        + shape.length + " but operand strides " + Arrays.toString(s) + " have rank " + s.length);
            }
        }
    }
}
