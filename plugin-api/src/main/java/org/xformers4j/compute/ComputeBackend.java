package org.xformers4j.compute;

/**
 * The kernels tensor operations need, implemented once per device.
 *
 * <p>Conventions: buffers are row-major float32; "[outer, n, inner]" means the tensor is viewed as
 * {@code outer} blocks of {@code n} rows of {@code inner} contiguous elements and the op works along
 * the middle dimension. Index arrays live on the host. Output buffers never alias inputs unless a
 * method says so. Every result is independent of the number of threads the backend uses.
 *
 * <p>Backends are found with {@link java.util.ServiceLoader} (or as OSGi services) and picked by
 * {@link Backends}: the available backend with the highest {@link #priority()} wins, unless the
 * system property {@code xformers4j.backend} names one.
 */
public interface ComputeBackend {

    /** Short stable name: {@code cpu}, {@code cuda}. */
    String name();

    /** Higher wins when the backend is picked automatically. */
    int priority();

    /** Whether this backend can run here (device present, libraries load). */
    boolean isAvailable();

    /** One line saying what runs where, e.g. the SIMD width and thread count. */
    String description();

    /** Memory held by this backend's buffers. */
    MemoryStats memory();

    // ---- memory ----

    /** A new zero-filled buffer of {@code length} floats. */
    Buffer allocate(int length);

    /** A new buffer holding a copy of {@code host}. */
    Buffer upload(float[] host);

    /** A host copy of the first {@code length} elements of {@code buffer}. */
    float[] download(Buffer buffer, int length);

    /** Sets {@code length} elements from {@code offset} to {@code value}. */
    void fill(Buffer buffer, int offset, int length, float value);

    /**
     * Copies the elements of a strided view of {@code src} into a strided view of {@code dst}:
     * for every index vector i within {@code shape}, {@code dst[dstOffset + Σ i·dstStrides] =
     * src[srcOffset + Σ i·srcStrides]}. Source strides may be 0 (broadcast). The destination view
     * must not overlap itself.
     */
    void copyStrided(int[] shape, Buffer src, int srcOffset, int[] srcStrides,
                     Buffer dst, int dstOffset, int[] dstStrides);

    // ---- matrix products ----

    /**
     * Batched C_i = alpha · op(A_i) · op(B_i) + beta · C_i for i in [0, batch), row-major, where
     * op(X) is X or its transpose. A_i starts at {@code aOffsets[i]} (an m×k matrix, k×m if
     * transposed, with row stride {@code lda}), likewise B_i (k×n) and C_i (m×n). A and B offsets
     * may repeat (broadcasting); C offsets must be distinct.
     */
    void gemm(int batch, boolean transA, boolean transB, int m, int n, int k, float alpha,
              Buffer a, int[] aOffsets, int lda, Buffer b, int[] bOffsets, int ldb,
              float beta, Buffer c, int[] cOffsets, int ldc);

    // ---- elementwise ----

    /** y[i] = op(x[i]; param) for i in [0, n). {@code y} may be {@code x}. */
    void unary(UnaryOp op, float param, Buffer x, Buffer y, int n);

    /** dx[i] = dy[i] · op'(x[i]) for i in [0, n), given the forward's input x and output y. */
    void unaryBackward(UnaryOp op, float param, Buffer x, Buffer y, Buffer dy, Buffer dx, int n);

    /**
     * out[i] = op(a[i·aStrides], b[i·bStrides]) for every index vector i within {@code shape};
     * {@code out} is contiguous with that shape. Strides of 0 broadcast.
     */
    void binary(BinaryOp op, int[] shape, Buffer a, int[] aStrides, Buffer b, int[] bStrides, Buffer out);

    /** out = cond != 0 ? a : b, each operand read through its strides as in {@link #binary}. */
    void where(int[] shape, Buffer cond, int[] condStrides, Buffer a, int[] aStrides,
               Buffer b, int[] bStrides, Buffer out);

    /** y[i] += alpha · x[i] for i in [0, n). */
    void axpy(float alpha, Buffer x, Buffer y, int n);

