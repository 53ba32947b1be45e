package org.xformers4j.models.lm;

import org.xformers4j.train.Evaluation;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.xformers4j.component.decoding.DecodingStrategy;
import org.xformers4j.component.decoding.GeneratedSequence;
import org.xformers4j.component.decoding.GenerationConfig;
import org.xformers4j.io.Checkpoint;
import org.xformers4j.models.nn.Architecture;
import org.xformers4j.models.nn.TransformerDecoder;
import org.xformers4j.models.text.Tokenizer;
import org.xformers4j.nn.Module;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * A trained decoder-only (GPT-style) language model with its tokenizer: it continues text with
 * any registered {@link DecodingStrategy} and measures how well it predicts text, in bits per
 * character. Built by {@link LanguageModelTrainer}, saved and loaded as a model directory
 * ({@link #save}, {@link #load}).
 *
 * <p>Reference: A. Radford, K. Narasimhan, T. Salimans and I. Sutskever, "Improving Language
 * Understanding by Generative Pre-Training", 2018.
 */
public final class LanguageModel extends TrainedTextModel<LanguageModel> {

    /** Evaluation windows per forward pass. */
    private static final int EVALUATION_BATCH = 16;

    /** The model kind written into a saved model. */
    static final String KIND = "causal-lm";

    /** The decoder's parameters: one stack of blocks, the embedding table at the top level. */
    private static final Layout LAYOUT = new Layout("tokenEmbedding", 1);

    private final TransformerDecoder decoder;

    /**
     * @param architecture  the architecture {@code decoder} was built from
     * @param contextLength the tokens per window it is trained on: the most it is shown at once
     * @param tokenizer     the tokenizer whose ids the decoder reads
     * @param decoder       the network, without cross-attention, over the tokenizer's vocabulary
     */
    public LanguageModel(Architecture architecture, int contextLength, Tokenizer tokenizer,
                         TransformerDecoder decoder) {
        this(architecture, contextLength, tokenizer, decoder, Map.of());
    }

    private LanguageModel(Architecture architecture, int contextLength, Tokenizer tokenizer,
                          TransformerDecoder decoder, Map<String, String> provenance) {
        super(KIND, architecture, contextLength, tokenizer, provenance);
        if (decoder == null) {
            throw new IllegalArgumentException("LanguageModel: decoder must not be null");
        }
        if (decoder.config().vocabularySize() != tokenizer.vocabularySize() || decoder.config().crossAttention()) {
            throw new IllegalArgumentException("LanguageModel: the decoder must be decoder-only over the tokenizer's "
                    + tokenizer.vocabularySize() + " tokens, got " + decoder.config().vocabularySize() + " tokens"
                    + (decoder.config().crossAttention() ? " with cross-attention" : ""));
        }
        this.decoder = decoder;
    }

    /** Continues {@code prompt}; the generations are the continuations, without the prompt. */
    @Override
    public List<Generation> generate(String prompt, DecodingStrategy strategy, GenerationConfig config) {
        int[] ids = tokenizer().encode(prompt);
        if (ids.length == 0) {
            throw new IllegalArgumentException("the prompt is empty; a language model needs at least one token to "
                    + "continue");
        }
        List<Generation> out = new ArrayList<>();
        for (GeneratedSequence sequence : strategy.generate(session(true), new int[][] {ids}, config).get(0)) {
            out.add(new Generation(tokenizer().decode(sequence.tokens()), sequence.score(), sequence.logProbability(),
                    sequence.tokens()));
        }
        return out;
    }

    /** The prompt's tokens; the model sees the last {@link #contextLength()} of them. */
    @Override
    public int inputTokens(String prompt) {
        return tokenizer().encode(prompt).length;
    }

    /**
     * A new decoding session over this model (see {@link DecoderSession}) that shows it at most
     * {@link #contextLength()} tokens, the context it was trained on; puts the model in
     * evaluation mode.
     */
    public DecoderSession session(boolean cached) {
        return new DecoderSession(decoder, cached, null, contextLength());
    }

    /**
     * How well the model predicts {@code text}: its tokens are cut into consecutive windows of
     * {@link #contextLength()} + 1 tokens (the last may be shorter), each window's
     * tokens after the first are predicted from those before them, and the loss is averaged.
     *
     * @param maxWindows evaluate at most this many windows from the start (0 for all)
     * @return the mean loss per predicted token in nats, and the total in bits per character of
     *         the text those windows cover
     */
    public Evaluation evaluate(String text, int maxWindows) {
        return evaluate(tokenizer().encode(text), maxWindows);
    }

    Evaluation evaluate(int[] tokens, int maxWindows) {
        int window = contextLength() + 1;
        if (tokens.length < 2) {
            throw new IllegalArgumentException("evaluation needs at least 2 tokens, got " + tokens.length);
        }
        boolean training = decoder.isTraining();
        decoder.eval();
        double nats = 0;
        long predicted = 0;
        int end = 0;
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            int stride = window - 1;                                   // window w covers [w·stride, w·stride + window)
            int windows = (tokens.length - 2) / stride + 1;            // the last one may be shorter
            windows = maxWindows == 0 ? windows : Math.min(windows, maxWindows);
            for (int w = 0; w < windows; ) {
                int length = Math.min(tokens.length - w * stride, window) - 1;
                int rows = 1;
                while (rows < EVALUATION_BATCH && w + rows < windows
                        && Math.min(tokens.length - (w + rows) * stride, window) - 1 == length) {
                    rows++;
                }
                int[][] inputs = new int[rows][];
                int[] targets = new int[rows * length];
                for (int r = 0; r < rows; r++) {
                    int start = (w + r) * stride;
                    inputs[r] = Arrays.copyOfRange(tokens, start, start + length);
                    System.arraycopy(tokens, start + 1, targets, r * length, length);
                }
                Tensor logits = decoder.forward(inputs, null).reshape(targets.length, -1);
                nats += Functional.crossEntropy(logits, targets).item() * (double) targets.length;
                predicted += targets.length;
                w += rows;
                end = (w - 1) * stride + length + 1;
            }
        } finally {
            if (training) {
                decoder.train();
            }
        }
        String covered = tokenizer().decode(Arrays.copyOfRange(tokens, 1, end));
        int characters = Math.max(1, covered.codePointCount(0, covered.length()));
        return new Evaluation(nats / predicted, Map.of(TextModelTrainer.BITS_PER_CHARACTER, nats / Math.log(2) / characters));
    }

    /**
     * Loads a model saved by {@link #save}, creating its components by name through
     * {@link ComponentRegistry#standalone()} (the providers on the class path); inside a host use
     * {@link #load(Path, ComponentRegistry)}.
     *
     * @throws IllegalArgumentException if the directory holds no model, another kind of model, or a corrupt one
     */
    public static LanguageModel load(Path directory) {
        return load(directory, ComponentRegistry.standalone());
    }

    /**
     * Loads a model saved by {@link #save}, creating its components by name through {@code registry}.
     *
     * @throws IllegalArgumentException if the directory holds no model, another kind of model, or a corrupt one
     */
    public static LanguageModel load(Path directory, ComponentRegistry registry) {
        return load(directory, ModelFiles.read(directory), registry);
    }

    /** The language model whose weights file, {@code weights}, was read from {@code directory}. */
    static LanguageModel load(Path directory, Checkpoint weights, ComponentRegistry registry) {
        return fromCheckpoint(directory, weights, KIND, LAYOUT, (architecture, contextLength, tokenizer) ->
                new LanguageModel(architecture, contextLength, tokenizer, architecture.decoder(registry,
                        tokenizer.vocabularySize(), false, new SplittableRandom(0))));
    }

    /** The network. */
    public TransformerDecoder decoder() {
        return decoder;
    }

    /** The network: the decoder. */
    @Override
    public Module network() {
        return decoder;
    }

    @Override
    LanguageModel withProvenance(Map<String, String> entries) {
        return new LanguageModel(architecture(), contextLength(), tokenizer(), decoder, entries);
    }
}
