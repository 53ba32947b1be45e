package org.xformers4j.models.lm;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.xformers4j.io.Checkpoint;
import org.xformers4j.models.nn.Architecture;
import org.xformers4j.models.text.Tokenizer;
import org.xformers4j.nn.Module;
import org.xformers4j.tensor.AllocationBudget;

/**
 * What the text models ({@link LanguageModel}, {@link Seq2SeqModel}) share: the architecture they
 * were built from, the context length they were trained on, the tokenizer, the training provenance,
 * and their model directory (see
 * {@link ModelFiles}), written by {@link #save} and read back by {@link #fromCheckpoint}. A model does not
 * change once made: a trainer trains the network of an untrained model and then returns
 * {@link #withProvenance} of it, which shares that network.
 *
 * @param <M> the model class itself
 */
abstract class TrainedTextModel<M extends TrainedTextModel<M>> implements TextGenerator {

    private final String kind;
    private final Architecture architecture;
    private final int contextLength;
    private final Tokenizer tokenizer;
    private final Map<String, String> provenance;

    /**
     * @param kind          the model kind written into its directory
     * @param architecture  the architecture of its network
     * @param contextLength the tokens per window it was trained on: the most it is shown when generating
     * @param tokenizer     the tokenizer whose ids the network reads
     * @param provenance    how the network was trained, empty if it was not
     * @throws IllegalArgumentException if the architecture or the tokenizer is null or contextLength is not positive
     */
    TrainedTextModel(String kind, Architecture architecture, int contextLength, Tokenizer tokenizer,
                     Map<String, String> provenance) {
        if (architecture == null || tokenizer == null || contextLength <= 0) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": architecture and tokenizer must not be "
                    + "null and contextLength must be positive, got " + architecture + ", " + tokenizer + ", "
                    + contextLength);
        }
        this.kind = kind;
        this.architecture = architecture;
        this.contextLength = contextLength;
        this.tokenizer = tokenizer;
        this.provenance = Map.copyOf(provenance);
    }

    /** The network as one module: every trained parameter, under the names the model directory stores them by. */
    public abstract Module network();

    /** What the model saves besides its architecture, context length, tokenizer and provenance; none by default. */
    Map<String, String> metadata() {
        return Map.of();
    }

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
        Map<String, String> metadata = new TreeMap<>(architecture.toMetadata());
        metadata.putAll(metadata());
        metadata.put(ModelFiles.CONTEXT_LENGTH, Integer.toString(contextLength));
        ModelFiles.save(directory, kind, tokenizer, network(), metadata, provenance);
    }

    /** Makes a model, untrained, of an architecture, a context length and a tokenizer read from a model directory. */
    @FunctionalInterface
    interface Build<M> {
        M apply(Architecture architecture, int contextLength, Tokenizer tokenizer);
    }

    /**
     * Where a kind of model keeps what {@link ModelFiles#requireFits} checks before building one.
     *
     * @param embedding   the name of the token embedding table among the network's parameters
     * @param blockStacks how many stacks of {@link Architecture#layers()} blocks the network has
     */
    record Layout(String embedding, int blockStacks) {
    }

    /**
     * The model of {@code kind} whose weights file, {@code weights}, was read from {@code directory}:
     * once the saved architecture (read by {@link Architecture#fromMetadata}, which refuses a missing,
     * unknown or malformed entry by name) has been checked to fit the weights ({@link ModelFiles#requireFits}),
     * {@code build} makes an untrained model from it, the context length and the tokenizer, within an
     * {@link AllocationBudget} of the weights the file holds (so component options in the metadata,
     * such as a position table's length, cannot make it allocate more), and the weights and
     * provenance are then loaded.
     *
     * @throws IllegalArgumentException if the directory holds another kind of model, or one that does not match
     *                                  its architecture
     */
    static <M extends TrainedTextModel<M>> M fromCheckpoint(Path directory, Checkpoint weights, String kind,
                                                            Layout layout, Build<M> build) {
        ModelFiles.requireKind(directory, weights, kind);
        Architecture architecture;
        try {
            architecture = Architecture.fromMetadata(weights.metadata());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("model " + directory.resolve(ModelFiles.WEIGHTS_FILE) + ": "
                    + e.getMessage(), e);
        }
        int contextLength = ModelFiles.contextLength(directory, weights);
        Tokenizer tokenizer = ModelFiles.tokenizer(directory, weights);
        ModelFiles.requireFits(directory, weights, architecture, tokenizer.vocabularySize(), layout.embedding(),
                layout.blockStacks());
        M model;
        try (AllocationBudget budget = AllocationBudget.forStoredWeights(ModelFiles.storedElements(weights),
                "the architecture in " + ModelFiles.WEIGHTS_FILE)) {
            model = naming(directory, () -> build.apply(architecture, contextLength, tokenizer));
        }
        ModelFiles.restore(directory, weights, model.network());
        return model.withProvenance(ModelFiles.provenance(weights));
    }

    /**
     * {@code step}'s result; a bad value it finds in the saved metadata (a component's name or
     * options) is reported as an {@link IllegalArgumentException} naming the model.
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

    /** The architecture of the network. */
    public Architecture architecture() {
        return architecture;
    }

    /** The tokens per window the model was trained on, the most it is shown at once when generating. */
    @Override
    public int contextLength() {
        return contextLength;
    }
}
