package org.xformers4j.attention.lowrank;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.xformers4j.attention.exact.FlashAttention;
import org.xformers4j.attention.internal.AttentionInputs;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.attention.FlopCount;
import org.xformers4j.component.attention.StackAware;
import org.xformers4j.nn.Init;
import org.xformers4j.nn.Module;
import org.xformers4j.nn.SharedParameters;
import org.xformers4j.tensor.AllocationBudget;
import org.xformers4j.tensor.Tensor;

/**
 * Linformer (Wang et al., 2020, "Linformer: Self-Attention with Linear Complexity"): the keys and
 * values of each head are projected along the sequence axis from n positions to k, and the queries
 * attend to the k projected keys and values with scaled dot-product softmax attention:
 * <pre>
 *   head_i = softmax(Q_i (E_i K_i)ᵀ / √d) · (F_i V_i)         E_i, F_i: k×n
 * </pre>
 * with q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv], out [B, H, Lq, Dv]. The attention over
 * the k slots is {@link FlashAttention}'s fused kernel, so the [Lq, k] scores are never stored;
 * the largest buffers are the inputs, the projected keys and values and the [n, k] projections:
 * time O(N·k·d), memory O(N·d + n·k), no N×N buffer.
 *
 * <p>Everything linformer-pytorch offers, as hyperparameters:
 * <ul>
 *   <li>{@code method}: how E and F are made. {@code LEARNABLE}: trained n×k matrices (stored
 *       [n, k], the transpose of the paper's k×n), initialised Glorot-normal, N(0, 2/(n + k)), as
 *       linformer-pytorch does (or the identity, see {@code init}). {@code CONVOLUTION}: a trained
 *       1-D convolution along the sequence with kernel size and stride s = ⌈n/k⌉ over the head's
 *       D channels, mixing them, as linformer-pytorch's {@code Conv1d(head_dim, head_dim, s, s)}
 *       ({@link ConvolutionProjection}), initialised U(±1/√(s·D)) as PyTorch initialises a
 *       convolution; it gives ⌈L/s⌉ ≤ k projected positions for L keys. {@code NO_PARAMS}: a
 *       fixed matrix with N(0, 1/k) entries (the paper's random projection), not trained.</li>
 *   <li>{@code sharing}: {@code NONE}, an E and an F per head; {@code HEADWISE}, one E and one F
 *       for all heads of the layer; {@code KV}, one matrix E = F for the keys and values of all
 *       heads; {@code LAYERWISE}, one E = F for every layer and head of the stack (through
 *       {@link StackAware}: the stack's {@link SharedParameters} holds it under the key
 *       {@value #SHARED_KEY}; a mechanism not placed in a stack owns it).</li>
 *   <li>{@code kReduceByLayer}: layer l of a stack projects to k_l = max(1, k − l·kReduceByLayer)
 *       (the paper's nonuniform projected dimension). With {@code LAYERWISE} sharing the one
 *       matrix is n×k and layer l uses its first k_l columns; a shared convolution cannot shrink
 *       (its kernel size would change), so {@code CONVOLUTION} with {@code LAYERWISE} and a
 *       reduction is refused.</li>
 *   <li>{@code maxLength} is the n the projections are built for; keys of any length L ≤ n work,
 *       more are refused naming both lengths. {@code shortInput} says how a shorter input is
 *       treated: {@code SLICE} uses the first L rows of E and F (fairseq), {@code PAD} zero-pads
 *       the keys and values to n (linformer-pytorch's {@code Padder}), the padded positions masked.
 *       Since masked keys and values are zeroed before the projection (below), the two compute the
 *       same function (up to float rounding): a zero row of the input meets a row of E that
 *       {@code SLICE} leaves out. They differ in cost: {@code PAD} always projects n positions,
 *       O(n·k) per head whatever L, as a fixed-shape Linformer does; {@code SLICE} projects L.</li>
 * </ul>
 *
 * <p><b>Masking.</b> A padded key and its value (and, with {@code PAD}, every position beyond the
 * input) are set to zero before the projection, so they contribute nothing to any projected key
 * or value. A projected position ("slot") whose projection weights on every real key are exactly
 * zero draws only from masked keys; it would be a zero key with a score of 0 that takes softmax
 * weight, making the result depend on how much padding there is. Such a slot is masked
 * (score −∞): for a matrix, when its column of E is zero on every real row; for a convolution,
 * when its window holds no real key. So the output for a padded sequence equals the output for the
 * same sequence without the padding, and a batch element whose keys are all padded outputs zeros
 * with zero gradients. With a random E no slot is ever unreached; with the identity, slots beyond
 * the input are.
 *
 * <p><b>Exact configuration.</b> {@code init = IDENTITY} (for {@code LEARNABLE}) starts E = F = the
 * identity on their leading square (E[i][j] = 1 when i = j): each slot j &lt; L is key j itself,
 * the slots beyond the input are unreached and masked, so with k = n ≥ L it computes softmax
 * attention exactly; the capabilities' {@code exactWhen} declares that setting for the
 * conformance suite. Training then moves E and F away from the identity, except the columns of
 * slots that no input reaches: masked, they get no gradient and stay zero (and masked).
 *
 * <p><b>Choices the paper leaves open.</b>
 * <ul>
 *   <li>No bias on the projections (linformer-pytorch's linear E and F have one): the paper's E and
 *       F are linear maps, and a bias would give every slot, also an unreached one, a key.</li>
 *   <li>{@code NO_PARAMS} draws its matrices from a generator seeded with {@code seed} (mixed with
 *       the layer index, except under {@code LAYERWISE}, so that each layer gets its own and a
 *       stack shares one): they are not parameters, not trained and <b>not saved</b>; a loaded
 *       model draws them again from the seed in its saved options, identically. Each layer holds
 *       its own copy, also under {@code LAYERWISE}.</li>
 *   <li>The scale is 1/√D, as in the paper. Attention dropout acts on the [Lq, k] weights, as
 *       linformer-pytorch's does.</li>
 *   <li><b>Causal use is refused:</b> every projected key and value mixes positions across the
 *       whole sequence, so every output would depend on later positions (linformer-pytorch's
 *       causal mask over the projected positions does not prevent that).</li>
 *   <li>An additive bias is refused: it is defined on the [Lq, Lk] scores of the keys, and after
 *       the projection there are only [Lq, k] scores of mixtures of keys, to which no entry of it
 *       belongs.</li>
 *   <li>Cross-attention projects the memory, of any length up to {@code maxLength}; the queries
 *       may be of any length.</li>
 * </ul>
 *
 * <p>Parameters ({@code LEARNABLE}, {@code CONVOLUTION}): {@code keyProjection} and
 * {@code valueProjection} (NONE: [H, n, k] or [H, s·D, D]; HEADWISE: [n, k] or [s·D, D]),
 * {@code projection} (KV, and LAYERWISE outside a stack), or none of its own (LAYERWISE in a
 * stack: the stack's {@value #SHARED_KEY}).
 *
 * <p>FLOPs, with n the projected length (the key length, or {@code maxLength} with {@code PAD})
 * and k_l this layer's k: the projections, n·k_l·(D + Dv) multiply-adds per batch element and head
 * for a matrix, or ⌈n/s⌉·s·(D² + Dv²) for the convolution, plus the attention over the k_l slots,
 * Lq·k_l·(D + Dv): forward {@code 2·B·H·(projections + Lq·k_l·(D + Dv))}, backward twice that
 * (autograd through every product). Masks and the softmax are not counted.
 */
