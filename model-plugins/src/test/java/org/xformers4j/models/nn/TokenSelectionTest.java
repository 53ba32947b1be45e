package org.xformers4j.models.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.xformers4j.attention.exact.FullAttention;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.nn.ParameterState;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.GradientCheck;
import org.xformers4j.tensor.Tensor;

/**
 * Token selection (ToSA): how many tokens are kept and which, that the kept tokens go through the
 * block and the others bypass it exactly, gradients against finite differences, and the
 * configurations and components it refuses.
 */
class TokenSelectionTest {

    private static final int DIM = 8;
    private static final int HEADS = 2;
    private static final int LENGTH = 7;

    // ------------------------------------------------------------------ the ranking

    @ParameterizedTest
    @CsvSource({"0.5, 10, 5", "0.25, 10, 3", "0.3, 10, 3", "1, 10, 10", "0.01, 10, 1", "0.34, 3, 2"})
    void keepsTheCeilingOfKeepRatioTimesTheInputTokens(float keepRatio, int length, int kept) {
        assertThat(new TokenSelection(List.of(1), keepRatio).kept(length)).isEqualTo(kept);
    }

    @Test
    void keepsThePrefixAndTheMostAttendedTokensInOrderAndIgnoresPaddedQueries() {
        // 1 example, 2 heads, N = 6 (prefix 1): the column means decide; token 5 is padded
        int n = 6;
        float[] w = new float[2 * n * n];
        double[] received = {0.0, 0.1, 0.4, 0.1, 0.3, 0.0};            // token 1 and 3 tie: the earlier wins
        for (int h = 0; h < 2; h++) {
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    w[(h * n + i) * n + j] = (float) received[j];
                }
            }
        }
        // the padded query 5 gives all its weight to token 1: it must not count
        Arrays.fill(w, 5 * n, 6 * n, 0f);
        w[5 * n + 1] = 1f;
        Tensor padding = Tensor.of(new float[] {0, 0, 0, 0, 0, 1}, 1, n);
        TokenSelection.Kept kept = new TokenSelection(List.of(1), 0.6f).rank(Tensor.of(w, 1, 2, n, n), padding, 1);
        assertThat(kept.count()).isEqualTo(1 + 3);                      // ⌈0.6 · 5⌉ = 3 of the input tokens
        assertThat(kept.positions()[0]).containsExactly(0, 1, 2, 4);
    }

    // ------------------------------------------------------------------ the encoder

    /** POST-norm blocks (no final norm), mean pooling, no prefix, no positions: the sequence is the last block's output. */
    private static TransformerEncoder encoder(String layers, float keepRatio, long seed) {
        BlockConfig block = BlockConfig.builder(DIM, HEADS).hidden(16).placement(NormPlacement.POST).build();
        return new TransformerEncoder(EncoderConfig.builder(block, 2).pooling(TransformerEncoder.Pooling.MEAN)
                .tokenSelection(TokenSelection.parse(layers, keepRatio)).build(), () -> new FullAttention(0f), null,
                new SplittableRandom(seed));
    }

    private static Tensor padding() {
        float[] mask = new float[2 * LENGTH];
        mask[LENGTH + LENGTH - 1] = 1f;                                 // example 1's last token is padding
        mask[LENGTH + LENGTH - 2] = 1f;
        return Tensor.of(mask, 2, LENGTH);
    }

    /** The selection block computed from its parts: block 0, the ranking by its weights, block 1 on the kept tokens. */
    private static Tensor reference(TransformerEncoder encoder, Tensor x, Tensor padding, TokenSelection.Kept kept) {
        AttentionContext context = AttentionContext.builder().keyPaddingMask(padding).build();
        Tensor h0 = encoder.block(0).forward(x, context);
        AttentionContext keptContext = AttentionContext.builder().keyPaddingMask(kept.gatherMask(padding)).build();
        return kept.merge(h0, encoder.block(1).forward(kept.gather(h0), keptContext));
    }

    private static TokenSelection.Kept ranking(TransformerEncoder encoder, Tensor x, Tensor padding) {
        AttentionContext context = AttentionContext.builder().keyPaddingMask(padding).build();
        return encoder.config().tokenSelection().rank(encoder.block(0).attentionWeights(x, context), padding, 0);
    }

    @Test
    void keptTokensGoThroughTheBlockAndTheOthersBypassItUnchanged() {
        TransformerEncoder encoder = encoder("1", 0.5f, 3);
        encoder.eval();
        Tensor x = Tensor.randn(new SplittableRandom(4), 2, LENGTH, DIM);
        Tensor padding = padding();
        float[] out = encoder.forward(x, padding).sequence().toFloatArray();
        TokenSelection.Kept kept = ranking(encoder, x, padding);
        assertThat(kept.count()).isEqualTo(4);                         // ⌈0.5 · 7⌉
        AttentionContext context = AttentionContext.builder().keyPaddingMask(padding).build();
        float[] bypass = encoder.block(0).forward(x, context).toFloatArray();
        float[] expected = reference(encoder, x, padding, kept).toFloatArray();
        for (int b = 0; b < 2; b++) {
            List<Integer> keptHere = Arrays.stream(kept.positions()[b]).boxed().toList();
            for (int t = 0; t < LENGTH; t++) {
                for (int d = 0; d < DIM; d++) {
                    int e = (b * LENGTH + t) * DIM + d;
                    if (keptHere.contains(t)) {
                        assertThat(out[e]).as("kept token %d of example %d", t, b).isCloseTo(expected[e], within(1e-5f));
                        assertThat(out[e]).as("the block changed kept token %d", t).isNotEqualTo(bypass[e]);
                    } else {
                        assertThat(out[e]).as("bypassed token %d of example %d", t, b).isEqualTo(bypass[e]);
                    }
                }
            }
        }
    }

    @Test
    void keepingEveryTokenIsTheOrdinaryEncoder() {
        TransformerEncoder selecting = encoder("1", 1f, 5);
        TransformerEncoder ordinary = encoder("", 1f, 5);
        Tensor x = Tensor.randn(new SplittableRandom(6), 2, LENGTH, DIM);
        float[] expected = ordinary.forward(x, padding()).sequence().toFloatArray();
        float[] actual = selecting.forward(x, padding()).sequence().toFloatArray();
        for (int e = 0; e < expected.length; e++) {
            assertThat(actual[e]).isCloseTo(expected[e], within(1e-5f));
        }
    }

    @Test
    void attentionWeightsOfASelectionBlockAreTheKeptTokensWeightsAtTheirPlaces() {
        TransformerEncoder encoder = encoder("1", 0.5f, 7);
        Tensor x = Tensor.randn(new SplittableRandom(8), 2, LENGTH, DIM);
        List<Tensor> weights = encoder.attentionWeights(x, padding());
        TokenSelection.Kept kept = ranking(encoder, x, padding());
        float[] w = weights.get(1).toFloatArray();
        for (int b = 0; b < 2; b++) {
            List<Integer> keptHere = Arrays.stream(kept.positions()[b]).boxed().toList();
            for (int h = 0; h < HEADS; h++) {
                for (int i = 0; i < LENGTH; i++) {
                    double sum = 0;
                    for (int j = 0; j < LENGTH; j++) {
                        float v = w[((b * HEADS + h) * LENGTH + i) * LENGTH + j];
                        if (!keptHere.contains(i) || !keptHere.contains(j)) {
                            assertThat(v).isZero();
                        }
                        sum += v;
                    }
                    assertThat(sum).isCloseTo(keptHere.contains(i) ? 1.0 : 0.0, within(1e-5));
                }
            }
        }
    }

    @Test
    void gradientsMatchFiniteDifferencesWithTheSelectionHeldFixed() {
        TransformerEncoder encoder = encoder("1", 0.5f, 9);
        encoder.eval();
        Tensor x = Tensor.randn(new SplittableRandom(10), 2, LENGTH, DIM).requiresGrad(true);
        Tensor padding = padding();
        TokenSelection.Kept kept;
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            kept = ranking(encoder, x, padding);
        }
        // the selection is discrete and passes no gradient: the reference holds it where x puts it
        GradientCheck.Result result = GradientCheck.of("d/dx through token selection",
                in -> encoder.forward(in[0], padding).sequence(),
                GradientCheck.float32Reference(in -> reference(encoder, in[0], padding, kept), x), x)
                .step(1e-2).forwardTolerance(1e-4).gradTolerance(1e-2).run();
        assertThat(result.passed()).as(result.detail()).isTrue();
        String name = "blocks.1.attention.query.weight";
        Tensor query = encoder.namedParameters().get(name);
        Map<String, ParameterState> original = encoder.stateDict();
        GradientCheck.Reference perturbed = values -> {
            Map<String, ParameterState> state = new LinkedHashMap<>(original);
            float[] data = new float[values[0].length];
            for (int e = 0; e < data.length; e++) {
                data[e] = (float) values[0][e];
            }
            state.put(name, new ParameterState(query.shape(), data));
            encoder.loadStateDict(state);
            try (GradMode.Scope ignored = GradMode.noGrad()) {
                float[] out = reference(encoder, x, padding, kept).toFloatArray();
                double[] values64 = new double[out.length];
                for (int e = 0; e < out.length; e++) {
                    values64[e] = out[e];
                }
                return values64;
            } finally {
                encoder.loadStateDict(original);
            }
        };
        GradientCheck.Result parameter = GradientCheck.of("d/d " + name, in -> encoder.forward(x, padding).sequence(),
                perturbed, query).step(1e-2).gradTolerance(1e-2).run();
        assertThat(parameter.passed()).as(parameter.detail()).isTrue();
    }

    // ------------------------------------------------------------------ refusals

    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
            "0; 0.5; selection blocks start at 1",
            "1,2; 0.5; none right after another",
            "1,x; 0.5; got 'x'",
            "3; 0.5; the encoder has 2 blocks",
            "1; 0; keepRatio",
            "1; 1.5; keepRatio"})
    void badSettingsAreRefusedNamingTheField(String layers, float keepRatio, String message) {
        assertThatThrownBy(() -> Architecture.builder().tokenSelection(layers, keepRatio).build())
                .isInstanceOf(PropertyException.class).hasMessageContaining(message);
    }

    @Test
    void aMechanismThatCannotReportItsWeightsIsRefusedNamingItAndTheOption() {
        ComponentRegistry registry = ComponentRegistry.standalone();
        Architecture linear = Architecture.builder().attention("linear", Map.of()).tokenSelection("1", 0.5f).build();
        assertThatThrownBy(() -> linear.checkComponents(registry)).isInstanceOf(PropertyException.class)
                .hasMessageContaining("'linear'").hasMessageContaining("tokenSelectionLayers")
                .hasMessageContaining("WeightedAttention");
        assertThatThrownBy(() -> new TransformerEncoder(linear.encoderConfig(),
                () -> registry.create(AttentionMechanism.class, "linear", Map.of()), null, new SplittableRandom(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'linear'");
        Architecture rotary = Architecture.builder().attention("full", Map.of())
                .positional("rotary", Map.of()).tokenSelection("1", 0.5f).build();
        assertThatThrownBy(() -> rotary.checkComponents(ComponentRegistry.standalone())).isInstanceOf(PropertyException.class)
                .hasMessageContaining("'rotary'");
        Architecture.builder().attention("full", Map.of()).positional("learned",
                Map.of("maxLength", "8")).tokenSelection("1", 0.5f).build().checkComponents(ComponentRegistry.standalone());
        assertThatThrownBy(() -> Architecture.builder().tokenSelection("1", 0.5f).build().decoderConfig(10, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("encoder option");
    }

    @Test
    void theOptionsAreSavedAndLoadedWithTheArchitecture() {
        Architecture architecture = Architecture.builder().layers(4).tokenSelection("1, 3", 0.25f).build();
        Architecture loaded = Architecture.fromMetadata(architecture.toMetadata());
        assertThat(loaded).isEqualTo(architecture);
        assertThat(loaded.encoderConfig().tokenSelection()).isEqualTo(new TokenSelection(List.of(1, 3), 0.25f));
    }
}
