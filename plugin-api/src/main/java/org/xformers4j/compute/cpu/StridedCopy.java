package org.xformers4j.compute.cpu;

/** Copies between strided views of arrays: the one kernel behind permute, slice, concat and expand. */
final class StridedCopy {

    private static final int GRAIN = 1 << 14;

    private StridedCopy() {
    }

    static void copy(Parallel parallel, int[] shape, float[] src, int srcOffset, int[] srcStrides,
                     float[] dst, int dstOffset, int[] dstStrides) {
        int rank = shape.length;
        if (srcStrides.length != rank || dstStrides.length != rank) {
            throw new IllegalArgumentException("copyStrided: shape has rank " + rank + " but strides have "
                    + srcStrides.length + " and " + dstStrides.length);
        }
        if (rank == 0) {
            dst[dstOffset] = src[srcOffset];
            return;
        }
        int inner = shape[rank - 1];
        long rowsLong = 1;
        for (int d = 0; d < rank - 1; d++) {
            rowsLong *= shape[d];
        }
        if (rowsLong == 0 || inner == 0) {
            return;
        }
        int rows = Math.toIntExact(rowsLong);
        int srcStep = srcStrides[rank - 1];
        int dstStep = dstStrides[rank - 1];
        int grainRows = Math.max(1, GRAIN / inner);
        parallel.forRange(rows, grainRows, (from, to) -> {
            int[] index = new int[rank - 1];
            int rest = from;
            for (int d = rank - 2; d >= 0; d--) {
                index[d] = rest % shape[d];
                rest /= shape[d];
            }
            for (int row = from; row < to; row++) {
                int s = srcOffset;
                int t = dstOffset;
                for (int d = 0; d < rank - 1; d++) {
                    s += index[d] * srcStrides[d];
                    t += index[d] * dstStrides[d];
                }
                if (srcStep == 1 && dstStep == 1) {
                    System.arraycopy(src, s, dst, t, inner);
                } else {
                    for (int j = 0; j < inner; j++) {
                        dst[t + j * dstStep] = src[s + j * srcStep];
                    }
                }
                for (int d = rank - 2; d >= 0 && ++index[d] == shape[d]; d--) {
                    index[d] = 0;
                }
            }
        });
    }
}
