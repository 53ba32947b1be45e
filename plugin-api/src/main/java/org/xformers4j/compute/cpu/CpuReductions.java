package org.xformers4j.compute.cpu;

import java.util.Arrays;
import org.xformers4j.compute.BinaryOp;
import org.xformers4j.compute.ReduceOp;
import org.xformers4j.compute.UnaryOp;

/**
 * Reduction, softmax and cumulative-sum kernels of {@link CpuBackend}, on a tensor viewed as
 * [outer, n, inner] and working along n.
 *
 * <p>When inner is 1 each output comes from one contiguous row, which {@link ContiguousLoops}
 * handles (SIMD max, exp-sum and scaling for softmax rows). Otherwise the kernels walk the n rows
 * of a block of up to {@link ContiguousLoops#BLOCK} columns, combining whole row segments
 * elementwise. Threads split the outputs by rows or column blocks, never one output's sum.
 */
final class CpuReductions {

    /** Elements read below which a kernel runs on the calling thread alone. */
    private static final int GRAIN = 1 << 14;

    private final Parallel parallel;
    private final ContiguousLoops loops;

    CpuReductions(Parallel parallel) {
        this(parallel, ContiguousLoops.best());
    }

    CpuReductions(Parallel parallel, ContiguousLoops loops) {
        this.parallel = parallel;
        this.loops = loops;
    }

    /** The columns [j0, j1) of block o of [outer, n, inner]. */
    @FunctionalInterface
    private interface ColumnBody {
        void run(int o, int j0, int j1);
    }

    private void forColumns(int outer, int n, int inner, ColumnBody body) {
        int block = ContiguousLoops.BLOCK;
        int blocksPerOuter = (inner + block - 1) / block;
        int grain = Math.max(1, GRAIN / (Math.max(1, n) * Math.min(inner, block)));
        parallel.forRange(outer * blocksPerOuter, grain, (b0, b1) -> {
            for (int b = b0; b < b1; b++) {
                int o = b / blocksPerOuter;
                int j0 = (b % blocksPerOuter) * block;
                body.run(o, j0, Math.min(inner, j0 + block));
            }
        });
    }

    // ---- reduce: out[o, j] = reduce_r x[o, r, j] ----

    void reduce(ReduceOp op, float[] x, int outer, int n, int inner, float[] out, float[] indices) {
        if (n == 0) {
            Arrays.fill(out, 0, outer * inner, identity(op));
            if (indices != null) {
                Arrays.fill(indices, 0, outer * inner, 0f);
            }
            return;
        }
        boolean arg = indices != null && (op == ReduceOp.MAX || op == ReduceOp.MIN);
        forColumns(outer, n, inner, (o, j0, j1) -> {
            int base = o * n * inner;
            int outBase = o * inner;
            if (arg || (op == ReduceOp.MIN && inner == 1)) {
                for (int j = j0; j < j1; j++) {
                    int r = extremeIndex(x, base + j, inner, n, op == ReduceOp.MAX);
                    out[outBase + j] = x[base + r * inner + j];
                    if (indices != null) {
                        indices[outBase + j] = r;
                    }
                }
            } else if (inner == 1) {
                out[o] = reduceRow(op, x, base, n);
            } else if (op == ReduceOp.LOGSUMEXP) {
                logSumExpColumns(x, base, n, inner, j0, j1, out, outBase);
            } else {
                combineRows(op == ReduceOp.SUM ? BinaryOp.ADD : op == ReduceOp.MAX ? BinaryOp.MAXIMUM : BinaryOp.MINIMUM,
                        x, base, n, inner, j0, j1, out, outBase + j0);
            }
        });
    }

    private static float identity(ReduceOp op) {
        switch (op) {
            case SUM: return 0f;
            case MAX: case LOGSUMEXP: return Float.NEGATIVE_INFINITY;
            case MIN: return Float.POSITIVE_INFINITY;
            default: throw new AssertionError(op);
        }
    }

