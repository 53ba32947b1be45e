package org.xformers4j.positional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;
import static org.assertj.core.api.Assertions.within;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.attention.exact.FullAttention;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.ComponentKind;
import org.xformers4j.component.Hyperparameter;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.nn.MultiHeadAttention;
import org.xformers4j.tensor.Tensor;

class AlibiPositionalBiasTest {

    /** 2^-1 … 2^-8: for 8 heads the sequence starts at 2^(-8/8) with that ratio. */
    private static final double[] SLOPES_8 = {1.0 / 2, 1.0 / 4, 1.0 / 8, 1.0 / 16, 1.0 / 32, 1.0 / 64, 1.0 / 128,
        1.0 / 256};

    /** The 4 slopes of 4 heads (2^-2, 2^-4, 2^-6, 2^-8), then slopes 1 and 3 of 8 heads (2^-1, 2^-3). */
    private static final double[] SLOPES_6 = {1.0 / 4, 1.0 / 16, 1.0 / 64, 1.0 / 256, 1.0 / 2, 1.0 / 8};

    /** The 8 slopes of 8 heads, then slopes 1, 3, 5, 7 of 16 heads (2^-0.5, 2^-1.5, 2^-2.5, 2^-3.5). */
    private static final double[] SLOPES_12 = {1.0 / 2, 1.0 / 4, 1.0 / 8, 1.0 / 16, 1.0 / 32, 1.0 / 64, 1.0 / 128,
        1.0 / 256, 0.7071067811865476, 0.35355339059327373, 0.17677669529663687, 0.08838834764831843};

    private static AlibiPositionalBias alibi(boolean bidirectional, int heads) {
        AlibiPositionalBias pe = new AlibiPositionalBias(bidirectional);
        pe.initialize(8 * heads, heads, new SplittableRandom(0));
        return pe;
    }

    /** bias[0, h, t, j] = -slope_h · (queryOffset + t - j), or its absolute value when bidirectional. */
    private static void assertExplicit(AlibiPositionalBias pe, double[] slopes, boolean bidirectional, int queryLength,
                                       int keyLength, int queryOffset) {
        Tensor bias = pe.attentionBias(slopes.length, queryLength, keyLength, queryOffset);
        assertThat(bias.shape()).containsExactly(1, slopes.length, queryLength, keyLength);
        for (int h = 0; h < slopes.length; h++) {
            for (int t = 0; t < queryLength; t++) {
                for (int j = 0; j < keyLength; j++) {
                    int distance = queryOffset + t - j;
                    double expected = -slopes[h] * (bidirectional ? Math.abs(distance) : distance);
                    assertThat((double) bias.get(0, h, t, j)).as("head %d, query %d, key %d", h, queryOffset + t, j)
                            .isCloseTo(expected, within(1e-6 * (1 + Math.abs(expected))));
                }
            }
        }
    }

    @Test
    void slopesFollowThePaperForPowersOfTwoAndOtherHeadCounts() {
        assertThat(alibi(false, 8).slopes()).containsExactly(SLOPES_8, within(1e-15));
        assertThat(alibi(false, 6).slopes()).containsExactly(SLOPES_6, within(1e-15));
        assertThat(alibi(false, 12).slopes()).containsExactly(SLOPES_12, within(1e-15));
        assertThat(alibi(false, 1).slopes()).containsExactly(new double[] {1.0 / 256}, within(1e-15));
        assertThat(alibi(false, 2).slopes()).containsExactly(new double[] {1.0 / 16, 1.0 / 256}, within(1e-15));
    }

    @Test
    void causalBiasIsTheSlopeTimesDistanceMatrix() {
        for (double[] slopes : new double[][] {SLOPES_8, SLOPES_6, SLOPES_12}) {
            assertExplicit(alibi(false, slopes.length), slopes, false, 5, 5, 0);
        }
        // head 0 of 8, written out: row i is -(i - j)/2
        Tensor bias = alibi(false, 8).attentionBias(8, 3, 3, 0);
        assertThat(bias.narrow(1, 0, 1).toFloatArray())
                .containsExactly(new float[] {0f, 0.5f, 1f, -0.5f, 0f, 0.5f, -1f, -0.5f, 0f}, within(1e-7f));
    }

    @Test
    void bidirectionalBiasPenalisesBothDirections() {
        for (double[] slopes : new double[][] {SLOPES_8, SLOPES_6, SLOPES_12}) {
            assertExplicit(alibi(true, slopes.length), slopes, true, 5, 5, 0);
        }
        Tensor bias = alibi(true, 6).attentionBias(6, 3, 3, 0);
        assertThat(bias.narrow(1, 4, 1).toFloatArray())
                .containsExactly(new float[] {0f, -0.5f, -1f, -0.5f, 0f, -0.5f, -1f, -0.5f, 0f}, within(1e-7f));
    }

