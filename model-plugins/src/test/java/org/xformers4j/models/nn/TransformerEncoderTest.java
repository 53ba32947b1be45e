package org.xformers4j.models.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.xformers4j.attention.exact.FullAttention;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionContext.Grid;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.tensor.Tensor;

class TransformerEncoderTest {

    private static final ComponentRegistry REGISTRY = ComponentRegistry.standalone();
    private static final int DIM = 8;
    private static final int HEADS = 2;

    private static final Map<String, Map<String, String>> OPTIONS = Map.of(
            "full", Map.of(), "flash", Map.of(),
            "local", Map.of("chunkLength", "2"),
            "sliding-window", Map.of("window", "2"),
            "lsh", Map.of("numBuckets", "2", "chunkLength", "4"));

    private static Supplier<AttentionMechanism> mechanisms(String name) {
        return () -> REGISTRY.create(AttentionMechanism.class, name, OPTIONS.getOrDefault(name, Map.of()));
    }

    private static PositionalEncoding positional(String name, Map<String, String> options) {
        return REGISTRY.create(PositionalEncoding.class, name, options);
    }

    private static EncoderConfig.Builder config(TransformerEncoder.Pooling pooling, int registers) {
        return EncoderConfig.builder(BlockConfig.builder(DIM, HEADS).hidden(16).build(), 2).pooling(pooling)
                .numRegisterTokens(registers);
    }

    private static TransformerEncoder encoder(EncoderConfig config, long seed) {
        return new TransformerEncoder(config, () -> new FullAttention(0f), null, new SplittableRandom(seed));
    }

    /** Sample 0 has its last two of five tokens padded, sample 1 none. */
    private static Tensor padding() {
        return Tensor.of(new float[] {0, 0, 0, 1, 1, 0, 0, 0, 0, 0}, 2, 5);
    }

    // ------------------------------------------------------------------ image grid

    /** Full attention that records the grid of every context it is given. */
    @ComponentInfo(name = "test-grid-recorder", summary = "Full attention recording its contexts' grids",
            reference = "Vaswani et al., 2017, Attention Is All You Need")
    @AttentionCapabilities(causal = true, crossAttention = true, keyPaddingMask = true, additiveBias = true,
            incrementalDecoding = false, exact = true, grid = true, time = "O(N^2)", memory = "O(N^2)")
    static final class GridRecorder implements AttentionMechanism {
        final List<Grid> grids = new ArrayList<>();
        private final FullAttention full = new FullAttention(0f);

