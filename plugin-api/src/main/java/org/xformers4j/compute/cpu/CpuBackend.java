package org.xformers4j.compute.cpu;

import java.util.Arrays;
import org.xformers4j.compute.AttentionProblem;
import org.xformers4j.compute.BinaryOp;
import org.xformers4j.compute.Buffer;
import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.compute.MemoryStats;
import org.xformers4j.compute.ReduceOp;
import org.xformers4j.compute.UnaryOp;
import org.osgi.service.component.annotations.Component;

/**
 * The pure-Java backend: Java arrays, its own thread pool ({@link Parallel}), and SIMD kernels
 * through {@code jdk.incubator.vector} when the JVM runs with
 * {@code --add-modules jdk.incubator.vector} (scalar kernels otherwise, about 10 times slower GEMM, and
 * one warning at the first backend of the JVM naming that flag). Published as an OSGi
 * service inside a framework and through {@link java.util.ServiceLoader} on a class path.
 */
@Component(service = ComputeBackend.class)
public final class CpuBackend implements ComputeBackend {

    private final Parallel parallel;
    private final Sgemm sgemm;
    private final CpuMemory memory = new CpuMemory();
    private final CpuElementwise elementwise;
    private final CpuReductions reductions;
    private final CpuNorms norms;
    private final CpuIndexing indexing;
    private final CpuOptimizers optimizers;
    private final CpuFlashAttention attention;
    private final CpuDecodingAttention decodingAttention;

    /** The backend on the shared pool with the fastest GEMM this JVM supports (ServiceLoader entry point). */
    public CpuBackend() {
        this(Parallel.shared(), Sgemm.best());
    }

    /** A backend on a given pool and GEMM kernel, for tests and benchmarks. */
    public CpuBackend(Parallel parallel, Sgemm sgemm) {
        this.parallel = parallel;
        this.sgemm = sgemm;
        this.elementwise = new CpuElementwise(parallel);
        this.reductions = new CpuReductions(parallel);
        this.norms = new CpuNorms(parallel);
        this.indexing = new CpuIndexing(parallel);
        this.optimizers = new CpuOptimizers(parallel);
        this.attention = new CpuFlashAttention(parallel, TileGemm.best(), ContiguousLoops.best(), this::allocate);
        this.decodingAttention = new CpuDecodingAttention(parallel, sgemm, ContiguousLoops.best());
    }