@ComponentInfo(name = "linformer",
        summary = "Keys and values projected along the sequence from n to k positions (learned, convolution or "
                + "fixed random), then softmax attention over the k; linear in N; parameters shareable across "
                + "heads, keys and values, and layers",
        reference = "Wang et al., 2020, Linformer: Self-Attention with Linear Complexity")
@AttentionCapabilities(causal = false, crossAttention = true, keyPaddingMask = true, additiveBias = false,
        incrementalDecoding = false, exact = false,
        exactWhen = {"method=LEARNABLE", "init=IDENTITY", "k=16", "maxLength=16"},
        length = AttentionCapabilities.LengthConstraint.MAXIMUM, lengthOption = "maxLength", time = "O(N*k*d)", memory = "O(N*k)",
        linearMemory = true)
public final class LinformerAttention extends Module implements AttentionMechanism, StackAware, FlopCount {

    private static final String NAME = "linformer";

    /**
     * Softmax attention of the queries over the k slots, scaled by 1/√D: the fused kernel of
     * {@link FlashAttention}, so the [Lq, k] scores are never stored (memory O(N·d), not O(N·k)).
     * It has no parameters.
     */
    private final FlashAttention slotAttention = new FlashAttention(0f);

    /** The key of the LAYERWISE projection in a stack's {@link SharedParameters}. */
    public static final String SHARED_KEY = "linformerProjection";

    /** How the projections E and F are made. */
    public enum Method {
        /** Trained n×k matrices. */
        LEARNABLE,
        /** A trained 1-D convolution along the sequence, kernel size and stride ⌈n/k⌉. */
        CONVOLUTION,
        /** Fixed N(0, 1/k) matrices drawn from {@code seed}, not trained. */
        NO_PARAMS
    }

