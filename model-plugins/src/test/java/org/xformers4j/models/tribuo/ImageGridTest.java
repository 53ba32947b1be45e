package org.xformers4j.models.tribuo;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.tribuo.Example;
import org.tribuo.MutableDataset;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.data.csv.CSVLoader;
import org.tribuo.provenance.SimpleDataSourceProvenance;
import org.xformers4j.component.attention.AttentionContext.Grid;
import org.xformers4j.models.nn.Architecture;
import org.xformers4j.tensor.GradMode;

/**
 * The patch grid reaches the attention mechanisms through the whole model, without the user
 * naming it: a digits classifier (8×8 images, 2×2 patches) with {@code relu-linear} convolves over
 * the 4×4 grid of its patches, and computes something else than along the sequence.
 */
class ImageGridTest {

    @Test
    void aDigitsClassifierWithReluLinearConvolvesOverItsPatchGrid() throws Exception {
        LabelFactory labels = new LabelFactory();
        MutableDataset<Label> all = new CSVLoader<>(labels)
                .load(Path.of(getClass().getResource("/data/digits.csv").toURI()), "label");
        MutableDataset<Label> digits = new MutableDataset<>(new SimpleDataSourceProvenance("digits", labels), labels);
        digits.addAll(all.getData().subList(0, 300));
        TransformerModel<Label> model = TransformerTrainer.builder(new ImagePatches(8, 8, 1, 2, 1f / 16, "p"),
                        new LabelHead())
                .architecture(Architecture.builder().attention("relu-linear", Map.of())
                        .positional("learned", Map.of("maxLength", "16")).modelDim(16).heads(2).layers(1).build())
                .epochs(1)
                .run(TransformerTrainer.runDefaults().batchSize(32).seed(1).build()).build().train(digits);
        TransformerNetwork network = model.network();
        assertThat(network.input().grid()).isEqualTo(new Grid(0, 4, 4));
        List<Example<Label>> batch = digits.getData().subList(0, 8);
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            EncoderModule.Tokens tokens = network.input().forward(batch);
            float[] encoded = network.encode(batch).pooled().toFloatArray();
            float[] overTheGrid = network.encoder().forward(tokens.embeddings(), tokens.paddingMask(),
                    new Grid(0, 4, 4)).pooled().toFloatArray();
            float[] alongTheSequence = network.encoder().forward(tokens.embeddings(), tokens.paddingMask())
                    .pooled().toFloatArray();
            assertThat(encoded).containsExactly(overTheGrid);
            double difference = 0;
            for (int i = 0; i < encoded.length; i++) {
                difference = Math.max(difference, Math.abs(encoded[i] - alongTheSequence[i]));
            }
            assertThat(difference).as("2-D and 1-D convolutions give different encodings").isGreaterThan(1e-3);
        }
    }
}