    /**
     * Inverted dropout (Srivastava et al., 2014) with a counter-based mask: y[i] = x[i] · 1/(1−p)
     * when u_i ≥ p, else 0, for i in [0, n), where u_i = (r_i >>> 8) · 2⁻²⁴ and r_i is the 32-bit
     * output number i + 1 of SplitMix64 (Steele, Lea and Flood, 2014) from {@code state}: Stafford's
     * mix32 of state + (i + 1) · γ, γ = 0x9E3779B97F4A7C15. These are the floats that
     * {@code java.util.SplittableRandom}'s {@code nextFloat()} would draw one after another from that
     * state, but any element can be computed on its own, so threads split the range and the mask is
     * never stored. Backward: the same call on the output gradient with the same state and p.
     * {@code y} may be {@code x}.
     */
    void dropout(long state, float p, Buffer x, Buffer y, int n);

    /** Σ x[i]² over [0, n) in double precision, summed in an order independent of the thread count. */
    double sumOfSquares(Buffer x, int n);

    // ---- reductions along a dimension of [outer, n, inner] ----

    /**
     * out[o, j] = reduce over r of x[o, r, j]. For MAX and MIN, {@code indices} (may be null)
     * receives the position r of the first extreme value, as a float.
     */
    void reduce(ReduceOp op, Buffer x, int outer, int n, int inner, Buffer out, Buffer indices);

    /**
     * Softmax (or log-softmax when {@code log}) of x along the middle dimension. A softmax line whose
     * entries are all -∞ (an attention row with every key masked) has no distribution and gets zeros,
     * not NaN; its gradient is then 0 as well.
     */
    void softmax(Buffer x, int outer, int n, int inner, Buffer y, boolean log);

    /** Gradient of {@link #softmax} given its output y and the output gradient dy. */
    void softmaxBackward(Buffer y, Buffer dy, int outer, int n, int inner, Buffer dx, boolean log);

    /** Inclusive cumulative sum along the middle dimension; from the end when {@code reverse}. */
    void cumsum(Buffer x, int outer, int n, int inner, Buffer y, boolean reverse);

    // ---- normalisation over the last dimension of [rows, dim] ----

    /**
     * Layer normalisation (Ba et al., 2016): y = (x - mean) · rstd · gamma + beta, row by row.
     * gamma and beta may be null (no affine); mean and rstd receive one value per row.
     */
    void layerNorm(Buffer x, int rows, int dim, Buffer gamma, Buffer beta, float eps,
                   Buffer y, Buffer mean, Buffer rstd);

    /**
     * Gradients of {@link #layerNorm}: writes dx; adds into dGamma and dBeta when non-null.
     */
    void layerNormBackward(Buffer x, Buffer dy, Buffer mean, Buffer rstd, Buffer gamma, int rows, int dim,
                           Buffer dx, Buffer dGamma, Buffer dBeta);

    /** RMS normalisation (Zhang and Sennrich, 2019): y = x · rstd · gamma; gamma may be null. */
    void rmsNorm(Buffer x, int rows, int dim, Buffer gamma, float eps, Buffer y, Buffer rstd);

    /** Gradients of {@link #rmsNorm}: writes dx; adds into dGamma when non-null. */
    void rmsNormBackward(Buffer x, Buffer dy, Buffer rstd, Buffer gamma, int rows, int dim,
                         Buffer dx, Buffer dGamma);

    // ---- indexing along the middle dimension of [outer, n, inner] ----

    /** out[o, t, j] = src[o, index[t], j]; out is [outer, index.length, inner]. */
    void indexSelect(Buffer src, int outer, int n, int inner, int[] index, Buffer out);

    /** dst[o, index[t], j] += src[o, t, j]; src is [outer, index.length, inner]. */
    void indexAdd(Buffer dst, int outer, int n, int inner, int[] index, Buffer src);

    /** out[o, t, j] = src[o, index[o, t, j], j]; index and out are [outer, m, inner]. */
    void gather(Buffer src, int outer, int n, int inner, int[] index, int m, Buffer out);

    /** dst[o, index[o, t, j], j] += src[o, t, j]; index and src are [outer, m, inner]. */
    void scatterAdd(Buffer dst, int outer, int n, int inner, int[] index, int m, Buffer src);

    // ---- fused attention over [batch, heads, length, dim] buffers ----

