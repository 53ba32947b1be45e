package org.xformers4j.models.lm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.xformers4j.io.AtomicFiles;
import org.xformers4j.io.Checkpoint;
import org.xformers4j.models.nn.Architecture;
import org.xformers4j.models.text.BytePairTokenizer;
import org.xformers4j.models.text.ByteTokenizer;
import org.xformers4j.models.text.Tokenizer;
import org.xformers4j.nn.Module;
import org.xformers4j.nn.ParameterState;

/**
 * The directory a trained text model is saved in, laid out as a Hugging Face model directory:
 * {@value #WEIGHTS_FILE}, a {@link Checkpoint} holding the weights with text metadata (the model
 * format {@value #FORMAT_VERSION} and kind, the architecture as {@link Architecture#toMetadata()}
 * writes it, the context length, the tokenizer's kind and the training provenance), and for a
 * byte-pair tokenizer its {@code vocab.json} and {@code merges.txt}. A file of another model
 * format (those of earlier versions have no {@value #FORMAT} entry) is refused naming its format. Nothing is deserialised as Java objects; a file that is corrupt, truncated or
 * of another kind of model is refused with a message naming it.
 *
 * <p>Consistency of the directory as a whole. Each file is replaced atomically ({@link
 * org.xformers4j.io.AtomicFiles}), the tokenizer files first and {@value #WEIGHTS_FILE} last, and
 * {@value #WEIGHTS_FILE} records the SHA-256 of each tokenizer file. A save interrupted between
 * the files leaves new tokenizer files beside the previous weights, whose recorded checksums then
 * differ: loading refuses such a directory naming the file, instead of generating with a tokenizer
 * the weights were not trained with, and saving again repairs it. (A staging directory renamed
 * over the old one would need the old directory deleted first, a window in which no model exists.)
 */
final class ModelFiles {

    /** The weights file in a model directory. */
    static final String WEIGHTS_FILE = "model.x4j";

    private static final String KIND = "model.kind";

    /**
     * The metadata entry of the model format: {@value #FORMAT_VERSION} since the architecture has been written
     * by {@link Architecture#toMetadata()} (format 1, with no entry, wrote it by hand).
     */
    static final String FORMAT = "model.format";

    /** The model format this version writes and reads. */
    static final String FORMAT_VERSION = "2";

    /** The metadata entry of the tokens per window a text model was trained on. */
    static final String CONTEXT_LENGTH = "model.contextLength";
    private static final String TOKENIZER = "tokenizer";
    private static final String SPECIAL = "tokenizer.special.";
    private static final String PROVENANCE = "provenance.";
    private static final String CHECKSUM = "tokenizer.sha256.";

    private ModelFiles() {
    }

    /** What a model directory holds besides the weights. */
    record Contents(String kind, Tokenizer tokenizer, Map<String, String> metadata) {
    }

    /**
     * Writes {@code network}'s weights, {@code metadata} (the architecture) and {@code provenance}
     * (how it was trained) as a model of {@code kind} with {@code tokenizer} into {@code directory},
     * creating it if needed.
     */
    static void save(Path directory, String kind, Tokenizer tokenizer, Module network, Map<String, String> metadata,
                     Map<String, String> provenance) {
        try {
            Files.createDirectories(directory);
            Map<String, String> all = new TreeMap<>(metadata);
            provenance.forEach((key, value) -> all.put(PROVENANCE + key, value));
            all.put(KIND, kind);
            all.put(FORMAT, FORMAT_VERSION);
            if (tokenizer instanceof BytePairTokenizer bpe) {
                all.put(TOKENIZER, "bpe");
                for (Map.Entry<String, byte[]> file : bpe.files().entrySet()) {
                    AtomicFiles.write(directory.resolve(file.getKey()), file.getValue());
                    all.put(CHECKSUM + file.getKey(), sha256(file.getValue()));
                }
            } else if (tokenizer instanceof ByteTokenizer bytes) {
                all.put(TOKENIZER, "byte");
                bytes.specialTokens().forEach((token, id) -> all.put(SPECIAL + id, token));
            } else {
                throw new IllegalArgumentException("cannot save a model with tokenizer " + tokenizer.getClass().getName()
                        + "; only ByteTokenizer and BytePairTokenizer are saved");
            }
            Checkpoint.save(directory.resolve(WEIGHTS_FILE), network, null, 0, 0, all);
        } catch (IOException e) {
            throw new UncheckedIOException("writing the model to " + directory + " failed: " + FileErrors.describe(e),
                    e);
        }
    }

