package org.xformers4j.models.lm;

import com.oracle.labs.mlrg.olcut.config.Configurable;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.random.RandomGenerator;
import org.xformers4j.component.Hyperparameters;
import org.xformers4j.component.attention.AttentionContext.Grid;
import org.xformers4j.models.nn.TransformerDecoder;
import org.xformers4j.models.text.Tokenizer;
import org.xformers4j.nn.Module;
import org.xformers4j.tensor.Tensor;

/**
 * The source side of a {@link Seq2SeqModel}: what its encoder reads and how each source becomes the
 * encoder's token embeddings. {@link TextSourceEncoder} (the default) reads text through the model's
 * tokenizer and shared embedding table; {@link ImageSourceEncoder} reads images as the patches of a
 * Vision Transformer, as x-transformers' image-to-caption model (a ViT encoder and a text decoder with
 * cross-attention). Configured as the {@code source} component of a {@link Seq2SeqTrainer} and saved
 * with the model ({@link #toMetadata}, {@link #fromMetadata}); the decoder, the training loop and
 * decoding are the same whatever the source.
 */
public abstract sealed class SourceEncoder implements Configurable permits TextSourceEncoder, ImageSourceEncoder {

    /** The metadata entry of the source kind ({@link #kind()}); a model saved without one reads text. */
    static final String KIND = "source";

    /** The prefix of the metadata entries of the source encoder's settings. */
    static final String PREFIX = "source.";

    /** The kind of source, saved with the model: {@code text} or {@code image}. */
    public abstract String kind();

    /** This encoder's settings as model metadata: {@value #KIND} = {@link #kind()} and its fields under {@value #PREFIX}. */
    Map<String, String> toMetadata() {
        Map<String, String> out = new TreeMap<>(Hyperparameters.toText(this, PREFIX));
        out.put(KIND, kind());
        return out;
    }

    /**
     * The source encoder the entries of a saved model's metadata describe (untrusted): text when it
     * has no {@value #KIND} entry (models saved before images could be read), otherwise the kind it
     * names with its settings, validated as when it was configured.
     *
     * @throws IllegalArgumentException naming the unknown kind, or the missing, unknown or bad entry
     */
    static SourceEncoder fromMetadata(Map<String, String> metadata) {
        String kind = metadata.getOrDefault(KIND, TextSourceEncoder.KIND);
        return switch (kind) {
            case TextSourceEncoder.KIND -> Hyperparameters.fromText(TextSourceEncoder.class, metadata, PREFIX);
            case ImageSourceEncoder.KIND -> Hyperparameters.fromText(ImageSourceEncoder.class, metadata, PREFIX);
            default -> throw new IllegalArgumentException("'" + KIND + "' = '" + kind + "' is not a kind of source; "
                    + "expected " + TextSourceEncoder.KIND + " or " + ImageSourceEncoder.KIND);
        };
    }

    /**
     * The module that embeds this kind of source for a model whose decoder is {@code decoder} (its
     * width, and for text its token embedding table, which the source shares), with {@code tokenizer}
     * and trained on {@code contextLength} tokens per sequence; new parameters drawn from {@code rng}.
     */
    abstract Embedding embedding(TransformerDecoder decoder, Tokenizer tokenizer, int contextLength,
                                 RandomGenerator rng);

    /** A fitted source encoder: turns a batch of sources into the encoder's input. */
    abstract static class Embedding extends Module {

        /**
         * The encoder's input for a batch of sources.
         *
         * @param embeddings     [B, S, D]
         * @param keyPaddingMask [B, S], non-zero at padding, or null when nothing is padded
         * @param grid           the tokens' 2-D layout when they are the cells of an image, else null
         */
        record Input(Tensor embeddings, Tensor keyPaddingMask, Grid grid) {
        }

        /**
         * The encoder's input for {@code sources}, each cut to the {@link #maxTokens()} tokens the encoder reads.
         *
         * @throws IllegalArgumentException if a source is not of the kind this model reads, or not of its size
         */
        abstract Input embed(List<? extends Source> sources);

        /** How many tokens {@code source} is before any cut (more than {@link #maxTokens()}: it is cut). */
        abstract int tokens(Source source);

        /** The most tokens of a source the encoder reads. */
        abstract int maxTokens();
    }
}
