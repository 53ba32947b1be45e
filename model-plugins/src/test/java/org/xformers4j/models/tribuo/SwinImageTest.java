package org.xformers4j.models.tribuo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import org.xformers4j.attention.local.SwinAttention;
import org.xformers4j.component.attention.AttentionContext.Grid;
import org.xformers4j.models.nn.Architecture;
import org.xformers4j.tensor.GradMode;

/**
 * A digits classifier with {@code swin}: the encoder's stack tells each layer its place, so the
 * windows of the odd layers are shifted, and the patch grid reaches the mechanism through the
 * model; without the grid the encoder refuses, naming it.
 */
class SwinImageTest {

    @Test
    void aDigitsClassifierWithSwinShiftsItsOddLayersOverThePatchGrid() throws Exception {
        LabelFactory labels = new LabelFactory();
        MutableDataset<Label> all = new CSVLoader<>(labels)
                .load(Path.of(getClass().getResource("/data/digits.csv").toURI()), "label");
        MutableDataset<Label> digits = new MutableDataset<>(new SimpleDataSourceProvenance("digits", labels), labels);
        digits.addAll(all.getData().subList(0, 200));
        TransformerModel<Label> model = TransformerTrainer.builder(new ImagePatches(8, 8, 1, 2, 1f / 16, "p"),
                        new LabelHead())
                .architecture(Architecture.builder().attention("swin", Map.of("window", "2"))
                        .positional("learned", Map.of("maxLength", "16")).modelDim(16).heads(2).layers(3).build())
                .epochs(1)
                .run(TransformerTrainer.runDefaults().batchSize(32).seed(1).build()).build().train(digits);
        TransformerNetwork network = model.network();
        for (int layer = 0; layer < 3; layer++) {
            SwinAttention swin = (SwinAttention) network.encoder().block(layer).attention().mechanism();
            assertThat(swin.shifted()).as("layer %d", layer).isEqualTo(layer == 1);
        }
        List<Example<Label>> batch = digits.getData().subList(0, 8);
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            EncoderModule.Tokens tokens = network.input().forward(batch);
            float[] encoded = network.encode(batch).pooled().toFloatArray();
            float[] overTheGrid = network.encoder().forward(tokens.embeddings(), tokens.paddingMask(),
                    new Grid(0, 4, 4)).pooled().toFloatArray();
            assertThat(encoded).containsExactly(overTheGrid);
            assertThatThrownBy(() -> network.encoder().forward(tokens.embeddings(), tokens.paddingMask()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("swin")
                    .hasMessageContaining("grid");
        }
    }
}
