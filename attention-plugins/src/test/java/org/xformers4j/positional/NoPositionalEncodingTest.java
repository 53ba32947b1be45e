package org.xformers4j.positional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.ComponentKind;
import org.xformers4j.tensor.Tensor;

class NoPositionalEncodingTest {

    @Test
    void everyHookPassesItsInputThrough() {
        NoPositionalEncoding pe = new NoPositionalEncodingProvider().create(Map.of());
        pe.initialize(8, 2, new SplittableRandom(1));
        SplittableRandom rng = new SplittableRandom(2);
        Tensor embeddings = Tensor.randn(rng, 2, 5, 8);
        assertThat(pe.addToEmbeddings(embeddings, 0)).isSameAs(embeddings);
        assertThat(pe.addToEmbeddings(embeddings, 1_000_000)).isSameAs(embeddings);

        // grouped-query shapes: 2 query heads, 1 key head, a query at the end of 6 cached keys
        Tensor query = Tensor.randn(rng, 2, 2, 1, 4);
        Tensor key = Tensor.randn(rng, 2, 1, 6, 4);
        Tensor[] rotated = pe.rotateQueryKey(query, key, 5, 0);
        assertThat(rotated).hasSize(2);
        assertThat(rotated[0]).isSameAs(query);
        assertThat(rotated[1]).isSameAs(key);

        assertThat(pe.attentionBias(2, 1, 6, 5)).isNull();
        assertThat(pe.attentionBias(2, 4, 4, 0)).isNull();
    }

    @Test
    void providerHasNoOptions() {
        NoPositionalEncodingProvider provider = new NoPositionalEncodingProvider();
        assertThat(provider.create(Map.of())).isInstanceOf(NoPositionalEncoding.class);
        assertThatThrownBy(() -> provider.create(Map.of("maxLength", "8")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("unknown option 'maxLength' for none; valid options: none");
    }

    @Test
    void descriptor() {
        ComponentDescriptor d = new NoPositionalEncodingProvider().descriptor();
        assertThat(d.name()).isEqualTo("none");
        assertThat(d.kind()).isEqualTo(ComponentKind.POSITIONAL);
        assertThat(d.summary()).isEqualTo("No position information: embeddings, queries and keys pass through unchanged");
        assertThat(d.reference()).isEqualTo("Haviv et al., 2022, Transformer Language Models without Positional "
                + "Encodings Still Learn Positional Information");
        assertThat(d.hyperparameters()).isEmpty();
        assertThat(d.capabilityMap()).containsOnly(entry("addsToEmbeddings", false), entry("attentionBias", false),
                entry("extrapolates", true), entry("learnable", false), entry("maximumLength", false),
                entry("rotatesQueryKey", false));
    }
}
