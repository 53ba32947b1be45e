package org.xformers4j.models.lm;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.xformers4j.component.decoding.DecodingStrategy;
import org.xformers4j.component.decoding.GenerationConfig;
import org.xformers4j.io.Checkpoint;
import org.xformers4j.models.text.Tokenizer;
import org.xformers4j.registry.ComponentRegistry;

/**
 * A trained text model that generates from a text input with any registered decoding strategy:
 * a {@link LanguageModel} continues its prompt, a {@link Seq2SeqModel} writes the target for its source
 * (an image-to-caption model's sources are images: {@link Seq2SeqModel#generate(Source, DecodingStrategy,
 * GenerationConfig)}).
 */
public interface TextGenerator {

    /**
     * A generated text: the text produced (without the input), its score and log-probability as the
     * strategy computed them, and its token ids.
     */
    record Generation(String text, double score, double logProbability, int[] tokens) {
    }

    /**
     * Generates from {@code input} with {@code strategy}.
     *
     * @return up to {@link GenerationConfig#numReturnSequences()} generations, best first
     * @throws IllegalArgumentException if the input encodes to no tokens, or the model does not read text (a
     *                                  sequence-to-sequence model whose source is an {@link ImageSourceEncoder})
     */
    List<Generation> generate(String input, DecodingStrategy strategy, GenerationConfig config);

    /**
     * How many tokens the model would read for {@code input} if it had no limit: a language model's prompt
     * tokens, a sequence-to-sequence model's source tokens with its end token. More than
     * {@link #contextLength()} means the model reads it only in part: a language model its last
     * {@code contextLength} tokens, a sequence-to-sequence model the first ones.
     */
    int inputTokens(String input);

    /** The tokens per window the model was trained on: the most of an input it reads. */
    int contextLength();

    /** The tokenizer whose ids the model reads and writes. */
    Tokenizer tokenizer();

    /**
     * How the model was trained, as text entries: the trainer's settings, the data's hash, the steps
     * taken, the final validation loss and bits per character, the date; empty for a model that was
     * built rather than trained. Saved and loaded with the model.
     */
    Map<String, String> provenance();

    /** Saves the model into {@code directory}, loadable with {@link #load}; each file is replaced atomically. */
    void save(Path directory);

    /**
     * Loads the model saved in {@code directory}, whichever kind it is, creating its components by
     * name through {@link ComponentRegistry#standalone()} (the providers on the class path); inside a
     * host use {@link #load(Path, ComponentRegistry)}.
     *
     * @throws IllegalArgumentException if the directory holds no model, an unknown kind or a corrupt one
     */
    static TextGenerator load(Path directory) {
        return load(directory, ComponentRegistry.standalone());
    }

    /**
     * Loads the model saved in {@code directory}, whichever kind it is, creating its components by
     * name through {@code registry}.
     *
     * @throws IllegalArgumentException if the directory holds no model, an unknown kind or a corrupt one
     */
    static TextGenerator load(Path directory, ComponentRegistry registry) {
        Checkpoint weights = ModelFiles.read(directory);
        String kind = ModelFiles.kind(weights);
        return switch (kind) {
            case LanguageModel.KIND -> LanguageModel.load(directory, weights, registry);
            case Seq2SeqModel.KIND -> Seq2SeqModel.load(directory, weights, registry);
            default -> throw new IllegalArgumentException("model " + directory + " is of kind '" + kind
                    + "', which is not a text model this version can load");
        };
    }
}
