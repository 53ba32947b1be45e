package org.xformers4j.models.command;

import java.util.List;
import org.osgi.service.component.annotations.Component;
import org.xformers4j.component.ConfigurableCatalog;
import org.xformers4j.component.ConfigurableDescriptor;
import org.xformers4j.models.lm.ImageSourceEncoder;
import org.xformers4j.models.lm.LanguageModelTrainer;
import org.xformers4j.models.lm.Seq2SeqTrainer;
import org.xformers4j.models.lm.TextSourceEncoder;
import org.xformers4j.models.nn.Architecture;
import org.xformers4j.models.tribuo.FeatureTokens;
import org.xformers4j.models.tribuo.ImagePatches;
import org.xformers4j.models.tribuo.LabelHead;
import org.xformers4j.models.tribuo.MultiLabelHead;
import org.xformers4j.models.tribuo.RegressorHead;
import org.xformers4j.models.tribuo.TextTokens;
import org.xformers4j.models.tribuo.TransformerTrainer;
import org.xformers4j.train.Optimization;
import org.xformers4j.train.RunSettings;

/**
 * The classes a configuration of this bundle's trainers names, for {@code xformers4j describe}: the
 * trainers, the architecture, the training settings, the input encoders and the output heads.
 */
@Component(service = ConfigurableCatalog.class)
public final class ConfigurableClasses implements ConfigurableCatalog {

    private static final String TRAINER = "trainer";
    private static final String ENCODER = "input encoder";
    private static final String HEAD = "output head";
    private static final String SETTINGS = "training settings";

    private final List<ConfigurableDescriptor> descriptors = List.of(
            ConfigurableDescriptor.of(TransformerTrainer.class, TRAINER,
                    "Trains a transformer on a Tribuo dataset: classification, regression, multi-label (train)."),
            ConfigurableDescriptor.of(LanguageModelTrainer.class, TRAINER,
                    "Trains a decoder-only, GPT-style language model on a text (lm train)."),
            ConfigurableDescriptor.of(Seq2SeqTrainer.class, TRAINER,
                    "Trains an encoder-decoder model on source-target pairs (seq2seq train)."),
            ConfigurableDescriptor.of(Architecture.class, "architecture",
                    "The network every trainer builds: attention, positions, widths, depth, norms, dropout."),
            ConfigurableDescriptor.of(Optimization.class, SETTINGS,
                    "How the weights are updated: optimiser, learning-rate schedule, clipping."),
            ConfigurableDescriptor.of(RunSettings.class, SETTINGS,
                    "Batch, held-out data, early stopping, time budget and checkpoints."),
            ConfigurableDescriptor.of(FeatureTokens.class, ENCODER,
                    "One token per feature of a tabular example (FT-Transformer)."),
            ConfigurableDescriptor.of(ImagePatches.class, ENCODER,
                    "Image patches of a pixel grid as tokens (Vision Transformer)."),
            ConfigurableDescriptor.of(TextTokens.class, ENCODER,
                    "Ordered text tokens as learned embeddings."),
            ConfigurableDescriptor.of(TextSourceEncoder.class, ENCODER,
                    "A sequence-to-sequence model's text sources: the tokenizer's tokens, the shared embedding table."),
            ConfigurableDescriptor.of(ImageSourceEncoder.class, ENCODER,
                    "A sequence-to-sequence model's image sources (image captioning): Vision Transformer patches."),
            ConfigurableDescriptor.of(LabelHead.class, HEAD,
                    "Multi-class classification: softmax cross-entropy, a probability for every label."),
            ConfigurableDescriptor.of(RegressorHead.class, HEAD,
                    "Regression of one or more dimensions: mean squared error."),
            ConfigurableDescriptor.of(MultiLabelHead.class, HEAD,
                    "Multi-label classification: one sigmoid per label, binary cross-entropy."));

    @Override
    public List<ConfigurableDescriptor> configurables() {
        return descriptors;
    }
}