    /** Which heads, projections and layers share E and F. */
    public enum Sharing {
        /** An E and an F per head. */
        NONE,
        /** One E and one F for all the heads of a layer. */
        HEADWISE,
        /** One matrix E = F for the keys and values of all the heads of a layer. */
        KV,
        /** One matrix E = F for every layer and head of a stack. */
        LAYERWISE
    }

    /** How keys shorter than {@code maxLength} are projected (the two give the same result). */
    public enum ShortInput {
        /** The first L rows of the projection (fairseq). */
        SLICE,
        /** Zero-padded to maxLength, the padding masked (linformer-pytorch's Padder). */
        PAD
    }

    /** How a LEARNABLE projection starts. */
    public enum ProjectionInit {
        /** Glorot normal, N(0, 2/(n + k)). */
        RANDOM,
        /** The identity on the leading square: exact softmax attention when k = maxLength. */
        IDENTITY
    }

    @Config(description = "Number k of positions the keys and values are projected to (at most maxLength).")
    @Range(min = 1)
    private int k = 32;

    @Config(description = "The key length n the projections are built for; shorter keys work, longer are refused.")
    @Range(min = 1)
    private int maxLength = 128;

    @Config(description = "How the projections are made: LEARNABLE (trained n x k matrices), CONVOLUTION "
            + "(trained 1-D convolution, kernel and stride ceil(n/k)) or NO_PARAMS (fixed N(0, 1/k) from seed).")
    private Method method = Method.LEARNABLE;

    @Config(description = "Parameter sharing: NONE (per head), HEADWISE (one E and F per layer), KV (E = F per "
            + "layer) or LAYERWISE (one E = F for the whole stack).")
    private Sharing sharing = Sharing.HEADWISE;

    @Config(description = "Layer l of a stack projects to max(1, k - l * kReduceByLayer) positions.")
    @Range(min = 0)
    private int kReduceByLayer = 0;

    @Config(description = "Keys shorter than maxLength: SLICE (first rows of the projection) or PAD (zero-padded "
            + "to maxLength); same result, PAD always costs maxLength.")
    private ShortInput shortInput = ShortInput.SLICE;

    @Config(description = "Start of a LEARNABLE projection: RANDOM (Glorot normal) or IDENTITY (exact softmax "
            + "attention when k = maxLength).")
    private ProjectionInit init = ProjectionInit.RANDOM;

    @Config(description = "Seed of the NO_PARAMS projections (mixed with the layer index unless LAYERWISE).")
    private long seed = 20200608L;

    private int layer;
    private SharedParameters shared;
    private boolean placed;
    private int heads = -1;
    private Tensor keyWeight;
    private Tensor valueWeight;
    private SequenceProjection keyProjection;
    private SequenceProjection valueProjection;

    /** For OLCUT. */
    private LinformerAttention() {
    }

    /**
     * Linformer projecting to {@code k} of at most {@code maxLength} positions; see the class
     * comment for the other options.
     */
    public LinformerAttention(int k, int maxLength, Method method, Sharing sharing, int kReduceByLayer,
                              ShortInput shortInput, ProjectionInit init, long seed) {
        this.k = k;
        this.maxLength = maxLength;
        this.method = method;
        this.sharing = sharing;
        this.kReduceByLayer = kReduceByLayer;
        this.shortInput = shortInput;
        this.init = init;
        this.seed = seed;
        postConfig();
    }

    @Override
    public void postConfig() {
        AttentionMechanism.super.postConfig();
        if (k > maxLength) {
            throw new PropertyException(NAME, "k", NAME + ".k = " + k + " is more than maxLength = " + maxLength
                    + ": the keys would be projected to more positions than there are");
        }
        if (init == ProjectionInit.IDENTITY && method != Method.LEARNABLE) {
            throw new PropertyException(NAME, "init", NAME + ".init = IDENTITY applies to method LEARNABLE only, got "
                    + "method " + method);
        }
        if (method == Method.CONVOLUTION && sharing == Sharing.LAYERWISE && kReduceByLayer > 0) {
            throw new PropertyException(NAME, "kReduceByLayer", NAME + ".kReduceByLayer = " + kReduceByLayer
                    + " cannot shrink a LAYERWISE-shared CONVOLUTION: each layer's kernel size ceil(maxLength/k) "
                    + "would differ; use kReduceByLayer = 0 or another sharing");
        }
    }

    public int k() {
        return k;
    }

    public int maxLength() {
        return maxLength;
    }

