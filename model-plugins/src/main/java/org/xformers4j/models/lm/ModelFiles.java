package org.xformers4j.models.lm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.xformers4j.io.Checkpoint;
import org.xformers4j.models.text.BytePairTokenizer;
import org.xformers4j.models.text.ByteTokenizer;
import org.xformers4j.models.text.Tokenizer;
import org.xformers4j.nn.Module;

/**
 * The directory a trained text model is saved in, laid out as a Hugging Face model directory:
 * {@value #WEIGHTS_FILE}, a {@link Checkpoint} holding the weights with the architecture, the
 * tokenizer's kind and the training provenance as text metadata, and for a byte-pair tokenizer its {@code vocab.json} and
 * {@code merges.txt}. Nothing is deserialised as Java objects; a file that is corrupt, truncated or
 * of another kind of model is refused with a message naming it, and each file is replaced atomically.
 */
final class ModelFiles {

    /** The weights file in a model directory. */
    static final String WEIGHTS_FILE = "model.x4j";

    private static final String KIND = "model.kind";
    private static final String TOKENIZER = "tokenizer";
    private static final String SPECIAL = "tokenizer.special.";
    private static final String PROVENANCE = "provenance.";

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
            if (tokenizer instanceof BytePairTokenizer bpe) {
                all.put(TOKENIZER, "bpe");
                bpe.save(directory);
            } else if (tokenizer instanceof ByteTokenizer bytes) {
                all.put(TOKENIZER, "byte");
                bytes.specialTokens().forEach((token, id) -> all.put(SPECIAL + id, token));
            } else {
                throw new IllegalArgumentException("cannot save a model with tokenizer " + tokenizer.getClass().getName()
                        + "; only ByteTokenizer and BytePairTokenizer are saved");
            }
            Checkpoint.save(directory.resolve(WEIGHTS_FILE), network, null, 0, 0, all);
        } catch (IOException e) {
            throw new UncheckedIOException("writing the model to " + directory + " failed", e);
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
            throw new UncheckedIOException("reading model " + file + " failed", e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("model " + file + " is not a valid model file: " + e.getMessage(), e);
        }
        return checkpoint;
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

    /** The tokenizer saved with {@code checkpoint} in {@code directory}. */
    static Tokenizer tokenizer(Path directory, Checkpoint checkpoint) {
        String kind = checkpoint.metadata().get(TOKENIZER);
        if ("bpe".equals(kind)) {
            try {
                return BytePairTokenizer.load(directory);
            } catch (IOException e) {
                throw new UncheckedIOException("reading the tokenizer of model " + directory + " failed", e);
            }
        }
        if ("byte".equals(kind)) {
            Map<Integer, String> special = new TreeMap<>();
            checkpoint.metadata().forEach((key, value) -> {
                if (key.startsWith(SPECIAL)) {
                    special.put(Integer.parseInt(key.substring(SPECIAL.length())), value);
                }
            });
            return new ByteTokenizer(special.values().stream().toList());
        }
        throw new IllegalArgumentException("model " + directory + " names tokenizer '" + kind + "', expected byte or bpe");
    }
}
