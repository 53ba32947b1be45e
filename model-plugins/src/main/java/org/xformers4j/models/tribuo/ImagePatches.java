package org.xformers4j.models.tribuo;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import com.oracle.labs.mlrg.olcut.provenance.ConfiguredObjectProvenance;
import com.oracle.labs.mlrg.olcut.provenance.impl.ConfiguredObjectProvenanceImpl;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;
import org.tribuo.Example;
import org.tribuo.Feature;
import org.tribuo.ImmutableFeatureMap;
import org.xformers4j.component.attention.AttentionContext.Grid;
import org.xformers4j.models.nn.ImagePatchLayout;
import org.xformers4j.nn.Linear;
import org.xformers4j.tensor.Tensor;

/**
 * Image patches as tokens, the patch embedding of the Vision Transformer (Dosovitskiy et al.,
 * 2021, "An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale").
 *
 * <p>Each example holds {@code height · width · channels} dense pixel features, row-major with the
 * channels last: pixel (r, c), channel k is position {@code (r · width + c) · channels + k}. The
 * image is cut into non-overlapping {@code patchSize × patchSize} patches, taken row-major; each is
 * flattened (rows, then columns, then channels: {@link ImagePatchLayout}), multiplied by
 * {@code pixelScale} and projected to D by one learned {@link Linear} layer. T = (height / patchSize) · (width / patchSize). The
 * tokens are the cells of a (height / patchSize) × (width / patchSize) {@link Grid}, which the
 * model passes to the attention mechanisms that read it (the 2-D convolutions of
 * {@code relu-linear}).
 *
 * <p>Which feature is which position: with {@code featurePrefix} set, position i is the feature
 * named {@code featurePrefix + i} (so {@code p0 … p63} for the digits CSV with prefix {@code p});
 * left empty, position i is the feature with id i in the feature map. Tribuo assigns ids in the
 * lexicographic order of the names, which is the pixel order only when the indices are
 * zero-padded. A pixel an example does not hold (a sparse zero) is 0.
 */
public final class ImagePatches implements InputEncoder {

    @Config(mandatory = true, description = "Image height in pixels.")
    private int height;

    @Config(mandatory = true, description = "Image width in pixels.")
    private int width;

    @Config(description = "Channels per pixel, stored last (row-major, channels interleaved).")
    private int channels = 1;

    @Config(mandatory = true, description = "Side of the square patches; must divide height and width.")
    private int patchSize;

    @Config(description = "Factor applied to every pixel value before the projection (e.g. 1/16 for 0-16 pixels).")
    private float pixelScale = 1f;

    @Config(description = "Feature name prefix: position i is the feature named prefix+i; empty for feature-id order.")
    private String featurePrefix = "";

    /** For OLCUT. */
    private ImagePatches() {
    }

    /**
     * Patches of a {@code height × width × channels} image.
     *
     * @param featurePrefix position i is feature {@code featurePrefix + i}; empty for feature-id order
     */
    public ImagePatches(int height, int width, int channels, int patchSize, float pixelScale, String featurePrefix) {
        this.height = height;
        this.width = width;
        this.channels = channels;
        this.patchSize = patchSize;
        this.pixelScale = pixelScale;
        this.featurePrefix = featurePrefix;
        postConfig();
    }

    @Override
    public void postConfig() {
        positive("height", height);
        positive("width", width);
        positive("channels", channels);
        positive("patchSize", patchSize);
        if (height % patchSize != 0 || width % patchSize != 0) {
            throw new PropertyException("", "patchSize", "ImagePatches.patchSize = " + patchSize
                    + " must divide height = " + height + " and width = " + width);
        }
        if (!Float.isFinite(pixelScale) || pixelScale == 0f) {
            throw new PropertyException("", "pixelScale", "ImagePatches.pixelScale = " + pixelScale
                    + " must be finite and non-zero");
        }
        if (featurePrefix == null) {
            featurePrefix = "";
        }
    }

    private static void positive(String field, int value) {
        if (value <= 0) {
            throw new PropertyException("", field, "ImagePatches." + field + " = " + value + " must be positive");
        }
    }