    /** Position of the first largest (or smallest) of x[offset + r·step], r in [0, n); a NaN counts as the extreme. */
    private static int extremeIndex(float[] x, int offset, int step, int n, boolean largest) {
        int best = 0;
        float bestValue = x[offset];
        for (int r = 1; r < n && bestValue == bestValue; r++) {
            float v = x[offset + r * step];
            if ((largest ? v > bestValue : v < bestValue) || v != v) {
                best = r;
                bestValue = v;
            }
        }
        return best;
    }

    private float reduceRow(ReduceOp op, float[] x, int offset, int n) {
        switch (op) {
            case SUM: return loops.sum(x, offset, n);
            case MAX: return loops.max(x, offset, n);
            case LOGSUMEXP: {
                float m = loops.max(x, offset, n);
                return Float.isInfinite(m) ? m : m + (float) Math.log(loops.expSum(x, offset, n, m, null));
            }
            default: throw new AssertionError(op);
        }
    }

    /** acc[j] = op over r of x[base + r·inner + j] for j in [j0, j1), acc starting at accOffset. */
    private void combineRows(BinaryOp op, float[] x, int base, int n, int inner, int j0, int j1,
                             float[] acc, int accOffset) {
        int len = j1 - j0;
        System.arraycopy(x, base + j0, acc, accOffset, len);
        for (int r = 1; r < n; r++) {
            loops.binary(op, acc, accOffset, 1, x, base + r * inner + j0, 1, acc, accOffset, len);
        }
    }

    private void logSumExpColumns(float[] x, int base, int n, int inner, int j0, int j1, float[] out, int outBase) {
        int len = j1 - j0;
        float[] m = new float[len];
        float[] s = new float[len];
        float[] e = new float[len];
        combineRows(BinaryOp.MAXIMUM, x, base, n, inner, j0, j1, m, 0);
        for (int r = 0; r < n; r++) {
            loops.binary(BinaryOp.SUB, x, base + r * inner + j0, 1, m, 0, 1, e, 0, len);
            loops.unary(UnaryOp.EXP, 0f, e, e, 0, len);
            loops.binary(BinaryOp.ADD, s, 0, 1, e, 0, 1, s, 0, len);
        }
        for (int j = 0; j < len; j++) {
            out[outBase + j0 + j] = Float.isInfinite(m[j]) ? m[j] : m[j] + (float) Math.log(s[j]);
        }
    }

    // ---- softmax: y[o, r, j] = e^(x[o, r, j] - m) / Σ_r e^(x[o, r, j] - m), m = max_r x[o, r, j] ----
    // (0 along a line whose entries are all -∞: masked attention rows with nothing left to see)

    void softmax(float[] x, int outer, int n, int inner, float[] y, boolean log) {
        if (n == 0) {
            return;
        }
        forColumns(outer, n, inner, (o, j0, j1) -> {
            int base = o * n * inner;
            if (inner == 1) {
                softmaxRow(x, base, n, y, log);
            } else {
                softmaxColumns(x, base, n, inner, j0, j1, y, log);
            }
        });
    }

    private void softmaxRow(float[] x, int offset, int n, float[] y, boolean log) {
        float m = loops.max(x, offset, n);
        if (!log && m == Float.NEGATIVE_INFINITY) {
            // every entry -∞: no distribution, zeros (-∞ - -∞ would be NaN)
            Arrays.fill(y, offset, offset + n, 0f);
            return;
        }
        if (log) {
            // log y = x - m - ln Σ e^(x - m)
            float lse = m + (float) Math.log(loops.expSum(x, offset, n, m, null));
            loops.unary(UnaryOp.ADD_SCALAR, -lse, x, y, offset, offset + n);
        } else {
            float s = loops.expSum(x, offset, n, m, y);
            loops.unary(UnaryOp.MUL_SCALAR, 1f / s, y, y, offset, offset + n);
        }
    }