    @Test
    void queryOffsetsSelectLaterRowsAtAnyLength() {
        for (boolean bidirectional : new boolean[] {false, true}) {
            AlibiPositionalBias pe = alibi(bidirectional, 6);
            assertExplicit(pe, SLOPES_6, bidirectional, 2, 9, 7);
            assertExplicit(pe, SLOPES_6, bidirectional, 1, 4, 3);
            // one decoding step far beyond any training length
            assertExplicit(pe, SLOPES_6, bidirectional, 1, 5000, 4999);
            Tensor rows = pe.attentionBias(6, 3, 8, 5);
            Tensor whole = pe.attentionBias(6, 8, 8, 0);
            assertThat(rows.toFloatArray()).containsExactly(whole.narrow(2, 5, 3).toFloatArray());
        }
    }

    @Test
    void checksInitializationHeadsAndArguments() {
        AlibiPositionalBias pe = new AlibiPositionalBias(false);
        assertThat(pe.slopes()).isNull();
        assertThatThrownBy(() -> pe.attentionBias(8, 2, 2, 0))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("alibi: initialize(modelDim, heads, rng) must be called before use");
        assertThatThrownBy(() -> pe.initialize(16, 0, new SplittableRandom(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("alibi: heads must be positive, got 0");
        pe.initialize(16, 8, new SplittableRandom(1));
        assertThatThrownBy(() -> pe.attentionBias(4, 2, 2, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("alibi: asked for a bias for 4 heads but was initialized with 8 heads");
        assertThatThrownBy(() -> pe.attentionBias(8, 0, 2, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("alibi: queryLength and keyLength must be positive, got 0 and 2");
        assertThatThrownBy(() -> pe.attentionBias(8, 2, 2, -1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("alibi: queryOffset must be >= 0, got -1");
    }

    @Test
    void worksThroughMultiHeadAttentionWithFullAndFlash() {
        BiasEndToEnd.checkCausal(alibi(false, 4), 4);
        BiasEndToEnd.check(alibi(true, 2), 2);
    }

    @Test
    void theCausalFormIsRefusedInANonCausalContextNamingTheFix() {
        // the causal form -m·(i - j) gives key j > i the bonus m·(j - i): an encoder would favour the far future
        MultiHeadAttention layer = new MultiHeadAttention(16, 4, new FullAttention(0f), alibi(false, 4), true,
                new SplittableRandom(7));
        Tensor x = Tensor.randn(new SplittableRandom(8), 2, 5, 16);
        assertThatThrownBy(() -> layer.selfAttention(x, AttentionContext.none()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("alibi: the causal form")
                .hasMessageContaining("non-causal context")
                .hasMessageContaining("alibi.bidirectional=true");
        assertThat(layer.selfAttention(x, AttentionContext.builder().causal(true).build()).shape())
                .containsExactly(2, 5, 16);
        assertThatThrownBy(() -> alibi(false, 4).attentionBias(4, 3, 3, 0, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bidirectional=true");
    }

    @Test
    void bothFormsAttendAlikeInACausalContext() {
        // they differ only on the keys after the query, which the causal mask removes
        Tensor x = Tensor.randn(new SplittableRandom(9), 2, 6, 16);
        AttentionContext causal = AttentionContext.builder().causal(true).build();
        float[][] out = new float[2][];
        for (int form = 0; form < 2; form++) {
            MultiHeadAttention layer = new MultiHeadAttention(16, 4, new FullAttention(0f), alibi(form == 1, 4), true,
                    new SplittableRandom(7));
            out[form] = layer.selfAttention(x, causal).toFloatArray();
        }
        for (int e = 0; e < out[0].length; e++) {
            assertThat(out[1][e]).as("element %d", e).isCloseTo(out[0][e], within(1e-6f));
        }
    }

    @Test
    void providerConfiguresAndValidates() {
        AlibiPositionalBiasProvider provider = new AlibiPositionalBiasProvider();
        assertThat(provider.create(Map.of()).bidirectional()).isFalse();
        assertThat(provider.create(Map.of("bidirectional", "true")).bidirectional()).isTrue();
        assertThatThrownBy(() -> provider.create(Map.of("slopes", "0.5")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("unknown option 'slopes' for alibi; valid options: bidirectional");
    }

    @Test
    void descriptor() {
        ComponentDescriptor d = new AlibiPositionalBiasProvider().descriptor();
        assertThat(d.name()).isEqualTo("alibi");
        assertThat(d.kind()).isEqualTo(ComponentKind.POSITIONAL);
        assertThat(d.reference()).isEqualTo("Press et al., 2022, Train Short, Test Long: Attention with Linear "
                + "Biases Enables Input Length Extrapolation");
        assertThat(d.hyperparameters()).containsExactly(
                new Hyperparameter("bidirectional", "boolean", "false",
                        "Penalise the distance in both directions, -slope·|query - key|, for encoders; "
                                + "false is the paper's causal form -slope·(query - key), for decoders only (refused "
                                + "in a non-causal context).",
                        false, "", List.of()));
        assertThat(d.capabilityMap()).containsOnly(entry("addsToEmbeddings", false), entry("attentionBias", true),
                entry("extrapolates", true), entry("learnable", false), entry("maximumLength", false),
                entry("rotatesQueryKey", false));
    }
}
