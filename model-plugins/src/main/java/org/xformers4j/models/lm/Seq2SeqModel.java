package org.xformers4j.models.lm;

import org.xformers4j.train.Evaluation;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.decoding.DecodingStrategy;
import org.xformers4j.component.decoding.GeneratedSequence;
import org.xformers4j.component.decoding.GenerationConfig;
import org.xformers4j.io.Checkpoint;
import org.xformers4j.models.nn.Architecture;
import org.xformers4j.models.nn.TransformerBlock;
import org.xformers4j.models.nn.TransformerDecoder;
import org.xformers4j.models.nn.TransformerEncoder;
import org.xformers4j.models.text.Tokenizer;
import org.xformers4j.nn.Module;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * A trained encoder-decoder (sequence-to-sequence) Transformer with its tokenizer (Vaswani et al.,
 * 2017, "Attention Is All You Need", §3): an encoder reads the source and a causal decoder with
 * cross-attention over the encoder's output writes the target, with any registered
 * {@link DecodingStrategy}. Built by {@link Seq2SeqTrainer}, saved and loaded as a model directory
 * ({@link #save}, {@link #load}).
 * <pre>
 *   source "abc"  → ids a b c &lt;/s&gt; → E[ids] → encoder (positions added by its hook 1) → memory [1, S, D]
 *   source image  → patches → linear projection → encoder (positions; the patch grid to the attention) → memory
 *   target "cba"  : decoder reads &lt;s&gt; c b a, predicts c b a &lt;/s&gt; (teacher forcing), attending to the memory
 * </pre>
 * What the encoder reads is the model's {@link SourceEncoder}: text ({@link TextSourceEncoder}) or
 * images ({@link ImageSourceEncoder}, an image-to-caption model). A text source is followed by the end
 * token {@value #END_TOKEN}, so the encoder sees where it ends whatever the positional encoding, and is
 * embedded with the decoder's token embedding table E ({@link TransformerDecoder#embed}); with
 * {@link Architecture#tiedEmbeddings()} the logits are computed with E too, the three-way tying of
 * Vaswani et al. (§3.4) after Press and Wolf (2017, "Using the Output Embedding to Improve Language
 * Models"). Sources of a batch are right-padded and the padding is masked as attention keys, in
 * the encoder and in the decoder's cross-attention.
 */
public final class Seq2SeqModel extends TrainedTextModel<Seq2SeqModel> {

    /** The model kind written into a saved model. */
    static final String KIND = "seq2seq";

    /** The special token every target starts with: the decoder's first input. */
    public static final String START_TOKEN = "<s>";

    /** The special token that ends every source and every target. */
    public static final String END_TOKEN = "</s>";

    /** The network's parameters: the encoder's and the decoder's stacks, the shared embedding table in the decoder. */
    private static final Layout LAYOUT = new Layout("decoder.tokenEmbedding", 2);

    private final SourceEncoder sourceEncoder;
    private final SourceEncoder.Embedding source;
    private final TransformerEncoder encoder;
    private final TransformerDecoder decoder;
    private final Network network;
    private final int startToken;
    private final int endToken;
    private final RandomGenerator crossAttentionRng;

    /**
     * The source embedding, the encoder and the decoder as one module: parameters {@code source.…} (an
     * image's patch projection; none for text), {@code encoder.…} and {@code decoder.…}.
     */
    private static final class Network extends Module {
        Network(SourceEncoder.Embedding source, TransformerEncoder encoder, TransformerDecoder decoder) {
            registerModule("source", source);
            registerModule("encoder", encoder);
            registerModule("decoder", decoder);
        }
    }

    private Seq2SeqModel(SourceEncoder sourceEncoder, Architecture architecture, int contextLength, Tokenizer tokenizer,
                         ComponentRegistry registry, RandomGenerator rng) {
        super(KIND, architecture, contextLength, tokenizer, Map.of());
        this.startToken = specialToken(tokenizer, START_TOKEN);
        this.endToken = specialToken(tokenizer, END_TOKEN);
        this.sourceEncoder = sourceEncoder;
        this.decoder = architecture.decoder(registry, tokenizer.vocabularySize(), true, rng);
        this.encoder = architecture.encoder(registry, rng);
        this.source = sourceEncoder.embedding(decoder, tokenizer, contextLength, rng);
        this.network = new Network(source, encoder, decoder);
        this.crossAttentionRng = new SplittableRandom(rng.nextLong());
    }

    /** {@code trained}, sharing its networks, with another provenance. */
    private Seq2SeqModel(Seq2SeqModel trained, Map<String, String> provenance) {
        super(KIND, trained.architecture(), trained.contextLength(), trained.tokenizer(), provenance);
        this.startToken = trained.startToken;
        this.endToken = trained.endToken;
        this.sourceEncoder = trained.sourceEncoder;
        this.source = trained.source;
        this.decoder = trained.decoder;
        this.encoder = trained.encoder;
        this.network = trained.network;
        this.crossAttentionRng = trained.crossAttentionRng;
    }

    /**
     * A new, untrained model of text sources ({@link TextSourceEncoder}).
     *
     * @see #create(SourceEncoder, Architecture, int, Tokenizer, ComponentRegistry, RandomGenerator)
     */
    public static Seq2SeqModel create(Architecture architecture, int contextLength, Tokenizer tokenizer,
                                      ComponentRegistry registry, RandomGenerator rng) {
        return create(new TextSourceEncoder(), architecture, contextLength, tokenizer, registry, rng);
    }

    /**
     * A new, untrained model.
     *
     * @param sourceEncoder what the encoder reads: text, or images
     * @param architecture  the architecture of the encoder and the decoder (both {@link Architecture#layers()} deep;
     *                      the encoder prepends a CLS token when its pooling is CLS, which the decoder does not see)
     * @param contextLength the most tokens a source or a target (with its special token) may have
     * @param tokenizer     the tokenizer; it must have the special tokens {@value #START_TOKEN} and {@value #END_TOKEN}
     * @param registry      where the attention mechanisms and the positional encoding come from
     * @param rng           seeded generator for every weight and the dropout seeds
     * @throws IllegalArgumentException if an argument is null, a special token is missing, or the attention
     *                                  mechanism cannot serve as cross-attention
     */
    public static Seq2SeqModel create(SourceEncoder sourceEncoder, Architecture architecture, int contextLength,
                                      Tokenizer tokenizer, ComponentRegistry registry, RandomGenerator rng) {
        if (sourceEncoder == null || architecture == null || tokenizer == null || registry == null || rng == null) {
            throw new IllegalArgumentException("Seq2SeqModel: sourceEncoder, architecture, tokenizer, registry and rng "
                    + "must not be null, got " + sourceEncoder + ", " + architecture + ", " + tokenizer + ", "
                    + registry + ", " + rng);
        }
        return new Seq2SeqModel(sourceEncoder, architecture, contextLength, tokenizer, registry, rng);
    }

    private static int specialToken(Tokenizer tokenizer, String token) {
        return tokenizer.tokenId(token).orElseThrow(() -> new IllegalArgumentException("Seq2SeqModel: the tokenizer "
                + "has no special token '" + token + "'; a sequence-to-sequence model needs " + START_TOKEN + " and "
                + END_TOKEN));
    }

    /**
     * Writes the target for the text {@code source}: {@link #generate(Source, DecodingStrategy, GenerationConfig)}
     * of a {@link Source.Text}.
     *
     * @throws IllegalArgumentException if the model reads images, or {@code config} names an end token other than
     *                                  {@value #END_TOKEN}
     */
    @Override
    public List<Generation> generate(String source, DecodingStrategy strategy, GenerationConfig config) {
        return generate(new Source.Text(source), strategy, config);
    }

    /**
     * Writes the target for {@code source} (a text, of which the encoder reads at most
     * {@link #contextLength()} tokens, {@value #END_TOKEN} included, a longer one being cut to its start;
     * or an image). The strategy runs with end token {@value #END_TOKEN}: a config without an end token
     * gets it, and a config with another one is refused. The generations' texts leave out the final
     * {@value #END_TOKEN}; their token ids keep it. Puts the model in evaluation mode.
     *
     * @throws IllegalArgumentException if the source is not of the kind the model reads (or, for an image, not
     *                                  of its size), or {@code config} names an end token other than
     *                                  {@value #END_TOKEN}
     */
    public List<Generation> generate(Source source, DecodingStrategy strategy, GenerationConfig config) {
        return generate(source, strategy, config, true);
    }

    /** {@link #generate(Source, DecodingStrategy, GenerationConfig)}, with KV caches or recomputing each prefix. */
    List<Generation> generate(Source source, DecodingStrategy strategy, GenerationConfig config, boolean cached) {
        GenerationConfig ending = withEndToken(config);
        network.eval();
        TransformerBlock.Memory memory;
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            memory = encode(List.of(source));
        }
        DecoderSession session = new DecoderSession(decoder, cached, memory, contextLength());
        List<Generation> out = new ArrayList<>();
        for (GeneratedSequence sequence : strategy.generate(session, new int[][] {{startToken}}, ending).get(0)) {
            int[] tokens = sequence.tokens();
            int length = tokens.length > 0 && tokens[tokens.length - 1] == endToken ? tokens.length - 1 : tokens.length;
            out.add(new Generation(tokenizer().decode(Arrays.copyOf(tokens, length)), sequence.score(),
                    sequence.logProbability(), tokens));
        }
        return out;
    }

    private GenerationConfig withEndToken(GenerationConfig config) {
        if (config.endToken() == GenerationConfig.NO_END_TOKEN) {
            return config.toBuilder().endToken(endToken).build();
        }
        if (config.endToken() != endToken) {
            throw new IllegalArgumentException("config.endToken() = " + config.endToken() + ", but a sequence-to-sequence "
                    + "model ends its targets with " + END_TOKEN + " (id " + endToken + "); leave endToken unset or set it "
                    + "to " + endToken);
        }
        return config;
    }

    /**
     * The tokens the encoder would read for the text {@code source} before any cut: its tokens and
     * {@value #END_TOKEN}.
     *
     * @throws IllegalArgumentException if the model reads images
     */
    @Override
    public int inputTokens(String source) {
        return sourceTokens(new Source.Text(source));
    }

    /**
     * The tokens the encoder would read for {@code source} before any cut (for an image, its patches).
     *
     * @throws IllegalArgumentException if the source is not of the kind the model reads, or not of its size
     */
    int sourceTokens(Source source) {
        return this.source.tokens(source);
    }

    /** The most tokens of a source the encoder reads: the context length for text, the patches of an image. */
    int maxSourceTokens() {
        return source.maxTokens();
    }

    /** What the encoder reads. */
    public SourceEncoder sourceEncoder() {
        return sourceEncoder;
    }

    /** The ids of {@code target}, without special tokens around them. */
    int[] targetTokens(String target) {
        return tokenizer().encode(target);
    }

    /**
     * The encoder's memory for {@code sources}, embedded by the model's source encoder (text
     * right-padded to the longest with the padding masked; an image's patches with their grid):
     * states [B, S, D] and their key padding mask [B, S].
     */
    private TransformerBlock.Memory encode(List<? extends Source> sources) {
        SourceEncoder.Embedding.Input input = source.embed(sources);
        Tensor states = encoder.forward(input.embeddings(), input.keyPaddingMask(), input.grid()).tokens();
        return new TransformerBlock.Memory(states, AttentionContext.builder().keyPaddingMask(input.keyPaddingMask())
                .dropout(architecture().attentionDropout(), crossAttentionRng).build());
    }

    /**
     * The teacher-forced loss of a batch: the decoder reads {@value #START_TOKEN} and each target
     * and predicts the target and {@value #END_TOKEN}, attending to its source.
     *
     * @param sources the sources, of the kind the model reads
     * @param targets rows from {@link #targetTokens}, one per source
     * @return the mean cross-entropy per predicted token (each target's length + 1), a scalar with a graph
     *         when grad mode is on
     */
    Tensor loss(List<? extends Source> sources, int[][] targets) {
        if (sources.size() != targets.length || targets.length == 0) {
            throw new IllegalArgumentException("Seq2SeqModel.loss: need as many targets as sources, at least one, got "
                    + sources.size() + " sources and " + targets.length + " targets");
        }
        int length = Arrays.stream(targets).mapToInt(t -> t.length).max().orElseThrow() + 1;
        int[][] inputs = new int[targets.length][length];
        int[] labels = new int[targets.length * length];
        Arrays.fill(labels, Functional.IGNORE_INDEX);
        for (int b = 0; b < targets.length; b++) {
            Arrays.fill(inputs[b], endToken);
            inputs[b][0] = startToken;
            System.arraycopy(targets[b], 0, inputs[b], 1, targets[b].length);
            System.arraycopy(targets[b], 0, labels, b * length, targets[b].length);
            labels[b * length + targets[b].length] = endToken;
        }
        Tensor logits = decoder.forward(inputs, encode(sources));                          // [B, L, V]
        return Functional.crossEntropy(logits.reshape(targets.length * length, -1), labels, Functional.IGNORE_INDEX,
                0f);
    }

    /** The number of tokens {@link #loss} predicts for {@code targets}: each target's length + 1. */
    static long predictedTokens(int[][] targets) {
        return Arrays.stream(targets).mapToLong(t -> t.length + 1L).sum();
    }

    /**
     * How well the model predicts the targets of {@code pairs} from their sources, in batches of
     * {@code batchSize} pairs, in evaluation mode and without a graph.
     *
     * @return the mean loss per predicted target token ({@value #END_TOKEN} included) in nats, and the
     *         total in bits per character of the targets
     * @throws IllegalArgumentException if there are no pairs or batchSize is not positive
     */
    public Evaluation evaluate(List<Seq2SeqTrainer.Pair> pairs, int batchSize) {
        if (pairs == null || pairs.isEmpty()) {
            throw new IllegalArgumentException("Seq2SeqModel.evaluate: pairs must not be empty");
        }
        List<Source> sources = pairs.stream().map(Seq2SeqTrainer.Pair::source).toList();
        int[][] targets = pairs.stream().map(p -> targetTokens(p.target())).toArray(int[][]::new);
        long characters = pairs.stream().mapToLong(p -> p.target().codePointCount(0, p.target().length())).sum();
        return evaluate(sources, targets, characters, batchSize);
    }

    /** {@link #evaluate(List, int)} of encoded pairs whose targets have {@code characters} characters in all. */
    Evaluation evaluate(List<? extends Source> sources, int[][] targets, long characters, int batchSize) {
        if (batchSize <= 0) {
            throw new IllegalArgumentException("Seq2SeqModel.evaluate: batchSize must be > 0, got " + batchSize);
        }
        boolean training = network.isTraining();
        network.eval();
        double nats = 0;
        long predicted = 0;
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            for (int from = 0; from < targets.length; from += batchSize) {
                int to = Math.min(targets.length, from + batchSize);
                int[][] batchTargets = Arrays.copyOfRange(targets, from, to);
                long count = predictedTokens(batchTargets);
                nats += loss(sources.subList(from, to), batchTargets).item() * (double) count;
                predicted += count;
            }
        } finally {
            network.train(training);
        }
        return new Evaluation(nats / predicted,
                Map.of(TextModelTrainer.BITS_PER_CHARACTER, nats / Math.log(2) / Math.max(1, characters)));
    }

    /**
     * Loads a model saved by {@link #save}, creating its components by name through
     * {@link ComponentRegistry#standalone()} (the providers on the class path); inside a host use
     * {@link #load(Path, ComponentRegistry)}.
     *
     * @throws IllegalArgumentException if the directory holds no model, another kind of model, or a corrupt one
     */
    public static Seq2SeqModel load(Path directory) {
        return load(directory, ComponentRegistry.standalone());
    }

    /**
     * Loads a model saved by {@link #save}, creating its components by name through {@code registry}.
     *
     * @throws IllegalArgumentException if the directory holds no model, another kind of model, or a corrupt one
     */
    public static Seq2SeqModel load(Path directory, ComponentRegistry registry) {
        return load(directory, ModelFiles.read(directory), registry);
    }

    /** The sequence-to-sequence model whose weights file, {@code weights}, was read from {@code directory}. */
    static Seq2SeqModel load(Path directory, Checkpoint weights, ComponentRegistry registry) {
        ModelFiles.requireKind(directory, weights, KIND);
        SourceEncoder sourceEncoder;
        try {
            sourceEncoder = SourceEncoder.fromMetadata(weights.metadata());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("model " + directory.resolve(ModelFiles.WEIGHTS_FILE) + ": "
                    + e.getMessage(), e);
        }
        return fromCheckpoint(directory, weights, KIND, LAYOUT, (architecture, contextLength, tokenizer) ->
                new Seq2SeqModel(sourceEncoder, architecture, contextLength, tokenizer, registry,
                        new SplittableRandom(0)));
    }

    public TransformerEncoder encoder() {
        return encoder;
    }

    public TransformerDecoder decoder() {
        return decoder;
    }

    /** The encoder and the decoder as one module, as trained and saved. */
    @Override
    public Module network() {
        return network;
    }

    /** The source encoder's settings, saved beside the architecture. */
    @Override
    Map<String, String> metadata() {
        return sourceEncoder.toMetadata();
    }

    @Override
    Seq2SeqModel withProvenance(Map<String, String> entries) {
        return new Seq2SeqModel(this, entries);
    }
}
