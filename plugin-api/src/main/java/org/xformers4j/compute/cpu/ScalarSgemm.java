package org.xformers4j.compute.cpu;

/**
 * Plain-Java SGEMM: the fallback without the Vector API.
 *
 * <p>Cache-blocked: a {@code KC x NC} block of op(B) is packed row-major (which also undoes a
 * transpose) so it stays in L2, then every row of C in the block is accumulated in i-k-j order into
 * a row buffer ({@code acc[j] += A(i,p) * B(p,j)}, a loop the JIT may auto-vectorise) and written
 * back as {@code alpha * acc + beta * C}. Rows are split between threads; the summation order of
 * every element is fixed by the block sizes alone, so results do not depend on the thread count.
 */
public final class ScalarSgemm implements Sgemm {

    /** The single instance; the kernel is stateless. */
    public static final ScalarSgemm INSTANCE = new ScalarSgemm();

    private static final int KC = 256;
    private static final int NC = 512;
    /** Minimum rows per thread chunk. */
    private static final int ROW_GRAIN = 8;

    private static final ThreadLocal<float[]> ACC = ThreadLocal.withInitial(() -> new float[NC]);

    private ScalarSgemm() {
    }

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                     float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb,
                     float beta, float[] c, int cOffset, int ldc, Parallel parallel) {
        if (GemmSupport.checkOrFinishTrivial(transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb,
                beta, c, cOffset, ldc, parallel)) {
            return;
        }
        int ncMax = Math.min(NC, n);
        int kcMax = Math.min(KC, k);
        float[] packed = new float[kcMax * ncMax];
        for (int jc = 0; jc < n; jc += NC) {
            int nb = Math.min(NC, n - jc);
            for (int pc = 0; pc < k; pc += KC) {
                int kb = Math.min(KC, k - pc);
                packB(transB, b, bOffset, ldb, pc, kb, jc, nb, packed);
                float betaBlock = pc == 0 ? beta : 1f;
                final int fjc = jc;
                final int fpc = pc;
                parallel.forRange(m, ROW_GRAIN, (from, to) ->
                        rows(from, to, transA, a, aOffset, lda, fpc, kb, packed, nb, alpha, betaBlock,
                                c, cOffset + fjc, ldc));
            }
        }
    }

    /** packed[p * nb + j] = op(B)(pc + p, jc + j). */
    private static void packB(boolean transB, float[] b, int bOffset, int ldb,
                              int pc, int kb, int jc, int nb, float[] packed) {
        if (!transB) {
            for (int p = 0; p < kb; p++) {
                System.arraycopy(b, bOffset + (pc + p) * ldb + jc, packed, p * nb, nb);
            }
        } else {
            // op(B)(p, j) = B[j][p]
            for (int j = 0; j < nb; j++) {
                int src = bOffset + (jc + j) * ldb + pc;
                for (int p = 0; p < kb; p++) {
                    packed[p * nb + j] = b[src + p];
                }
            }
        }
    }

    private static void rows(int from, int to, boolean transA, float[] a, int aOffset, int lda,
                             int pc, int kb, float[] packed, int nb, float alpha, float beta,
                             float[] c, int cOff, int ldc) {
        float[] acc = ACC.get();
        for (int i = from; i < to; i++) {
            java.util.Arrays.fill(acc, 0, nb, 0f);
            for (int p = 0; p < kb; p++) {
                float aip = transA ? a[aOffset + (pc + p) * lda + i] : a[aOffset + i * lda + pc + p];
                int row = p * nb;
                for (int j = 0; j < nb; j++) {
                    acc[j] += aip * packed[row + j];
                }
            }
            int cr = cOff + i * ldc;
            if (beta == 0f) {
                for (int j = 0; j < nb; j++) {
                    c[cr + j] = alpha * acc[j];
                }
            } else if (beta == 1f) {
                for (int j = 0; j < nb; j++) {
                    c[cr + j] = alpha * acc[j] + c[cr + j];
                }
            } else {
                for (int j = 0; j < nb; j++) {
                    c[cr + j] = alpha * acc[j] + beta * c[cr + j];
                }
            }
        }
    }
}
