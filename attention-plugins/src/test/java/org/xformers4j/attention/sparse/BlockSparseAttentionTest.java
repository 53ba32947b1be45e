package org.xformers4j.attention.sparse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xformers4j.attention.exact.FlashAttention;
import org.xformers4j.attention.exact.FullAttention;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionPattern;
import org.xformers4j.component.attention.FlopCount;
import org.xformers4j.compute.BlockLayout;
import org.xformers4j.nn.SharedParameters;
import org.xformers4j.tensor.Tensor;

/**
 * {@code block-sparse} and {@code bigbird}: equal to {@code full} with the pattern as a dense -∞
 * mask, forward and gradients; the named layouts as the papers and DeepSpeed define them; random
 * blocks fixed per layer; FLOPs of the non-empty blocks only.
 */
class BlockSparseAttentionTest {

    private static final int BATCH = 2;
    private static final int HEADS = 2;
    private static final int DIM = 8;

    private static LayoutAttention blockSparse(Map<String, String> options) {
        return (LayoutAttention) new BlockSparseAttentionProvider().create(options);
    }

    @Test
    void equalsFullWithThePatternAsADenseMaskForwardAndGradients() throws Exception {
        List<LayoutAttention> mechanisms = List.of(
                blockSparse(Map.of("blockSize", "8", "localBlocks", "4", "globalPatterns", "2")),
                blockSparse(Map.of("blockSize", "8", "pattern", "STRIDED", "localBlocks", "3")),
                blockSparse(Map.of("blockSize", "12", "pattern", "LONGFORMER")),
                blockSparse(Map.of("blockSize", "5", "pattern", "RANDOM", "density", "0.3")),
                (LayoutAttention) new BigBirdAttentionProvider().create(Map.of("blockSize", "8", "randomBlocks", "2")));
        long seed = 1;
        for (LayoutAttention mechanism : mechanisms) {
            for (boolean causal : new boolean[] {false, true}) {
                compareWithFull(mechanism, 100, causal, seed++);
            }
        }
    }