    /** The SHA-256 of {@code bytes}, in hex. */
    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /** The kind of model {@code checkpoint} holds, empty if it names none. */
    static String kind(Checkpoint checkpoint) {
        return checkpoint.metadata().getOrDefault(KIND, "");
    }

    /** Checks that {@code checkpoint}, read from {@code directory}, holds a model of {@code kind}. */
    static void requireKind(Path directory, Checkpoint checkpoint, String kind) {
        String found = checkpoint.metadata().get(KIND);
        if (!kind.equals(found)) {
            throw new IllegalArgumentException("model " + directory + " is " + (found == null ? "not a saved model"
                    : "a '" + found + "' model") + ", expected a '" + kind + "' model");
        }
    }

    /** Reads and checks the weights file of {@code directory}. */
    static Checkpoint read(Path directory) {
        Path file = directory.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("model " + directory + ": no " + WEIGHTS_FILE + " in it; is it a model "
                    + "directory saved by xformers4j?");
        }
        Checkpoint checkpoint;
        try {
            checkpoint = Checkpoint.load(file);
        } catch (IOException e) {
            throw new UncheckedIOException("reading model " + file + " failed: " + FileErrors.describe(e), e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("model " + file + " is not a valid model file: " + e.getMessage(), e);
        }
        String format = checkpoint.metadata().get(FORMAT);
        if (checkpoint.metadata().containsKey(KIND) && !FORMAT_VERSION.equals(format)) {
            throw new IllegalArgumentException("model " + file + " is in model format " + (format == null
                    ? "1 (it has no '" + FORMAT + "' entry): it was saved by an earlier version of xformers4j"
                    : "'" + format + "'") + ", and this version reads model format " + FORMAT_VERSION
                    + " only; train the model again");
        }
        return checkpoint;
    }