    /** The thread pool kernels run on. */
    public Parallel parallel() {
        return parallel;
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public int priority() {
        return 0;
    }

    @Override
    public boolean isAvailable() {
        return true;
    }

    @Override
    public String description() {
        return "cpu: " + parallel.threads() + " threads, GEMM " + sgemm.name();
    }

    @Override
    public MemoryStats memory() {
        return memory;
    }

    static float[] array(Buffer buffer) {
        if (!(buffer instanceof CpuBuffer cpu)) {
            throw new IllegalArgumentException("buffer belongs to backend "
                    + (buffer == null ? "null" : buffer.backend().name()) + ", not cpu");
        }
        return cpu.array();
    }

    private static float[] arrayOrNull(Buffer buffer) {
        return buffer == null ? null : array(buffer);
    }

    @Override
    public Buffer allocate(int length) {
        if (length < 0) {
            throw new IllegalArgumentException("buffer length must be >= 0, got " + length);
        }
        return new CpuBuffer(this, new float[length], memory);
    }

    @Override
    public Buffer upload(float[] host) {
        return new CpuBuffer(this, host.clone(), memory);
    }

    @Override
    public float[] download(Buffer buffer, int length) {
        return Arrays.copyOf(array(buffer), length);
    }

    @Override
    public void fill(Buffer buffer, int offset, int length, float value) {
        Arrays.fill(array(buffer), offset, offset + length, value);
    }

    @Override
    public void copyStrided(int[] shape, Buffer src, int srcOffset, int[] srcStrides,
                            Buffer dst, int dstOffset, int[] dstStrides) {
        StridedCopy.copy(parallel, shape, array(src), srcOffset, srcStrides, array(dst), dstOffset, dstStrides);
    }

    @Override
    public void gemm(int batch, boolean transA, boolean transB, int m, int n, int k, float alpha,
                     Buffer a, int[] aOffsets, int lda, Buffer b, int[] bOffsets, int ldb,
                     float beta, Buffer c, int[] cOffsets, int ldc) {
        float[] aa = array(a);
        float[] ba = array(b);
        float[] ca = array(c);
        // Each product is parallel inside; products run one after the other.
        for (int i = 0; i < batch; i++) {
            sgemm.gemm(transA, transB, m, n, k, alpha, aa, aOffsets[i], lda, ba, bOffsets[i], ldb,
                    beta, ca, cOffsets[i], ldc, parallel);
        }
    }

    @Override
    public void unary(UnaryOp op, float param, Buffer x, Buffer y, int n) {
        elementwise.unary(op, param, array(x), array(y), n);
    }

    @Override
    public void unaryBackward(UnaryOp op, float param, Buffer x, Buffer y, Buffer dy, Buffer dx, int n) {
        elementwise.unaryBackward(op, param, array(x), array(y), array(dy), array(dx), n);
    }

    @Override
    public void dropout(long state, float p, Buffer x, Buffer y, int n) {
        elementwise.dropout(state, p, array(x), array(y), n);
    }

    @Override
    public void binary(BinaryOp op, int[] shape, Buffer a, int[] aStrides, Buffer b, int[] bStrides, Buffer out) {
        elementwise.binary(op, shape, array(a), aStrides, array(b), bStrides, array(out));
    }

    @Override
    public void where(int[] shape, Buffer cond, int[] condStrides, Buffer a, int[] aStrides,
                      Buffer b, int[] bStrides, Buffer out) {
        elementwise.where(shape, array(cond), condStrides, array(a), aStrides, array(b), bStrides, array(out));
    }

    @Override
    public void axpy(float alpha, Buffer x, Buffer y, int n) {
        elementwise.axpy(alpha, array(x), array(y), n);
    }

    @Override
    public double sumOfSquares(Buffer x, int n) {
        return elementwise.sumOfSquares(array(x), n);
    }

    @Override
    public void reduce(ReduceOp op, Buffer x, int outer, int n, int inner, Buffer out, Buffer indices) {
        reductions.reduce(op, array(x), outer, n, inner, array(out), arrayOrNull(indices));
    }

    @Override
    public void softmax(Buffer x, int outer, int n, int inner, Buffer y, boolean log) {
        reductions.softmax(array(x), outer, n, inner, array(y), log);
    }

    @Override
    public void softmaxBackward(Buffer y, Buffer dy, int outer, int n, int inner, Buffer dx, boolean log) {
        reductions.softmaxBackward(array(y), array(dy), outer, n, inner, array(dx), log);
    }

    @Override
    public void cumsum(Buffer x, int outer, int n, int inner, Buffer y, boolean reverse) {
        reductions.cumsum(array(x), outer, n, inner, array(y), reverse);
    }

    @Override
    public void layerNorm(Buffer x, int rows, int dim, Buffer gamma, Buffer beta, float eps,
                          Buffer y, Buffer mean, Buffer rstd) {
        norms.layerNorm(array(x), rows, dim, arrayOrNull(gamma), arrayOrNull(beta), eps,
                array(y), array(mean), array(rstd));
    }

    @Override
    public void layerNormBackward(Buffer x, Buffer dy, Buffer mean, Buffer rstd, Buffer gamma, int rows, int dim,
                                  Buffer dx, Buffer dGamma, Buffer dBeta) {
        norms.layerNormBackward(array(x), array(dy), array(mean), array(rstd), arrayOrNull(gamma), rows, dim,
                array(dx), arrayOrNull(dGamma), arrayOrNull(dBeta));
    }

    @Override
    public void rmsNorm(Buffer x, int rows, int dim, Buffer gamma, float eps, Buffer y, Buffer rstd) {
        norms.rmsNorm(array(x), rows, dim, arrayOrNull(gamma), eps, array(y), array(rstd));
    }

    @Override
    public void rmsNormBackward(Buffer x, Buffer dy, Buffer rstd, Buffer gamma, int rows, int dim,
                                Buffer dx, Buffer dGamma) {
        norms.rmsNormBackward(array(x), array(dy), array(rstd), arrayOrNull(gamma), rows, dim,
                array(dx), arrayOrNull(dGamma));
    }

    @Override
    public void indexSelect(Buffer src, int outer, int n, int inner, int[] index, Buffer out) {
        indexing.indexSelect(array(src), outer, n, inner, index, array(out));
    }

    @Override
    public void indexAdd(Buffer dst, int outer, int n, int inner, int[] index, Buffer src) {
        indexing.indexAdd(array(dst), outer, n, inner, index, array(src));
    }

    @Override
    public void gather(Buffer src, int outer, int n, int inner, int[] index, int m, Buffer out) {
        indexing.gather(array(src), outer, n, inner, index, m, array(out));
    }

    @Override
    public void scatterAdd(Buffer dst, int outer, int n, int inner, int[] index, int m, Buffer src) {
        indexing.scatterAdd(array(dst), outer, n, inner, index, m, array(src));
    }

    @Override
    public void scaledDotProductAttention(AttentionProblem problem, Buffer query, Buffer key, Buffer value, Buffer bias,
                                          Buffer keyPaddingMask, Buffer out, Buffer rowStatistics) {
        if (CpuDecodingAttention.handles(problem)) {
            decodingAttention.forward(problem, array(query), array(key), array(value), arrayOrNull(bias),
                    arrayOrNull(keyPaddingMask), array(out), array(rowStatistics));
        } else {
            attention.forward(problem, array(query), array(key), array(value), arrayOrNull(bias),
                    arrayOrNull(keyPaddingMask), array(out), array(rowStatistics));
        }
    }

    @Override
    public void scaledDotProductAttentionBackward(AttentionProblem problem, Buffer query, Buffer key, Buffer value,
                                                  Buffer bias, Buffer keyPaddingMask, Buffer out, Buffer rowStatistics,
                                                  Buffer gradOut, Buffer gradQuery, Buffer gradKey, Buffer gradValue,
                                                  Buffer gradBias) {
        attention.backward(problem, array(query), array(key), array(value), arrayOrNull(bias),
                arrayOrNull(keyPaddingMask), array(out), array(rowStatistics), array(gradOut), array(gradQuery),
                array(gradKey), array(gradValue), arrayOrNull(gradBias));
    }

    @Override
    public void adamStep(Buffer param, Buffer grad, Buffer m, Buffer v, int n, float lr, float beta1, float beta2,
                         float eps, float weightDecay, boolean decoupledWeightDecay, int step) {
        optimizers.adamStep(array(param), array(grad), array(m), array(v), n, lr, beta1, beta2, eps,
                weightDecay, decoupledWeightDecay, step);
    }

    @Override
    public void sgdStep(Buffer param, Buffer grad, Buffer momentumBuffer, int n, float lr, float momentum,
                        float dampening, boolean nesterov, float weightDecay, boolean firstStep) {
        optimizers.sgdStep(array(param), array(grad), arrayOrNull(momentumBuffer), n, lr, momentum, dampening,
                nesterov, weightDecay, firstStep);
    }
}
