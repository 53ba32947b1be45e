package org.xformers4j.models.lm;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.List;
import java.util.random.RandomGenerator;
import org.xformers4j.component.Hyperparameters;
import org.xformers4j.component.Range;
import org.xformers4j.models.nn.ImagePatchLayout;
import org.xformers4j.models.nn.TransformerDecoder;
import org.xformers4j.models.text.Tokenizer;
import org.xformers4j.nn.Linear;
import org.xformers4j.tensor.Tensor;

/**
 * Image sources: the patch embedding of the Vision Transformer (Dosovitskiy et al., 2021, "An Image
 * is Worth 16x16 Words: Transformers for Image Recognition at Scale", §3.1) in front of the encoder of
 * a {@link Seq2SeqModel}, which then captions images, as x-transformers' {@code ViTransformerWrapper}
 * encoder with a {@code TransformerWrapper} decoder that cross-attends to it. Each image of
 * {@code height × width × channels} values (row-major, channels last) is cut into
 * {@code patchSize × patchSize} patches ({@link ImagePatchLayout}), each multiplied by {@code pixelScale}
 * and projected to the model width by one learned linear layer (parameters {@code source.projection.*});
 * the encoder's positional encoding adds positions 0 … T−1, and the patches' grid goes to the attention
 * mechanisms that read one (swin's windows, relu-linear's convolutions). Every patch is read,
 * whatever the context length, which bounds the captions.
 *
 * <p>{@code pixelPrefix} and {@code captionColumn} say how a CSV file of images holds them: pixel i
 * in the column {@code pixelPrefix + i}, the caption in {@code captionColumn} (other columns are
 * ignored); they are saved with the model, so that {@code xformers4j seq2seq generate} reads its
 * input the way training read the pairs.
 */
public final class ImageSourceEncoder extends SourceEncoder {

    /** The kind of source saved with the model. */
    static final String KIND = "image";

    @Config(mandatory = true, description = "Image height in pixels.")
    @Range(min = 1, max = 1 << 13)
    private int height;

    @Config(mandatory = true, description = "Image width in pixels.")
    @Range(min = 1, max = 1 << 13)
    private int width;

    @Config(description = "Values per pixel, stored last (row-major, channels interleaved).")
    @Range(min = 1, max = 4)
    private int channels = 1;

    @Config(mandatory = true, description = "Side of the square patches, one token each; it divides height and "
            + "width.")
    @Range(min = 1, max = 1 << 13)
    private int patchSize;

    @Config(description = "Factor applied to every pixel value before the projection (e.g. 1/255 for 0-255 "
            + "pixels); finite and non-zero.")
    private float pixelScale = 1f;

    @Config(description = "CSV layout: pixel i is in the column pixelPrefix + i.")
    private String pixelPrefix = "p";

    @Config(description = "CSV layout: the column of the caption (the target).")
    private String captionColumn = "caption";

    /** For OLCUT. */
    private ImageSourceEncoder() {
    }

    /**
     * Images of {@code height × width × channels} values cut into {@code patchSize} patches.
     *
     * @throws IllegalArgumentException if a value is out of its range (see {@link #postConfig})
     */
    public ImageSourceEncoder(int height, int width, int channels, int patchSize, float pixelScale,
                              String pixelPrefix, String captionColumn) {
        this.height = height;
        this.width = width;
        this.channels = channels;
        this.patchSize = patchSize;
        this.pixelScale = pixelScale;
        this.pixelPrefix = pixelPrefix;
        this.captionColumn = captionColumn;
        try {
            postConfig();
        } catch (PropertyException e) {
            throw new IllegalArgumentException(e.getMsg(), e);
        }
    }