    public Method method() {
        return method;
    }

    public Sharing sharing() {
        return sharing;
    }

    public int kReduceByLayer() {
        return kReduceByLayer;
    }

    public ShortInput shortInput() {
        return shortInput;
    }

    public ProjectionInit init() {
        return init;
    }

    public long seed() {
        return seed;
    }

    /** The layer of its stack this mechanism was placed at, 0 when it was not placed. */
    public int layer() {
        return layer;
    }

    /** k for this layer: max(1, k − layer·kReduceByLayer). */
    public int projectedLength() {
        return Math.max(1, k - layer * kReduceByLayer);
    }

    @Override
    public void placeInStack(int layer, int layers, SharedParameters shared) {
        AttentionInputs.checkPlacement(NAME, layer, layers, shared, placed || heads > 0);
        this.placed = true;
        this.layer = layer;
        this.shared = shared;
    }

    /** Creates E and F for {@code heads} heads of size {@code headDim}, from {@code rng} (LEARNABLE, CONVOLUTION). */
    @Override
    public void initialize(int heads, int headDim, RandomGenerator rng) {
        if (this.heads > 0) {
            throw new IllegalStateException(NAME + ": initialize was already called");
        }
        this.heads = heads;
        RandomGenerator generator = method == Method.NO_PARAMS
                ? new SplittableRandom(sharing == Sharing.LAYERWISE ? seed : seed ^ (0x9E3779B97F4A7C15L * layer))
                : rng;
        int kl = projectedLength();
        boolean perHead = sharing == Sharing.NONE;
        boolean oneForBoth = sharing == Sharing.KV || sharing == Sharing.LAYERWISE;
        if (method == Method.CONVOLUTION) {
            int stride = (maxLength + kl - 1) / kl;
            int[] shape = perHead ? new int[] {heads, stride * headDim, headDim} : new int[] {stride * headDim, headDim};
            keyWeight = weight(oneForBoth ? "projection" : "keyProjection", shape, generator);
            valueWeight = oneForBoth ? keyWeight : weight("valueProjection", shape, generator);
            keyProjection = new ConvolutionProjection(keyWeight, stride, headDim);
            valueProjection = oneForBoth ? keyProjection : new ConvolutionProjection(valueWeight, stride, headDim);
        } else {
            int columns = sharing == Sharing.LAYERWISE ? k : kl;
            int[] shape = perHead ? new int[] {heads, maxLength, columns} : new int[] {maxLength, columns};
            keyWeight = weight(oneForBoth ? "projection" : "keyProjection", shape, generator);
            valueWeight = oneForBoth ? keyWeight : weight("valueProjection", shape, generator);
            keyProjection = new MatrixProjection(keyWeight, kl);
            valueProjection = oneForBoth ? keyProjection : new MatrixProjection(valueWeight, kl);
        }
    }

    /** E after {@link #initialize}: a parameter, the stack's shared parameter, or a NO_PARAMS constant. */
    Tensor keyWeight() {
        return keyWeight;
    }

    /** F after {@link #initialize}: the same tensor as {@link #keyWeight()} under KV and LAYERWISE sharing. */
    Tensor valueWeight() {
        return valueWeight;
    }

    /**
     * A projection's weight of {@code shape}: a constant for NO_PARAMS; the stack's shared
     * parameter for LAYERWISE in a stack; otherwise a parameter of this module called {@code name}.
     */
    private Tensor weight(String name, int[] shape, RandomGenerator generator) {
        if (method == Method.NO_PARAMS) {
            return initial(shape, generator);
        }
        if (sharing == Sharing.LAYERWISE && shared != null) {
            return shared.parameter(SHARED_KEY, shape, () -> initial(shape, generator));
        }
        return registerParameter(name, initial(shape, generator));
    }

    /** The initial value of a projection of {@code shape}, whose last two dimensions are [n, k] or [s·D, D]. */
    private Tensor initial(int[] shape, RandomGenerator generator) {
        int rows = shape[shape.length - 2];
        int columns = shape[shape.length - 1];
        return switch (method) {
            case NO_PARAMS -> Init.normal(generator, 0f, (float) (1 / Math.sqrt(columns)), shape);
            case CONVOLUTION -> {
                float bound = (float) (1 / Math.sqrt(rows));
                yield Init.uniform(generator, -bound, bound, shape);
            }
            case LEARNABLE -> init == ProjectionInit.IDENTITY ? identity(shape)
                    : Init.normal(generator, 0f, (float) Math.sqrt(2.0 / (rows + columns)), shape);
        };
    }

