package org.xformers4j.models.lm;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.random.RandomGenerator;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.models.nn.BlockConfig;
import org.xformers4j.models.nn.DecoderConfig;
import org.xformers4j.models.nn.EncoderConfig;
import org.xformers4j.models.nn.NormKind;
import org.xformers4j.models.nn.NormPlacement;
import org.xformers4j.models.nn.TransformerDecoder;
import org.xformers4j.models.nn.TransformerEncoder;
import org.xformers4j.models.tribuo.ComponentResolver;
import org.xformers4j.nn.FeedForward;

/**
 * Everything needed to rebuild a language model's network: the registered attention mechanism and
 * positional encoding with their options, the block architecture, the depth and the training
 * context length. It is written into a saved model as text metadata ({@link #toMetadata()}), so a
 * model file names its components rather than holding code.
 *
 * @param attention         registry name of the attention mechanism (self- and cross-attention)
 * @param attentionOptions  its hyperparameters
 * @param positional        registry name of the positional encoding
 * @param positionalOptions its hyperparameters
 * @param block             the blocks' architecture
 * @param layers            number of blocks (of the decoder, and of the encoder of an encoder-decoder model)
 * @param tiedEmbeddings    logits from the embedding table (Press and Wolf, 2017)
 * @param attentionDropout  dropout on the attention weights in training
 * @param contextLength     tokens per training window; the context the model was trained to use
 */
public record DecoderSpec(String attention, Map<String, String> attentionOptions, String positional,
                          Map<String, String> positionalOptions, BlockConfig block, int layers,
                          boolean tiedEmbeddings, float attentionDropout, int contextLength) {

    private static final String PREFIX = "architecture.";

    public DecoderSpec {
        if (attention == null || positional == null || block == null) {
            throw new IllegalArgumentException("DecoderSpec: attention, positional and block must not be null");
        }
        attentionOptions = Map.copyOf(attentionOptions);
        positionalOptions = Map.copyOf(positionalOptions);
        if (layers <= 0 || contextLength <= 0) {
            throw new IllegalArgumentException("DecoderSpec: layers and contextLength must be positive, got " + layers
                    + " and " + contextLength);
        }
    }

    /** A new causal decoder with this architecture over {@code vocabularySize} tokens. */
    public TransformerDecoder decoder(int vocabularySize, boolean crossAttention, RandomGenerator rng) {
        DecoderConfig config = new DecoderConfig(block, layers, vocabularySize, tiedEmbeddings, crossAttention,
                attentionDropout);
        return new TransformerDecoder(config, this::newAttention, crossAttention ? this::newAttention : null,
                newPositional(), rng);
    }

    /** A new encoder with this architecture, mean-pooled (its pooled output is not used by a decoder). */
    public TransformerEncoder encoder(RandomGenerator rng) {
        EncoderConfig config = EncoderConfig.builder(block, layers).pooling(TransformerEncoder.Pooling.MEAN)
                .attentionDropout(attentionDropout).build();
        return new TransformerEncoder(config, this::newAttention, newPositional(), rng);
    }

    private AttentionMechanism newAttention() {
        return ComponentResolver.create(AttentionMechanism.class, attention, attentionOptions);
    }

    private PositionalEncoding newPositional() {
        return ComponentResolver.create(PositionalEncoding.class, positional, positionalOptions);
    }

    /** This spec as flat text entries under {@code architecture.}; the inverse of {@link #fromMetadata}. */
    public Map<String, String> toMetadata() {
        Map<String, String> out = new TreeMap<>();
        out.put(PREFIX + "attention", attention);
        attentionOptions.forEach((k, v) -> out.put(PREFIX + "attentionOptions." + k, v));
        out.put(PREFIX + "positional", positional);
        positionalOptions.forEach((k, v) -> out.put(PREFIX + "positionalOptions." + k, v));
        out.put(PREFIX + "modelDim", Integer.toString(block.modelDim()));
        out.put(PREFIX + "heads", Integer.toString(block.heads()));
        out.put(PREFIX + "hidden", Integer.toString(block.hidden()));
        out.put(PREFIX + "activation", block.activation().name());
        out.put(PREFIX + "placement", block.placement().name());
        out.put(PREFIX + "norm", block.norm().name());
        out.put(PREFIX + "bias", Boolean.toString(block.bias()));
        out.put(PREFIX + "residualDropout", Float.toString(block.residualDropout()));
        out.put(PREFIX + "feedForwardChunkSize", Integer.toString(block.feedForwardChunkSize()));
        out.put(PREFIX + "layers", Integer.toString(layers));
        out.put(PREFIX + "tiedEmbeddings", Boolean.toString(tiedEmbeddings));
        out.put(PREFIX + "attentionDropout", Float.toString(attentionDropout));
        out.put(PREFIX + "contextLength", Integer.toString(contextLength));
        return out;
    }

    /**
     * Reads a spec written by {@link #toMetadata()}.
     *
     * @throws IllegalArgumentException naming the missing or malformed entry
     */
    public static DecoderSpec fromMetadata(Map<String, String> metadata) {
        Map<String, String> attentionOptions = new LinkedHashMap<>();
        Map<String, String> positionalOptions = new LinkedHashMap<>();
        metadata.forEach((key, value) -> {
            if (key.startsWith(PREFIX + "attentionOptions.")) {
                attentionOptions.put(key.substring((PREFIX + "attentionOptions.").length()), value);
            } else if (key.startsWith(PREFIX + "positionalOptions.")) {
                positionalOptions.put(key.substring((PREFIX + "positionalOptions.").length()), value);
            }
        });
        try {
            BlockConfig block = BlockConfig.builder(integer(metadata, "modelDim"), integer(metadata, "heads"))
                    .hidden(integer(metadata, "hidden"))
                    .activation(FeedForward.Activation.valueOf(entry(metadata, "activation")))
                    .placement(NormPlacement.valueOf(entry(metadata, "placement")))
                    .norm(NormKind.valueOf(entry(metadata, "norm")))
                    .bias(Boolean.parseBoolean(entry(metadata, "bias")))
                    .residualDropout(Float.parseFloat(entry(metadata, "residualDropout")))
                    .feedForwardChunkSize(integer(metadata, "feedForwardChunkSize"))
                    .build();
            return new DecoderSpec(entry(metadata, "attention"), attentionOptions, entry(metadata, "positional"),
                    positionalOptions, block, integer(metadata, "layers"),
                    Boolean.parseBoolean(entry(metadata, "tiedEmbeddings")),
                    Float.parseFloat(entry(metadata, "attentionDropout")), integer(metadata, "contextLength"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the model's architecture metadata is invalid: " + e.getMessage(), e);
        }
    }

    private static String entry(Map<String, String> metadata, String key) {
        String value = metadata.get(PREFIX + key);
        if (value == null) {
            throw new IllegalArgumentException("no '" + PREFIX + key + "' entry");
        }
        return value;
    }

    private static int integer(Map<String, String> metadata, String key) {
        String value = entry(metadata, key);
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + PREFIX + key + "' = '" + value + "' is not an integer");
        }
    }
}
