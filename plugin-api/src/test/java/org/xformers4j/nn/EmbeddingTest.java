package org.xformers4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.tensor.GradCheck;

class EmbeddingTest {

    @Test
    void looksUpRowsAndAccumulatesGradientsOfRepeatedIds() {
        Embedding embedding = new Embedding(4, 3, new SplittableRandom(31));
        int[] ids = {1, 0, 3, 1};
        GradCheck.of("Embedding", in -> embedding.forward(ids, 2, 2), ref -> {
            double[] out = new double[ids.length * 3];
            for (int t = 0; t < ids.length; t++) {
                System.arraycopy(ref[0], ids[t] * 3, out, t * 3, 3);
            }
            return out;
        }, embedding.weight()).check();
        assertThat(embedding.forward(ids, 2, 2).shape()).containsExactly(2, 2, 3);
    }

    @Test
    void rejectsBadSizes() {
        assertThatThrownBy(() -> new Embedding(0, 3, new SplittableRandom(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("numEmbeddings");
        assertThatThrownBy(() -> new Embedding(3, 0, new SplittableRandom(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("embeddingDim");
    }
}