    /**
     * Checks every field against its range, and that patchSize divides height and width, the image has
     * at most {@link ImagePatchLayout#MAX_VALUES} values, pixelScale is finite and non-zero, and the
     * column names are not blank; names the field.
     */
    @Override
    public void postConfig() {
        Hyperparameters.validate(this);
        if (!Float.isFinite(pixelScale) || pixelScale == 0f) {
            throw new PropertyException("", "pixelScale", "ImageSourceEncoder.pixelScale = " + pixelScale
                    + " must be finite and non-zero");
        }
        if (height % patchSize != 0 || width % patchSize != 0) {
            throw new PropertyException("", "patchSize", "ImageSourceEncoder.patchSize = " + patchSize
                    + " must divide height = " + height + " and width = " + width);
        }
        if ((long) height * width * channels > ImagePatchLayout.MAX_VALUES) {
            throw new PropertyException("", "height", "ImageSourceEncoder: height " + height + " × width " + width
                    + " × channels " + channels + " is more than the " + ImagePatchLayout.MAX_VALUES
                    + " values an image may have");
        }
        if (pixelPrefix.isBlank() || captionColumn.isBlank()) {
            throw new PropertyException("", pixelPrefix.isBlank() ? "pixelPrefix" : "captionColumn",
                    "ImageSourceEncoder: pixelPrefix and captionColumn must name columns, got '" + pixelPrefix
                            + "' and '" + captionColumn + "'");
        }
    }

    @Override
    public String kind() {
        return KIND;
    }

    /** Where the pixels of an image go. */
    public ImagePatchLayout layout() {
        return new ImagePatchLayout(height, width, channels, patchSize);
    }

    /** Pixel i of an image is in the CSV column {@code pixelPrefix + i}. */
    public String pixelPrefix() {
        return pixelPrefix;
    }

    /** The CSV column of the caption. */
    public String captionColumn() {
        return captionColumn;
    }

    @Override
    Embedding embedding(TransformerDecoder decoder, Tokenizer tokenizer, int contextLength, RandomGenerator rng) {
        return new PatchEmbedding(layout(), pixelScale, decoder.config().block().modelDim(), rng);
    }

    @Override
    public String toString() {
        return "ImageSourceEncoder(height=" + height + ",width=" + width + ",channels=" + channels + ",patchSize="
                + patchSize + ",pixelScale=" + pixelScale + ",pixelPrefix='" + pixelPrefix + "',captionColumn='"
                + captionColumn + "')";
    }

    /** The fitted patch embedding: images [B, H·W·C] → patches [B, T, P] → tokens [B, T, D]. */
    static final class PatchEmbedding extends Embedding {
        private final ImagePatchLayout layout;
        private final float pixelScale;
        private final Linear projection;

        PatchEmbedding(ImagePatchLayout layout, float pixelScale, int modelDim, RandomGenerator rng) {
            this.layout = layout;
            this.pixelScale = pixelScale;
            this.projection = registerModule("projection", new Linear(layout.patchDim(), modelDim, true, rng));
        }

        @Override
        Input embed(List<? extends Source> sources) {
            int values = layout.values();
            int perImage = layout.patches() * layout.patchDim();
            float[] x = new float[sources.size() * perImage];
            for (int b = 0; b < sources.size(); b++) {
                Source.Pixels pixels = pixels(sources.get(b));
                for (int i = 0; i < values; i++) {
                    x[b * perImage + layout.slot(i)] = pixels.value(i) * pixelScale;
                }
            }
            Tensor patches = Tensor.of(projection.weight().backend(), x, sources.size(), layout.patches(),
                    layout.patchDim());
            return new Input(projection.forward(patches), null, layout.grid(0));
        }

        private Source.Pixels pixels(Source source) {
            if (!(source instanceof Source.Pixels pixels)) {
                throw new IllegalArgumentException("this sequence-to-sequence model captions images of "
                        + layout.height() + " × " + layout.width() + " × " + layout.channels() + " values, got a text "
                        + "source; give it images (xformers4j seq2seq generate --input CSV)");
            }
            if (pixels.length() != layout.values()) {
                throw new IllegalArgumentException("this sequence-to-sequence model captions images of "
                        + layout.height() + " × " + layout.width() + " × " + layout.channels() + " = "
                        + layout.values() + " values, got an image of " + pixels.length());
            }
            return pixels;
        }

        @Override
        int tokens(Source source) {
            pixels(source);
            return layout.patches();
        }

        @Override
        int maxTokens() {
            return layout.patches();
        }
    }
}