        @Override
        public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
            grids.add(context.grid());
            return full.forward(query, key, value, context);
        }
    }

    @ParameterizedTest
    @CsvSource({"CLS, 0, 1", "MEAN, 2, 2", "CLS, 2, 3"})
    void theTokensGridReachesEveryBlockShiftedPastThePrefix(TransformerEncoder.Pooling pooling, int registers,
                                                           int prefix) {
        List<GridRecorder> made = new ArrayList<>();
        TransformerEncoder encoder = new TransformerEncoder(config(pooling, registers).attentionDropout(0.1f).build(),
                () -> {
                    GridRecorder m = new GridRecorder();
                    made.add(m);
                    return m;
                }, null, new SplittableRandom(5));
        encoder.eval(); // the layers drop the attention dropout: the context they rebuild keeps the grid
        Tensor x = Tensor.randn(new SplittableRandom(6), 2, 6, DIM);
        encoder.forward(x, null, new Grid(0, 2, 3));
        encoder.forward(x, null);
        assertThat(made).hasSize(2).allSatisfy(m -> assertThat(m.grids).containsExactly(new Grid(prefix, 2, 3), null));
        assertThatThrownBy(() -> encoder.forward(x, null, new Grid(1, 2, 3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not fit in 6 tokens");
    }

    // ------------------------------------------------------------------ shapes and pooling

    @ParameterizedTest
    @CsvSource({"CLS, 0, 1", "MEAN, 0, 0", "CLS, 3, 4", "MEAN, 2, 2"})
    void outputsHaveTheDocumentedShapes(TransformerEncoder.Pooling pooling, int registers, int prefix) {
        TransformerEncoder encoder = encoder(config(pooling, registers).build(), 1);
        TransformerEncoder.Output out = encoder.forward(Tensor.randn(new SplittableRandom(2), 2, 5, DIM), padding());
        assertThat(encoder.prefixLength()).isEqualTo(prefix);
        assertThat(out.prefixLength()).isEqualTo(prefix);
        assertThat(out.sequence().shape()).containsExactly(2, prefix + 5, DIM);
        assertThat(out.tokens().shape()).containsExactly(2, 5, DIM);
        assertThat(out.pooled().shape()).containsExactly(2, DIM);
    }

    @ParameterizedTest
    @CsvSource({"CLS, 0", "MEAN, 0", "CLS, 2", "MEAN, 2"})
    void paddedTokensDoNotAffectThePooledOutput(TransformerEncoder.Pooling pooling, int registers) {
        TransformerEncoder encoder = encoder(config(pooling, registers).build(), 3);
        encoder.eval();
        SplittableRandom rng = new SplittableRandom(4);
        float[] data = Tensor.randn(rng, 2, 5, DIM).toFloatArray();
        float[] pooled = encoder.forward(Tensor.of(data, 2, 5, DIM), padding()).pooled().toFloatArray();
        for (int i = 3 * DIM; i < 5 * DIM; i++) {          // sample 0, tokens 3 and 4: padding
            data[i] += 10f * (float) rng.nextGaussian();
        }
        float[] changed = encoder.forward(Tensor.of(data, 2, 5, DIM), padding()).pooled().toFloatArray();
        for (int i = 0; i < 2 * DIM; i++) {
            assertThat(changed[i]).isCloseTo(pooled[i], offset(1e-5f));
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 3})
    void meanPoolingAveragesTheUnpaddedTokensOnly(int registers) {
        TransformerEncoder encoder = encoder(config(TransformerEncoder.Pooling.MEAN, registers).build(), 5);
        TransformerEncoder.Output out = encoder.forward(Tensor.randn(new SplittableRandom(6), 2, 5, DIM), padding());
        float[] tokens = out.tokens().toFloatArray();
        float[] pooled = out.pooled().toFloatArray();
        int[] kept = {3, 5};
        for (int b = 0; b < 2; b++) {
            for (int e = 0; e < DIM; e++) {
                double sum = 0;
                for (int t = 0; t < kept[b]; t++) {
                    sum += tokens[(b * 5 + t) * DIM + e];
                }
                assertThat((double) pooled[b * DIM + e]).isCloseTo(sum / kept[b],
                        offset(1e-5));
            }
        }
    }

    @Test
    void clsPoolingReadsTheFirstPositionAndRegistersArePrependedAfterIt() {
        TransformerEncoder encoder = encoder(config(TransformerEncoder.Pooling.CLS, 2).build(), 7);
        TransformerEncoder.Output out = encoder.forward(Tensor.randn(new SplittableRandom(8), 2, 5, DIM), null);
        float[] sequence = out.sequence().toFloatArray();
        float[] pooled = out.pooled().toFloatArray();
        for (int b = 0; b < 2; b++) {
            for (int e = 0; e < DIM; e++) {
                assertThat(pooled[b * DIM + e]).isEqualTo(sequence[b * 8 * DIM + e]);
            }
        }
        assertThat(encoder.namedParameters().get("clsToken").shape()).containsExactly(1, 1, DIM);
        assertThat(encoder.namedParameters().get("registerTokens").shape()).containsExactly(1, 2, DIM);
        assertThat(encoder.noDecayParameterNames()).contains("clsToken", "registerTokens");
    }

    @Test
    void registerTokensLearnOnlyThroughAttention() {
        // Registers are excluded from pooling, yet get a gradient through the tokens that attend to them.
        TransformerEncoder encoder = encoder(config(TransformerEncoder.Pooling.MEAN, 2).build(), 9);
        encoder.forward(Tensor.randn(new SplittableRandom(10), 2, 5, DIM), padding()).pooled().sum().backward();
        assertThat(maxAbs(encoder.namedParameters().get("registerTokens").grad().toFloatArray())).isGreaterThan(0f);
    }

    // ------------------------------------------------------------------ components

    @ParameterizedTest
    @ValueSource(strings = {"full", "flash", "local", "sliding-window", "lsh"})
    void everyRegisteredMechanismRunsThroughATwoLayerEncoder(String name) {
        // Mean pooling: with local and sliding-window attention a CLS token sees only its neighbourhood.
        TransformerEncoder encoder = new TransformerEncoder(config(TransformerEncoder.Pooling.MEAN, 1).build(),
                mechanisms(name), positional("sinusoidal", Map.of()), new SplittableRandom(11));
        Tensor x = Tensor.randn(new SplittableRandom(12), 2, 6, DIM).requiresGrad(true);
        Tensor mask = Tensor.of(new float[] {0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0}, 2, 6);
        TransformerEncoder.Output out = encoder.forward(x, mask);
        out.pooled().sum().backward();
        for (float v : out.pooled().toFloatArray()) {
            assertThat(v).isFinite();
        }
        assertThat(maxAbs(x.grad().toFloatArray())).isGreaterThan(0f);
        String query = name.equals("lsh") ? "queryKey" : "query";
        assertThat(encoder.namedParameters()).containsKeys("blocks.0.attention." + query + ".weight",
                "blocks.1.attention." + query + ".weight");
        assertThat(encoder.block(0).attention().mechanism()).isNotSameAs(encoder.block(1).attention().mechanism());
    }

    @ParameterizedTest
    @ValueSource(strings = {"t5-bias", "alibi"})
    void anIncompatiblePairingIsRejectedWhenBuiltNamingBoth(String positional) {
        assertThatThrownBy(() -> new TransformerEncoder(config(TransformerEncoder.Pooling.CLS, 0).build(),
                mechanisms("lsh"), positional(positional, Map.of()), new SplittableRandom(13)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'" + positional + "'").hasMessageContaining("'lsh'")
                .hasMessageContaining("block 0");
    }

    @Test
    void eachBlockNeedsItsOwnMechanism() {
        AttentionMechanism shared = new FullAttention(0f);
        assertThatThrownBy(() -> new TransformerEncoder(config(TransformerEncoder.Pooling.CLS, 0).build(),
                () -> shared, null, new SplittableRandom(14)))
                .hasMessageContaining("the same instance again for block 1");
    }

    @Test
    void positionsAreAddedToTheInputTokensOnlyAndTheSharedEncodingIsListedOnce() {
        // A learned table of exactly L rows suffices: CLS and registers take no absolute position.
        TransformerEncoder encoder = new TransformerEncoder(config(TransformerEncoder.Pooling.CLS, 2).build(),
                mechanisms("full"), positional("learned", Map.of("maxLength", "5")), new SplittableRandom(15));
        assertThat(encoder.forward(Tensor.randn(new SplittableRandom(16), 1, 5, DIM), null).sequence().shape())
                .containsExactly(1, 8, DIM);
        assertThat(encoder.namedParameters().keySet()).contains("positional.weight")
                .noneMatch(n -> n.startsWith("blocks.") && n.contains(".positional."));
        assertThatThrownBy(() -> encoder.forward(Tensor.randn(new SplittableRandom(16), 1, 6, DIM), null))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void parametersFollowTheStructure() {
        TransformerEncoder pre = encoder(config(TransformerEncoder.Pooling.CLS, 0).build(), 17);
        assertThat(pre.namedParameters()).containsKeys("clsToken", "blocks.0.attention.query.weight",
                "blocks.1.feedForward.down.bias", "blocks.1.attentionNorm.weight", "finalNorm.weight", "finalNorm.bias");
        EncoderConfig post = EncoderConfig.builder(BlockConfig.builder(DIM, HEADS).placement(NormPlacement.POST)
                .norm(NormKind.RMS).build(), 2).pooling(TransformerEncoder.Pooling.MEAN).build();
        assertThat(encoder(post, 17).namedParameters().keySet()).noneMatch(n -> n.startsWith("finalNorm"))
                .doesNotContain("clsToken");
    }

    @Test
    void trainAndEvalReachEveryBlock() {
        EncoderConfig config = EncoderConfig.builder(BlockConfig.builder(DIM, HEADS).dropPath(0.5f)
                .residualDropout(0.2f).build(), 2).attentionDropout(0.2f).build();
        TransformerEncoder encoder = encoder(config, 19);
        Tensor x = Tensor.randn(new SplittableRandom(20), 4, 5, DIM);
        encoder.eval();
        assertThat(encoder.block(0).isTraining()).isFalse();
        assertThat(encoder.block(1).attention().isTraining()).isFalse();
        float[] first = encoder.forward(x, null).pooled().toFloatArray();
        assertThat(encoder.forward(x, null).pooled().toFloatArray()).containsExactly(first);
        encoder.train();
        assertThat(encoder.block(1).feedForward().isTraining()).isTrue();
        assertThat(encoder.forward(x, null).pooled().toFloatArray()).isNotEqualTo(first);
    }

    @Test
    void stochasticDepthGrowsLinearlyWithDepth() {
        EncoderConfig config = EncoderConfig.builder(BlockConfig.builder(DIM, HEADS).dropPath(0.4f).build(), 4).build();
        TransformerEncoder encoder = encoder(config, 21);
        for (int l = 0; l < 4; l++) {
            assertThat(encoder.block(l).config().dropPath()).isCloseTo(0.1f * (l + 1),
                    offset(1e-6f));
        }
    }

    @Test
    void badInputsAreRejectedWithTheirShapes() {
        TransformerEncoder encoder = encoder(config(TransformerEncoder.Pooling.MEAN, 0).build(), 23);
        assertThatThrownBy(() -> encoder.forward(Tensor.zeros(2, 5, 4), null))
                .hasMessageContaining("modelDim = 8").hasMessageContaining("[2, 5, 4]");
        assertThatThrownBy(() -> encoder.forward(Tensor.zeros(2, 5, DIM), Tensor.zeros(2, 4)))
                .hasMessageContaining("keyPaddingMask").hasMessageContaining("[2, 5]").hasMessageContaining("[2, 4]");
        assertThatThrownBy(() -> EncoderConfig.builder(BlockConfig.builder(DIM, HEADS).build(), 0).build())
                .hasMessageContaining("layers must be positive, got 0");
    }

    private static float maxAbs(float[] values) {
        float max = 0f;
        for (float v : values) {
            max = Math.max(max, Math.abs(v));
        }
        return max;
    }
}