    /** The mechanism against full attention whose bias is the context's plus -∞ outside the pattern. */
    private static void compareWithFull(LayoutAttention mechanism, int n, boolean causal, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] mask = new float[BATCH * n];
        for (int j = n - 9; j < n; j++) {
            mask[n + j] = 1f;
        }
        float[] biasValues = randn(rng, HEADS * n * n);
        AttentionContext plain = AttentionContext.builder().causal(causal).keyPaddingMask(Tensor.of(mask, BATCH, n))
                .build();
        AttentionPattern pattern = mechanism.pattern(HEADS, n, n, plain);
        assertThat(pattern.density()).as(mechanism + " is sparse").isLessThan(0.8);
        float[] masked = biasValues.clone();
        for (int h = 0; h < HEADS; h++) {
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    if (!pattern.allows(h, i, j)) {
                        masked[(h * n + i) * n + j] = Float.NEGATIVE_INFINITY;
                    }
                }
            }
        }
        float[][] inputs = {randn(rng, BATCH * HEADS * n * DIM), randn(rng, BATCH * HEADS * n * DIM),
            randn(rng, BATCH * HEADS * n * DIM)};
        float[] gradOut = randn(rng, BATCH * HEADS * n * DIM);
        float[][] sparse = run(mechanism, inputs, biasValues, plain, gradOut, n);
        float[][] dense = run(new FullAttention(0f), inputs, masked, plain, gradOut, n);
        String[] names = {"out", "dq", "dk", "dv", "dBias"};
        for (int t = 0; t < names.length; t++) {
            for (int e = 0; e < sparse[t].length; e++) {
                float expected = dense[t][e];
                if (t == 4 && masked[e] == Float.NEGATIVE_INFINITY) {
                    expected = 0f;
                }
                if (!(Math.abs(sparse[t][e] - expected) <= 2e-5f * (1 + Math.abs(expected)))) {
                    fail("%s%s: %s element %d is %s, full with the dense mask %s", mechanism,
                            causal ? " causal" : "", names[t], e, sparse[t][e], expected);
                }
            }
        }
    }

    /** out, dq, dk, dv, dBias of one call with a [1, H, n, n] bias. */
    private static float[][] run(org.xformers4j.component.attention.AttentionMechanism mechanism, float[][] in,
                                 float[] bias, AttentionContext plain, float[] gradOut, int n) {
        int[] shape = {BATCH, HEADS, n, DIM};
        Tensor q = Tensor.of(in[0], shape).requiresGrad(true);
        Tensor k = Tensor.of(in[1], shape).requiresGrad(true);
        Tensor v = Tensor.of(in[2], shape).requiresGrad(true);
        Tensor b = Tensor.of(bias, 1, HEADS, n, n).requiresGrad(true);
        AttentionContext context = AttentionContext.builder().causal(plain.causal())
                .keyPaddingMask(plain.keyPaddingMask()).bias(b).build();
        Tensor out = mechanism.forward(q, k, v, context);
        out.backward(Tensor.of(gradOut, shape));
        return new float[][] {out.toFloatArray(), q.grad().toFloatArray(), k.grad().toFloatArray(),
            v.grad().toFloatArray(), b.grad().toFloatArray()};
    }

    @Test
    void fixedIsDeepSpeedsFixedLayout() {
        // 8 blocks, windows of 4, the last block of each window global (head 0) or the one before (head 1)
        LayoutAttention fixed = blockSparse(Map.of("blockSize", "2", "localBlocks", "4", "globalPatterns", "2"));
        BlockLayout layout = fixed.layout(2, 16, false);
        assertThat(row(layout, 0, 1)).containsExactly(0, 1, 2, 3, 7);
        assertThat(row(layout, 0, 6)).containsExactly(3, 4, 5, 6, 7);
        assertThat(row(layout, 1, 1)).containsExactly(0, 1, 2, 3, 6);
        assertThat(row(layout, 1, 5)).containsExactly(2, 4, 5, 6, 7);
        BlockLayout causal = fixed.layout(2, 16, true);
        assertThat(row(causal, 0, 5)).containsExactly(3, 4, 5);
        assertThat(row(causal, 0, 0)).containsExactly(0);
        // a short last window of 2 blocks (10 blocks): its global block is the last one
        assertThat(row(fixed.layout(2, 20, false), 0, 8)).containsExactly(3, 7, 8, 9);
    }

    @Test
    void stridedLongformerAndBigBirdRows() {
        BlockLayout strided = blockSparse(Map.of("blockSize", "1", "pattern", "STRIDED", "localBlocks", "3"))
                .layout(1, 8, false);
        assertThat(row(strided, 0, 4)).containsExactly(1, 2, 3, 4, 5, 6, 7);
        assertThat(row(strided, 0, 0)).containsExactly(0, 1, 2, 3, 6);
        BlockLayout longformer = blockSparse(Map.of("blockSize", "4", "pattern", "LONGFORMER")).layout(1, 24, false);
        assertThat(row(longformer, 0, 0)).containsExactly(0, 1, 2, 3, 4, 5);
        assertThat(row(longformer, 0, 3)).containsExactly(0, 2, 3, 4);
        BlockLayout bigBird = new BigBirdAttention(1, 3, 1, 2, 5L).layout(2, 40, false);
        for (int h = 0; h < 2; h++) {
            for (int qb = 1; qb < 40; qb++) {
                List<Integer> r = row(bigBird, h, qb);
                assertThat(r).contains(0, qb - 1, qb).hasSizeBetween(qb == 39 ? 3 : 4, 6);
            }
        }
        assertThat(row(bigBird, 0, 0)).hasSize(40);
    }

    @Test
    void randomBlocksAreFixedPerLayerAndDifferAcrossLayersAndSeeds() {
        BlockLayout layer0 = placed(new BigBirdAttention(4, 3, 1, 2, 9L), 0).layout(2, 256, false);
        assertThat(placed(new BigBirdAttention(4, 3, 1, 2, 9L), 0).layout(2, 256, false)).isEqualTo(layer0);
        BigBirdAttention again = placed(new BigBirdAttention(4, 3, 1, 2, 9L), 0);
        assertThat(again.layout(2, 256, false)).isSameAs(again.layout(2, 256, false));
        assertThat(placed(new BigBirdAttention(4, 3, 1, 2, 9L), 1).layout(2, 256, false)).isNotEqualTo(layer0);
        assertThat(placed(new BigBirdAttention(4, 3, 1, 2, 10L), 0).layout(2, 256, false)).isNotEqualTo(layer0);
        // heads draw their own blocks
        assertThat(row(layer0, 0, 30)).isNotEqualTo(row(layer0, 1, 30));
    }

    @Test
    void placeInStackOnceAndBeforeInitialize() {
        BigBirdAttention placed = placed(new BigBirdAttention(4, 3, 1, 2, 9L), 1);
        assertThat(placed.layer()).isEqualTo(1);
        assertThatThrownBy(() -> placed.placeInStack(0, 2, new SharedParameters()))
                .isInstanceOf(IllegalStateException.class);
        BigBirdAttention initialized = new BigBirdAttention(4, 3, 1, 2, 9L);
        initialized.initialize(2, 8, new SplittableRandom(1));
        assertThatThrownBy(() -> initialized.placeInStack(0, 2, new SharedParameters()))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> new BigBirdAttention(4, 3, 1, 2, 9L).placeInStack(2, 2, new SharedParameters()))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void flopsCountOnlyTheNonEmptyBlocks() {
        LayoutAttention fixed = blockSparse(Map.of("blockSize", "64", "localBlocks", "4"));
        FlopCount.Shape shape = FlopCount.Shape.self(2, 4, 1024, 32, false);
        BlockLayout layout = fixed.layout(4, 1024, false);
        double fraction = layout.nonEmptyBlocks() / 256.0;
        double flash = new FlashAttention(0f).forwardFlops(shape);
        assertThat(fixed.forwardFlops(shape)).isCloseTo(fraction * flash, org.assertj.core.data.Offset.offset(1.0));
        assertThat(fixed.backwardFlops(shape)).isEqualTo(2.5 * fixed.forwardFlops(shape));
        // a partial last block counts its positions only: 100 positions in blocks of 64, every block
        LayoutAttention dense = blockSparse(Map.of("blockSize", "64", "localBlocks", "1000000"));
        assertThat(dense.forwardFlops(FlopCount.Shape.self(1, 1, 100, 8, false)))
                .isEqualTo(new FlashAttention(0f).forwardFlops(FlopCount.Shape.self(1, 1, 100, 8, false)));
    }

    @Test
    void flopsGrowAsTheLayoutsDo() {
        // window and global blocks: linear; windows with a global block in each: N² / localBlocks
        for (String pattern : List.of("LONGFORMER", "BIGBIRD")) {
            LayoutAttention linear = blockSparse(Map.of("blockSize", "16", "pattern", pattern));
            assertThat(linear.forwardFlops(FlopCount.Shape.self(1, 2, 1 << 15, 64, false))
                    / linear.forwardFlops(FlopCount.Shape.self(1, 2, 1 << 14, 64, false))).as(pattern)
                    .isBetween(1.9, 2.002);
        }
        LayoutAttention fixed = blockSparse(Map.of("blockSize", "16", "localBlocks", "8"));
        assertThat(fixed.forwardFlops(FlopCount.Shape.self(1, 2, 1 << 15, 64, false))
                / fixed.forwardFlops(FlopCount.Shape.self(1, 2, 1 << 14, 64, false))).isBetween(3.6, 4.0);
    }

    @Test
    void refusesCrossAttentionAndBadOptions() {
        LayoutAttention mechanism = blockSparse(Map.of());
        Tensor q = Tensor.zeros(1, 2, 5, 4);
        Tensor k = Tensor.zeros(1, 2, 8, 4);
        assertThatThrownBy(() -> mechanism.forward(q, k, k, AttentionContext.builder().build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[1, 2, 5, 4]");
        assertThatThrownBy(() -> blockSparse(Map.of("localBlocks", "4", "globalBlocks", "3")))
                .isInstanceOf(PropertyException.class).hasMessageContaining("must divide localBlocks");
        assertThatThrownBy(() -> blockSparse(Map.of("localBlocks", "4", "globalPatterns", "5")))
                .isInstanceOf(PropertyException.class).hasMessageContaining("globalPatterns");
        assertThatThrownBy(() -> blockSparse(Map.of("pattern", "FILE")))
                .isInstanceOf(PropertyException.class).hasMessageContaining("needs a layoutFile");
        assertThatThrownBy(() -> blockSparse(Map.of("layoutFile", "x.txt")))
                .isInstanceOf(PropertyException.class).hasMessageContaining("pattern = FILE only");
        assertThatThrownBy(() -> blockSparse(Map.of("blockSize", "0"))).isInstanceOf(PropertyException.class);
    }

    @Test
    void fileLayoutIsReadAndServesShorterSequences(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("layout.txt");
        Files.writeString(file, "# two heads of 3 blocks\nlayout 2 3\n100\n010\n111\n\n# head 1\n110\n011\n001\n");
        LayoutAttention mechanism = blockSparse(Map.of("pattern", "FILE", "layoutFile", file.toString(),
                "blockSize", "4"));
        BlockLayout layout = mechanism.layout(2, 12, false);
        assertThat(row(layout, 0, 2)).containsExactly(0, 1, 2);
        assertThat(row(layout, 1, 0)).containsExactly(0, 1);
        assertThat(row(mechanism.layout(2, 7, false), 1, 1)).containsExactly(1);
        compareWithFull(blockSparse(Map.of("pattern", "FILE", "layoutFile", file.toString(), "blockSize", "40")),
                100, false, 3);
        assertThatThrownBy(() -> mechanism.layout(2, 13, false)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(file.toString()).hasMessageContaining("fewer than the 4");
        assertThatThrownBy(() -> mechanism.layout(3, 12, false)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("has 2 heads; the model has 3");
    }

    @Test
    void badLayoutFilesNameTheFileLineAndValue(@TempDir Path dir) throws Exception {
        assertBad(dir, "", "is empty");
        assertBad(dir, "layout 1\n", "line 1: expected 'layout HEADS BLOCKS'");
        assertBad(dir, "# c\nlayout one 2\n", "line 2: HEADS must be an integer, got 'one'");
        assertBad(dir, "layout 1 5000\n", "BLOCKS must be in [1, 4096], got 5000");
        assertBad(dir, "layout 1024 4096\n", "exceed the");
        assertBad(dir, "layout 1 2\n10\n0x\n", "line 3: column 2 is 'x'");
        assertBad(dir, "layout 1 2\n10\n011\n", "line 3: row 1 of head 0 has 3 characters, expected 2");
        assertBad(dir, "layout 1 2\n10\n", "ends after 1 of its 2 rows");
        assertBad(dir, "layout 1 2\n10\n01\n11\n", "line 4: unexpected '11'");
        assertThatThrownBy(() -> LayoutFile.read(dir.resolve("missing.txt")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cannot read layout file");
        Path configured = dir.resolve("bad.txt");
        Files.writeString(configured, "layout 1 2\n12\n01\n");
        assertThatThrownBy(() -> blockSparse(Map.of("pattern", "FILE", "layoutFile", configured.toString())))
                .isInstanceOf(PropertyException.class).hasMessageContaining(configured.toString())
                .hasMessageContaining("column 2 is '2'");
    }

    private static void assertBad(Path dir, String content, String message) throws Exception {
        Path file = Files.createTempFile(dir, "layout", ".txt");
        Files.writeString(file, content);
        assertThatThrownBy(() -> LayoutFile.read(file)).as(content).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(file.toString()).hasMessageContaining(message);
    }

    /** Truncations and random byte changes of a valid file either read as a valid layout or fail with a message. */
    @Test
    void mutatedLayoutFilesFailCleanly(@TempDir Path dir) throws Exception {
        byte[] valid = "# layout\nlayout 2 4\n1000\n1100\n0110\n0011\n1111\n0100\n0010\n1001\n".getBytes();
        SplittableRandom rng = new SplittableRandom(16);
        List<byte[]> mutants = new ArrayList<>();
        for (int cut = 0; cut < valid.length; cut++) {
            mutants.add(java.util.Arrays.copyOf(valid, cut));
        }
        for (int m = 0; m < 300; m++) {
            byte[] x = valid.clone();
            for (int flips = 1 + rng.nextInt(3); flips > 0; flips--) {
                x[rng.nextInt(x.length)] ^= (byte) (1 << rng.nextInt(8));
            }
            mutants.add(x);
        }
        mutants.add("layout 1024 128\n".getBytes());
        mutants.add("layout 2147483647 2147483647\n".getBytes());
        mutants.add("layout 1 99999999999\n".getBytes());
        int read = 0;
        for (byte[] bytes : mutants) {
            Path file = dir.resolve("m.txt");
            Files.write(file, bytes);
            try {
                LayoutFile layout = LayoutFile.read(file);
                assertThat(layout.heads).isIn(1, 2, 3);
                read++;
            } catch (IllegalArgumentException e) {
                assertThat(e.getMessage()).contains(file.toString());
            }
        }
        assertThat(read).as("the unchanged file and harmless changes read").isGreaterThan(0);
    }

    private static <T extends LayoutAttention> T placed(T mechanism, int layer) {
        mechanism.placeInStack(layer, 4, new SharedParameters());
        return mechanism;
    }

    private static List<Integer> row(BlockLayout layout, int h, int qb) {
        TreeSet<Integer> out = new TreeSet<>();
        for (int kb = 0; kb < layout.keyBlocks(); kb++) {
            if (layout.holds(h, qb, kb)) {
                out.add(kb);
            }
        }
        return new ArrayList<>(out);
    }

    private static float[] randn(SplittableRandom rng, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        return x;
    }
}
