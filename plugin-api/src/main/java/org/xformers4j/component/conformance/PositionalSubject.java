package org.xformers4j.component.conformance;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.ComponentKind;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.positional.PositionalCapabilities;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.tensor.Tensor;

/**
 * The positional component under test, with the attention mechanisms it is checked together with:
 * its provider, name and capabilities, and fresh instances configured with their defaults and
 * initialised the same way every time for a model of width {@link PositionalCheck#MODEL_DIM} with
 * {@link PositionalCheck#HEADS} heads.
 */
final class PositionalSubject {

    /** Seed of the generator each instance is initialised with (its parameters). */
    private static final long INITIALIZATION_SEED = 20240612L;

    private final ComponentProvider<?> provider;
    private final PositionalCapabilities capabilities;
    private final List<ComponentProvider<?>> mechanisms;

    /**
     * @throws IllegalArgumentException if {@code provider} is not a positional component or one of
     *                                  {@code mechanisms} not an attention component
     */
    PositionalSubject(ComponentProvider<?> provider, List<? extends ComponentProvider<?>> mechanisms) {
        ComponentDescriptor descriptor = provider.descriptor();
        if (descriptor.kind() != ComponentKind.POSITIONAL) {
            throw new IllegalArgumentException("the positional conformance suite checks positional components; '"
                    + descriptor.name() + "' is a component of kind " + descriptor.kind().label());
        }
        for (ComponentProvider<?> m : mechanisms) {
            if (m.descriptor().kind() != ComponentKind.ATTENTION) {
                throw new IllegalArgumentException("the positional conformance suite pairs '" + descriptor.name()
                        + "' with attention mechanisms; '" + m.descriptor().name() + "' is a component of kind "
                        + m.descriptor().kind().label());
            }
        }
        this.provider = provider;
        this.capabilities = descriptor.capabilities(PositionalCapabilities.class);
        this.mechanisms = List.copyOf(mechanisms);
    }

    String name() {
        return provider.descriptor().name();
    }

    PositionalCapabilities capabilities() {
        return capabilities;
    }

    /** The attention mechanisms to pair the encoding with. */
    List<ComponentProvider<?>> mechanisms() {
        return mechanisms;
    }

    /** Whether the encoding declares at least one hook. */
    boolean hasHooks() {
        return capabilities.addsToEmbeddings() || capabilities.rotatesQueryKey() || capabilities.attentionBias();
    }

    /** The hooks the encoding declares, e.g. {@code hook 2 (rotateQueryKey)}, or {@code no hook}. */
    String hooks() {
        List<String> hooks = new ArrayList<>();
        if (capabilities.addsToEmbeddings()) {
            hooks.add("hook 1 (addToEmbeddings)");
        }
        if (capabilities.rotatesQueryKey()) {
            hooks.add("hook 2 (rotateQueryKey)");
        }
        if (capabilities.attentionBias()) {
            hooks.add("hook 3 (attentionBias)");
        }
        return hooks.isEmpty() ? "no hook" : String.join(", ", hooks);
    }

    /**
     * Whether a mechanism accepts every hook the encoding uses inside a multi-head layer: an
     * attention bias needs {@link AttentionCapabilities#additiveBias()}; rotations and embeddings
     * go with any mechanism.
     */
    boolean pairsWith(AttentionCapabilities mechanism) {
        return !capabilities.attentionBias() || mechanism.additiveBias();
    }

    /** The encoding with its default hyperparameters, initialised for the suite's model. */
    PositionalEncoding create() {
        PositionalEncoding encoding = (PositionalEncoding) provider.create(Map.of());
        encoding.initialize(PositionalCheck.MODEL_DIM, PositionalCheck.HEADS, new SplittableRandom(INITIALIZATION_SEED));
        return encoding;
    }

    /** {@code tokens} [batch, length, modelDim] at positions from {@code offset} through hook 1 when declared. */
    Tensor embed(PositionalEncoding encoding, Tensor tokens, int offset) {
        return capabilities.addsToEmbeddings() ? encoding.addToEmbeddings(tokens, offset) : tokens;
    }

    /**
     * Hook 3 for queries at positions {@code queryOffset} … over keys 0 … {@code keyLength - 1},
     * expanded to [heads, queryLength, keyLength] (row-major).
     *
     * @throws IllegalStateException if the encoding returns null or a bias that does not broadcast
     *                               to [batch, heads, queryLength, keyLength] for every batch size
     */
    float[] bias(PositionalEncoding encoding, int queryLength, int keyLength, int queryOffset) {
        Tensor bias = encoding.attentionBias(PositionalCheck.HEADS, queryLength, keyLength, queryOffset);
        String call = "attentionBias(" + PositionalCheck.HEADS + ", " + queryLength + ", " + keyLength + ", "
                + queryOffset + ")";
        if (bias == null) {
            throw new IllegalStateException(call + " returned null although the encoding declares attentionBias");
        }
        try {
            return bias.expand(1, PositionalCheck.HEADS, queryLength, keyLength).toFloatArray();
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(call + " returned shape " + Arrays.toString(bias.shape())
                    + ", which does not broadcast to [batch, heads, queryLength, keyLength]", e);
        }
    }

    /**
     * Of each head's [height, width] matrix in {@code dense} [heads, height, width] (as
     * {@link #bias} returns it), the {@code rows} rows from {@code rowStart} and the
     * {@code columns} columns from {@code columnStart}: [heads, rows, columns].
     */
    static float[] window(float[] dense, int height, int width, int rowStart, int rows, int columnStart,
                          int columns) {
        float[] out = new float[PositionalCheck.HEADS * rows * columns];
        for (int h = 0; h < PositionalCheck.HEADS; h++) {
            for (int i = 0; i < rows; i++) {
                System.arraycopy(dense, (h * height + rowStart + i) * width + columnStart, out,
                        (h * rows + i) * columns, columns);
            }
        }
        return out;
    }

    static String name(ComponentProvider<?> provider) {
        return provider.descriptor().name();
    }

    static AttentionCapabilities capabilitiesOf(ComponentProvider<?> mechanism) {
        return mechanism.descriptor().capabilities(AttentionCapabilities.class);
    }
}