    @Override
    public EncoderModule fit(ImmutableFeatureMap featureMap, List<? extends Example<?>> examples, int modelDim,
                             RandomGenerator rng) {
        int pixels = height * width * channels;
        if (featureMap.size() != pixels) {
            throw new IllegalArgumentException("ImagePatches: the feature map has " + featureMap.size()
                    + " features but height " + height + " × width " + width + " × channels " + channels
                    + " = " + pixels + " pixels are configured");
        }
        // positionOfId[id] = the pixel position of the feature with that id.
        int[] positionOfId = new int[pixels];
        for (int i = 0; i < pixels; i++) {
            if (featurePrefix.isEmpty()) {
                positionOfId[i] = i;
            } else {
                int id = featureMap.getID(featurePrefix + i);
                if (id < 0) {
                    throw new IllegalArgumentException("ImagePatches: pixel " + i + " should be feature '"
                            + featurePrefix + i + "' (featurePrefix '" + featurePrefix + "') but the feature map has no such feature");
                }
                positionOfId[id] = i;
            }
        }
        return new Module(featureMap, positionOfId, modelDim, rng);
    }

    /** Nothing is read (the state must be empty): the patch layout follows from the configuration and the feature map. */
    @Override
    public EncoderModule restore(ImmutableFeatureMap featureMap, int modelDim, Map<String, String> state,
                                 RandomGenerator rng) {
        if (!state.isEmpty()) {
            throw new IllegalArgumentException("ImagePatches: the saved state must be empty, got entries "
                    + new java.util.TreeSet<>(state.keySet()));
        }
        return fit(featureMap, List.of(), modelDim, rng);
    }

    @Override
    public ConfiguredObjectProvenance getProvenance() {
        return new ConfiguredObjectProvenanceImpl(this, "InputEncoder");
    }

    @Override
    public String toString() {
        return "ImagePatches(height=" + height + ",width=" + width + ",channels=" + channels + ",patchSize="
                + patchSize + ",pixelScale=" + pixelScale + ",featurePrefix='" + featurePrefix + "')";
    }

    /** The fitted patch embedding. */
    final class Module extends EncoderModule {

        private final ImmutableFeatureMap featureMap;
        private final ImagePatchLayout layout;
        /** slotOfId[id] = where the feature with that id lands in the [T, patchSize² · channels] patch matrix. */
        private final int[] slotOfId;
        private final int modelDim;
        private final int numPatches;
        private final int patchDim;
        private final Linear projection;

        Module(ImmutableFeatureMap featureMap, int[] positionOfId, int modelDim, RandomGenerator rng) {
            this.featureMap = featureMap;
            this.modelDim = modelDim;
            this.layout = new ImagePatchLayout(height, width, channels, patchSize);
            this.numPatches = layout.patches();
            this.patchDim = layout.patchDim();
            this.slotOfId = new int[positionOfId.length];
            for (int id = 0; id < positionOfId.length; id++) {
                slotOfId[id] = layout.slot(positionOfId[id]);
            }
            this.projection = registerModule("projection", new Linear(patchDim, modelDim, true, rng));
        }

        /** The scaled pixels of {@code batch} arranged as patches, [B, T, patchSize² · channels]. */
        Tensor patches(List<? extends Example<?>> batch) {
            int perExample = numPatches * patchDim;
            float[] x = new float[batch.size() * perExample];
            for (int b = 0; b < batch.size(); b++) {
                for (Feature f : batch.get(b)) {
                    int id = featureMap.getID(f.getName());
                    if (id >= 0) {
                        x[b * perExample + slotOfId[id]] = (float) f.getValue() * pixelScale;
                    }
                }
            }
            return Tensor.of(projection.weight().backend(), x, batch.size(), numPatches, patchDim);
        }

        @Override
        public Tokens forward(List<? extends Example<?>> batch) {
            return new Tokens(projection.forward(patches(batch)), null); // [B, T, P²C] -> [B, T, D]
        }

        /** Patch t is made of the pixels that land in it, in feature-id order; the same for every example. */
        @Override
        public List<List<String>> tokenFeatures(Example<?> example) {
            List<List<String>> out = new ArrayList<>(numPatches);
            for (int t = 0; t < numPatches; t++) {
                out.add(new ArrayList<>(patchDim));
            }
            for (int id = 0; id < slotOfId.length; id++) {
                out.get(slotOfId[id] / patchDim).add(featureMap.get(id).getName());
            }
            return out;
        }

        /** Nothing: the layout is rebuilt from the configuration and the feature map. */
        @Override
        public Map<String, String> state() {
            return Map.of();
        }

        @Override
        public int maxTokens() {
            return numPatches;
        }

        /** The patches' grid: height / patchSize rows of width / patchSize patches, from token 0. */
        @Override
        public Grid grid() {
            return layout.grid(0);
        }

        @Override
        public int modelDim() {
            return modelDim;
        }
    }
}