    private void softmaxColumns(float[] x, int base, int n, int inner, int j0, int j1, float[] y, boolean log) {
        int len = j1 - j0;
        float[] m = new float[len];
        float[] s = new float[len];
        combineRows(BinaryOp.MAXIMUM, x, base, n, inner, j0, j1, m, 0);
        if (!log) {
            // a column of -∞ only: shift by 0, so that its entries are e^-∞ = 0 and its sum 0
            for (int j = 0; j < len; j++) {
                m[j] = m[j] == Float.NEGATIVE_INFINITY ? 0f : m[j];
            }
        }
        for (int r = 0; r < n; r++) {
            int row = base + r * inner + j0;
            loops.binary(BinaryOp.SUB, x, row, 1, m, 0, 1, y, row, len);
            loops.unary(UnaryOp.EXP, 0f, y, y, row, row + len);
            loops.binary(BinaryOp.ADD, s, 0, 1, y, row, 1, s, 0, len);
        }
        if (log) {
            for (int j = 0; j < len; j++) {
                m[j] += (float) Math.log(s[j]);
            }
        } else {
            for (int j = 0; j < len; j++) {
                s[j] = s[j] > 0f ? 1f / s[j] : 0f;
            }
        }
        for (int r = 0; r < n; r++) {
            int row = base + r * inner + j0;
            if (log) {
                loops.binary(BinaryOp.SUB, x, row, 1, m, 0, 1, y, row, len);
            } else {
                loops.binary(BinaryOp.MUL, y, row, 1, s, 0, 1, y, row, len);
            }
        }
    }

    /**
     * Softmax: dx = y ⊙ (dy - Σ_r y dy). Log-softmax: dx = dy - e^y Σ_r dy.
     */
    void softmaxBackward(float[] y, float[] dy, int outer, int n, int inner, float[] dx, boolean log) {
        if (n == 0) {
            return;
        }
        forColumns(outer, n, inner, (o, j0, j1) -> {
            int base = o * n * inner;
            int len = j1 - j0;
            // c[j] = Σ_r y dy (softmax) or Σ_r dy (log-softmax), for the columns of this block
            float[] c = new float[len];
            if (inner == 1) {
                c[0] = log ? loops.sum(dy, base, n) : loops.dot(y, dy, base, n);
            } else {
                for (int r = 0; r < n; r++) {
                    int row = base + r * inner + j0;
                    if (log) {
                        loops.binary(BinaryOp.ADD, c, 0, 1, dy, row, 1, c, 0, len);
                    } else {
                        loops.binary(BinaryOp.MUL, y, row, 1, dy, row, 1, dx, row, len);
                        loops.binary(BinaryOp.ADD, c, 0, 1, dx, row, 1, c, 0, len);
                    }
                }
            }
            // with inner == 1 the softmax is over a contiguous run of n, taken in one piece
            int pieces = inner == 1 ? 1 : n;
            int length = inner == 1 ? n : len;
            for (int r = 0; r < pieces; r++) {
                int row = base + r * inner + j0;
                if (log) {
                    loops.unary(UnaryOp.EXP, 0f, y, dx, row, row + length);
                    loops.binary(BinaryOp.MUL, dx, row, 1, c, 0, inner == 1 ? 0 : 1, dx, row, length);
                    loops.binary(BinaryOp.SUB, dy, row, 1, dx, row, 1, dx, row, length);
                } else {
                    loops.binary(BinaryOp.SUB, dy, row, 1, c, 0, inner == 1 ? 0 : 1, dx, row, length);
                    loops.binary(BinaryOp.MUL, dx, row, 1, y, row, 1, dx, row, length);
                }
            }
        });
    }

    // ---- cumsum: y[o, r, j] = Σ_{r' <= r} x[o, r', j] (Σ_{r' >= r} when reverse) ----

    void cumsum(float[] x, int outer, int n, int inner, float[] y, boolean reverse) {
        if (n == 0) {
            return;
        }
        forColumns(outer, n, inner, (o, j0, j1) -> {
            int base = o * n * inner;
            int first = reverse ? n - 1 : 0;
            int step = reverse ? -1 : 1;
            int len = j1 - j0;
            System.arraycopy(x, base + first * inner + j0, y, base + first * inner + j0, len);
            for (int k = 1, r = first + step, prev = first; k < n; k++, prev = r, r += step) {
                int row = base + r * inner + j0;
                int prevRow = base + prev * inner + j0;
                if (inner == 1) {
                    y[row] = y[prevRow] + x[row];
                } else {
                    loops.binary(BinaryOp.ADD, y, prevRow, 1, x, row, 1, y, row, len);
                }
            }
        });
    }
}
