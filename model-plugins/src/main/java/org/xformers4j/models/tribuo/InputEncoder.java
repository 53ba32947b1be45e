package org.xformers4j.models.tribuo;

import com.oracle.labs.mlrg.olcut.config.Configurable;
import com.oracle.labs.mlrg.olcut.provenance.ConfiguredObjectProvenance;
import com.oracle.labs.mlrg.olcut.provenance.Provenancable;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;
import org.tribuo.Example;
import org.tribuo.ImmutableFeatureMap;

/**
 * Turns Tribuo examples into the token embeddings a transformer reads, the input half of a
 * transformer trainer (the output half is {@link OutputHead}).
 *
 * <p>An encoder is configuration only ({@code @Config} fields, so it can be named in OLCUT XML);
 * {@link #fit} looks at the training data once and returns the {@link EncoderModule} that holds the
 * learned parameters and the statistics it computed.
 */
public interface InputEncoder extends Configurable, Provenancable<ConfiguredObjectProvenance> {

    /**
     * Fits this encoder to the training data.
     *
     * @param featureMap the training dataset's feature map (feature names and ids)
     * @param examples   the training examples, for encoders that need statistics
     * @param modelDim   the size D of each token embedding
     * @param rng        seeded generator for the initial parameters
     * @return the module that encodes batches of examples to [B, T, D]
     */
    EncoderModule fit(ImmutableFeatureMap featureMap, List<? extends Example<?>> examples, int modelDim,
                      RandomGenerator rng);

    /**
     * Rebuilds the module {@link #fit} made, from the entries {@link EncoderModule#state} gave (read
     * from a file: untrusted); its parameters are freshly initialised from {@code rng}, for the
     * caller to load.
     *
     * @throws IllegalArgumentException naming the entry that is missing, unknown, malformed or does not match
     *                                  {@code featureMap}
     */
    EncoderModule restore(ImmutableFeatureMap featureMap, int modelDim, Map<String, String> state,
                          RandomGenerator rng);
}
