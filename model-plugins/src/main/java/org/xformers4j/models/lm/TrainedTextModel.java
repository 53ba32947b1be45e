package org.xformers4j.models.lm;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Supplier;
import org.xformers4j.io.Checkpoint;
import org.xformers4j.models.text.Tokenizer;
import org.xformers4j.tensor.AllocationBudget;
import org.xformers4j.nn.Module;

/**
 * What the text models ({@link LanguageModel}, {@link Seq2SeqModel}) share: the architecture they
 * were built from, the tokenizer, the training provenance, and their model directory (see
 * {@link ModelFiles}), written by {@link #save} and read back by {@link #fromCheckpoint}. A model does not
 * change once made: a trainer trains the network of an untrained model and then returns
 * {@link #withProvenance} of it, which shares that network.
 *
 * @param <M> the model class itself
 */
abstract class TrainedTextModel<M extends TrainedTextModel<M>> implements TextGenerator {

    private final String kind;
    private final DecoderSpec spec;
    private final Tokenizer tokenizer;
    private final Map<String, String> provenance;

    /**
     * @param kind       the model kind written into its directory
     * @param spec       the architecture of its network
     * @param tokenizer  the tokenizer whose ids the network reads
     * @param provenance how the network was trained, empty if it was not
     */
    TrainedTextModel(String kind, DecoderSpec spec, Tokenizer tokenizer, Map<String, String> provenance) {
        this.kind = kind;
        this.spec = spec;
        this.tokenizer = tokenizer;
        this.provenance = Map.copyOf(provenance);
    }

    /** The network as one module: every trained parameter, under the names the model directory stores them by. */
    public abstract Module network();

    /** This model, sharing its network, with {@code entries} as its provenance. */
    abstract M withProvenance(Map<String, String> entries);

    @Override
    public Map<String, String> provenance() {
        return provenance;
    }

    /**
     * Saves this model into {@code directory} ({@value ModelFiles#WEIGHTS_FILE}, and the tokenizer's
     * files for a byte-pair tokenizer), replacing each file atomically.
     */
    @Override
    public void save(Path directory) {
        ModelFiles.save(directory, kind, tokenizer, network(), spec.toMetadata(), provenance);
    }

    /**
     * Where a kind of model keeps what {@link ModelFiles#requireFits} checks before building one.
     *
     * @param embedding   the name of the token embedding table among the network's parameters
     * @param blockStacks how many stacks of {@link DecoderSpec#layers()} blocks the network has
     */
    record Layout(String embedding, int blockStacks) {
    }

    /**
     * The model of {@code kind} whose weights file, {@code weights}, was read from {@code directory}:
     * once the saved architecture has been checked to fit the weights ({@link ModelFiles#requireFits}),
     * {@code build} makes an untrained model from it and the tokenizer, within an
     * {@link AllocationBudget} of the weights the file holds (so component options in the metadata,
     * such as a position table's length, cannot make it allocate more), and the weights and
     * provenance are then loaded.
     *
     * @throws IllegalArgumentException if the directory holds another kind of model, or one that does not match
     *                                  its architecture
     */
    static <M extends TrainedTextModel<M>> M fromCheckpoint(Path directory, Checkpoint weights, String kind,
                                                            Layout layout, BiFunction<DecoderSpec, Tokenizer, M> build) {
        ModelFiles.requireKind(directory, weights, kind);
        DecoderSpec spec = naming(directory, () -> DecoderSpec.fromMetadata(weights.metadata()));
        Tokenizer tokenizer = ModelFiles.tokenizer(directory, weights);
        ModelFiles.requireFits(directory, weights, spec, tokenizer.vocabularySize(), layout.embedding(),
                layout.blockStacks());
        M model;
        try (AllocationBudget budget = AllocationBudget.forStoredWeights(ModelFiles.storedElements(weights),
                "the architecture in " + ModelFiles.WEIGHTS_FILE)) {
            model = naming(directory, () -> build.apply(spec, tokenizer));
        }
        ModelFiles.restore(directory, weights, model.network());
        return model.withProvenance(ModelFiles.provenance(weights));
    }

    /**
     * {@code step}'s result; a bad value it finds in the saved metadata (an architecture entry, a
     * component's name or options) is reported as an {@link IllegalArgumentException} naming the model.
     */
    private static <T> T naming(Path directory, Supplier<T> step) {
        try {
            return step.get();
        } catch (IllegalArgumentException | PropertyException e) {
            throw new IllegalArgumentException("model " + directory + ": " + e.getMessage(), e);
        }
    }

    @Override
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** The architecture. */
    public DecoderSpec spec() {
        return spec;
    }
}