    /**
     * Scaled dot-product attention as one fused kernel (the FlashAttention-2 forward of Dao, 2023):
     * for every batch element b, head h and query i,
     * <pre>
     *   s_ij  = scale · q_i · k_j + bias[b, h, i, j]       (masked: -∞)
     *   out_i = Σ_j dropout(softmax_j(s_i))_j · v_j
     *   rowMax_i = max_j s_ij,   rowSumInverse_i = 1 / Σ_j e^(s_ij - rowMax_i)
     * </pre>
     * where key j is masked for query i when {@code keyPaddingMask[b, j] != 0}, in a causal
     * problem when j &gt; keyLength - queryLength + i, and in a block-sparse problem (with a
     * {@link AttentionProblem#layout() layout} of blocks of size b) when the layout's row of head h and
     * query block ⌊i / b⌋ does not list key block ⌊j / b⌋; a bias of -∞ masks its key the same way. A
     * query with every key masked (every s_ij = -∞) gets a zero output row, rowMax 0 and
     * rowSumInverse 0, so that the backward recomputes zero weights for it. The maximum and the sum
     * are kept apart rather than as one log-sum-exp {@code rowMax + ln sum}: near |s| = 1e8 float32
     * values are 8 apart, and that sum would round the row sum away. Dropout zeroes the weights
     * {@link AttentionProblem#keeps} rejects and scales the rest by 1/(1 - p). The score matrix is
     * never materialised: extra memory is O((queryLength + keyLength) · dim). With a layout the kernel
     * visits only the blocks it lists (and of those only the ones a causal mask leaves anything in):
     * time O(nonEmptyBlocks · b² · dim) instead of O(queryLength · keyLength · dim).
     *
     * @param query          [batch, heads, queryLength, headDim]
     * @param key            [batch, heads, keyLength, headDim]
     * @param value          [batch, heads, keyLength, valueDim]
     * @param bias           {@link AttentionProblem#biasShape()}, or null without a bias
     * @param keyPaddingMask [batch, keyLength], non-zero where padded, or null
     * @param out            receives [batch, heads, queryLength, valueDim]
     * @param rowStatistics  receives [2, batch, heads, queryLength]: rowMax, then rowSumInverse;
     *                       what the backward needs
     */
    void scaledDotProductAttention(AttentionProblem problem, Buffer query, Buffer key, Buffer value, Buffer bias,
                                   Buffer keyPaddingMask, Buffer out, Buffer rowStatistics);

    /**
     * Gradients of {@link #scaledDotProductAttention} given its inputs, its {@code out} and
     * {@code rowStatistics}, and the output gradient {@code gradOut} [batch, heads, queryLength,
     * valueDim]. Recomputes the weights tile by tile, P_ij = e^(s_ij - rowMax_i) · rowSumInverse_i;
     * with Z the dropout mask and D_i = Σ_e gradOut_ie · out_ie:
     * <pre>
     *   gradValue = (Z ∘ P / (1 - p))ᵀ gradOut
     *   dS        = P ∘ (Z ∘ (gradOut valueᵀ) / (1 - p) - D)
     *   gradQuery = scale · dS key,   gradKey = scale · dSᵀ query
     *   gradBias  = dS summed over the bias's broadcast dimensions
     * </pre>
     * Overwrites {@code gradQuery}, {@code gradKey}, {@code gradValue} (shaped like query, key and
     * value) and, when non-null, {@code gradBias} (the bias's shape); the scores a layout masks have
     * P = 0 and so dS = 0, and the kernel visits only the blocks it lists, as the forward. Extra
     * memory is O((queryLength + keyLength) · dim).
     */
    void scaledDotProductAttentionBackward(AttentionProblem problem, Buffer query, Buffer key, Buffer value,
                                           Buffer bias, Buffer keyPaddingMask, Buffer out, Buffer rowStatistics,
                                           Buffer gradOut, Buffer gradQuery, Buffer gradKey, Buffer gradValue,
                                           Buffer gradBias);

    // ---- optimiser updates, in place on parameter and state buffers of n elements ----

    /**
     * One Adam step (Kingma and Ba, 2015) with bias correction for step {@code step} (1-based).
     * With {@code decoupledWeightDecay} it is AdamW (Loshchilov and Hutter, 2019):
     * p -= lr · weightDecay · p before the update; otherwise weightDecay · p is added to the gradient.
     */
    void adamStep(Buffer param, Buffer grad, Buffer m, Buffer v, int n, float lr, float beta1, float beta2,
                  float eps, float weightDecay, boolean decoupledWeightDecay, int step);

    /**
     * One SGD step with optional momentum (Sutskever et al., 2013), dampening, Nesterov and L2
     * weight decay, as PyTorch defines them. {@code momentumBuffer} may be null when momentum is 0;
     * {@code firstStep} initialises it with the gradient.
     */
    void sgdStep(Buffer param, Buffer grad, Buffer momentumBuffer, int n, float lr, float momentum,
                 float dampening, boolean nesterov, float weightDecay, boolean firstStep);
}