    /**
     * The tokens per window the model of {@code checkpoint} was trained on.
     *
     * @throws IllegalArgumentException naming the file and the entry if it is missing or not a positive int
     */
    static int contextLength(Path directory, Checkpoint checkpoint) {
        String value = checkpoint.metadata().get(CONTEXT_LENGTH);
        String where = "model " + directory.resolve(WEIGHTS_FILE) + ": ";
        if (value == null) {
            throw new IllegalArgumentException(where + "no '" + CONTEXT_LENGTH + "' entry");
        }
        try {
            int contextLength = Integer.parseInt(value);
            if (contextLength > 0) {
                return contextLength;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(where + "'" + CONTEXT_LENGTH + "' = '" + value + "' is not a positive int");
    }

    /**
     * Loads {@code checkpoint}'s weights into {@code network}, built from the architecture it names.
     *
     * @throws IllegalArgumentException naming the directory and every mismatched parameter
     */
    static void restore(Path directory, Checkpoint checkpoint, Module network) {
        try {
            network.loadStateDict(checkpoint.modelState());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("model " + directory + " does not match its architecture: "
                    + e.getMessage(), e);
        }
        network.eval();
    }

    /**
     * Checks, before anything is built from it, that the {@code architecture} (read from the
     * metadata) fits the weights {@code checkpoint} actually holds, so that metadata claiming a huge
     * model cannot make the loader allocate it: the token embedding table {@code embedding} must be
     * [vocabularySize, modelDim], and the weights must hold at least the parameters of
     * {@code stacks} × layers blocks (each block has at least the query and output projections,
     * 2·modelDim², and the feed-forward, 2·modelDim·hidden).
     *
     * @throws IllegalArgumentException naming the directory, the entries and the numbers that do not fit
     */
    static void requireFits(Path directory, Checkpoint checkpoint, Architecture architecture, int vocabularySize,
                            String embedding, int stacks) {
        int modelDim = architecture.modelDim();
        ParameterState table = checkpoint.modelState().get(embedding);
        int[] expected = {vocabularySize, modelDim};
        String mismatch = "model " + directory + " does not match its architecture: ";
        if (table == null || !Arrays.equals(table.shape(), expected)) {
            throw new IllegalArgumentException(mismatch + "'" + embedding + "' must be " + Arrays.toString(expected)
                    + " (the tokenizer's vocabulary × architecture.modelDim), but " + WEIGHTS_FILE + " holds "
                    + (table == null ? "no such parameter" : Arrays.toString(table.shape())) + "; nothing was built");
        }
        double d = modelDim;
        double needed = (double) vocabularySize * d
                + (double) stacks * architecture.layers() * (2 * d * d + 2 * d * architecture.hiddenSize());
        long held = storedElements(checkpoint);
        if (needed > held) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "%sarchitecture.modelDim = %d, hidden = %d "
                    + "and layers = %d need at least %.0f parameters, but %s holds %d; nothing was built", mismatch,
                    modelDim, architecture.hiddenSize(), architecture.layers(), needed, WEIGHTS_FILE, held));
        }
    }

    /** The number of weights (floats) {@code checkpoint} holds for its model. */
    static long storedElements(Checkpoint checkpoint) {
        return checkpoint.modelState().values().stream().mapToLong(state -> state.values().length).sum();
    }

    /** How the model of {@code checkpoint} was trained, as saved; empty if it was not recorded. */
    static Map<String, String> provenance(Checkpoint checkpoint) {
        Map<String, String> out = new TreeMap<>();
        checkpoint.metadata().forEach((key, value) -> {
            if (key.startsWith(PROVENANCE)) {
                out.put(key.substring(PROVENANCE.length()), value);
            }
        });
        return out;
    }

    /**
     * The tokenizer saved with {@code checkpoint} in {@code directory}; a byte-pair tokenizer's files
     * must have the checksums recorded in the checkpoint (a model saved before they were recorded has none).
     *
     * @throws IllegalArgumentException naming the file if a tokenizer file is missing, malformed or not the
     *                                  one the weights were saved with
     */
    static Tokenizer tokenizer(Path directory, Checkpoint checkpoint) {
        String kind = checkpoint.metadata().get(TOKENIZER);
        if ("bpe".equals(kind)) {
            try {
                byte[] vocab = matching(directory, checkpoint, BytePairTokenizer.VOCAB_FILE);
                byte[] merges = matching(directory, checkpoint, BytePairTokenizer.MERGES_FILE);
                return BytePairTokenizer.read(directory, vocab, merges);
            } catch (IOException e) {
                throw new IllegalArgumentException("model " + directory + ": its tokenizer cannot be read: "
                        + e.getMessage(), e);
            }
        }
        if ("byte".equals(kind)) {
            Map<Integer, String> special = new TreeMap<>();
            checkpoint.metadata().forEach((key, value) -> {
                if (key.startsWith(SPECIAL)) {
                    try {
                        special.put(Integer.parseInt(key.substring(SPECIAL.length())), value);
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("model " + directory + ": metadata entry '" + key
                                + "' does not end in a token id", e);
                    }
                }
            });
            return new ByteTokenizer(special.values().stream().toList());
        }
        throw new IllegalArgumentException("model " + directory + " names tokenizer '" + kind + "', expected byte or bpe");
    }

    /** The bytes of tokenizer file {@code name}, after checking them against the checksum {@code checkpoint} records. */
    private static byte[] matching(Path directory, Checkpoint checkpoint, String name) throws IOException {
        byte[] bytes = BytePairTokenizer.readFile(directory, name);
        String recorded = checkpoint.metadata().get(CHECKSUM + name);
        String found = sha256(bytes);
        if (recorded != null && !recorded.equals(found)) {
            throw new IllegalArgumentException("model " + directory + ": " + name + " is not the file its " + WEIGHTS_FILE
                    + " was saved with (SHA-256 " + found + ", recorded " + recorded + "); the tokenizer files and the "
                    + "weights come from different saves, e.g. a save that was interrupted: save the model again");
        }
        return bytes;
    }
}