    /** Ones where row = column of each trailing [rows, columns] matrix, zeros elsewhere. */
    private static Tensor identity(int[] shape) {
        float[] data = new float[AllocationBudget.elements(shape)];
        int rows = shape[shape.length - 2];
        int columns = shape[shape.length - 1];
        for (int m = 0; m < data.length / (rows * columns); m++) {
            for (int i = 0; i < Math.min(rows, columns); i++) {
                data[(m * rows + i) * columns + i] = 1f;
            }
        }
        return Tensor.of(data, shape);
    }

    /** q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv] → [B, H, Lq, Dv]. */
    @Override
    public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        AttentionInputs.check(NAME, query, key, value, context);
        if (context.bias() != null) {
            throw new IllegalArgumentException(NAME + ": an additive bias is not supported: it is defined on the "
                    + "[queryLength, keyLength] scores, and after the projection there are only [queryLength, k] "
                    + "scores of mixtures of keys (got bias " + Arrays.toString(context.bias().shape()) + ")");
        }
        if (context.causal()) {
            throw new IllegalArgumentException(NAME + ": a causal context is not supported: every projected key and "
                    + "value mixes positions across the whole sequence, so every output would depend on later "
                    + "positions; use it for encoders and cross-attention");
        }
        int batch = key.size(0);
        int keyLength = key.size(2);
        if (keyLength > maxLength) {
            throw new IllegalArgumentException(NAME + ": key length " + keyLength + " is more than maxLength "
                    + maxLength + ", the length the projections are built for (key " + Arrays.toString(key.shape())
                    + ")");
        }
        if (heads <= 0) {
            throw new IllegalStateException(NAME + ": needs initialize(heads, headDim, rng) first "
                    + "(MultiHeadAttention calls it)");
        }
        if (sharing == Sharing.NONE && key.size(1) != heads) {
            throw new IllegalArgumentException(NAME + ": sharing NONE has a projection per head for " + heads
                    + " heads, got key " + Arrays.toString(key.shape()));
        }
        int length = shortInput == ShortInput.PAD ? maxLength : keyLength;
        Tensor padding = context.keyPaddingMask();
        float[] mask = padding == null ? null : padding.toFloatArray();
        float[] realData = new float[batch * length];
        for (int b = 0; b < batch; b++) {
            for (int j = 0; j < keyLength; j++) {
                realData[b * length + j] = mask != null && mask[b * keyLength + j] != 0f ? 0f : 1f;
            }
        }
        Tensor real = Tensor.of(key.backend(), realData, batch, length);
        Tensor keys = SequenceProjection.zeroPadded(key, 2, length);
        Tensor values = SequenceProjection.zeroPadded(value, 2, length);
        if (padding != null) {
            Tensor masked = real.eq(real.zerosLike()).reshape(batch, 1, length, 1);
            keys = keys.maskedFill(masked, 0f);
            values = values.maskedFill(masked, 0f);
        }
        Tensor projectedKeys = keyProjection.project(keys);                 // [B, H, k, D]
        Tensor projectedValues = valueProjection.project(values);           // [B, H, k, Dv]
        AttentionContext.Builder slots = AttentionContext.builder();
        Tensor unreached = keyProjection.unreached(real);                   // [B, 1 or H, 1, k]
        if (unreached.sum().item() > 0f) {
            slots.bias(unreached.zerosLike().maskedFill(unreached, Float.NEGATIVE_INFINITY));
        }
        if (context.dropout() > 0f) {
            slots.dropout(context.dropout(), context.rng());
        }
        return slotAttention.forward(query, projectedKeys, projectedValues, slots.build());
    }

    @Override
    public double forwardFlops(Shape shape) {
        double n = shortInput == ShortInput.PAD ? maxLength : shape.keyLength();
        double kl = projectedLength();
        double projections;
        if (method == Method.CONVOLUTION) {
            int stride = (maxLength + (int) kl - 1) / (int) kl;
            double covered = Math.ceil(n / stride) * stride;
            projections = covered * ((double) shape.headDim() * shape.headDim() + (double) shape.valueDim() * shape.valueDim());
        } else {
            projections = n * kl * (shape.headDim() + shape.valueDim());
        }
        return 2 * shape.batchHeads() * (projections + shape.queryLength() * kl * (shape.headDim() + shape.valueDim()));
    }

    @Override
    public String toString() {
        return "LinformerAttention(k=" + k + ", maxLength=" + maxLength + ", method=" + method + ", sharing="
                + sharing + ", kReduceByLayer=" + kReduceByLayer + ", shortInput=" + shortInput + ", init=" + init
                + ", seed=" + seed + ", layer=" + layer + ")";
    }
}
