package org.xformers4j.models.nn;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.Configurable;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import com.oracle.labs.mlrg.olcut.provenance.ConfiguredObjectProvenance;
import com.oracle.labs.mlrg.olcut.provenance.Provenancable;
import com.oracle.labs.mlrg.olcut.provenance.impl.ConfiguredObjectProvenanceImpl;
import java.util.HashMap;
import java.util.Map;
import java.util.random.RandomGenerator;
import org.xformers4j.component.Component;
import org.xformers4j.component.Hyperparameters;
import org.xformers4j.component.Range;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.nn.FeedForward;
import org.xformers4j.registry.ComponentRegistry;

/**
 * The architecture of a transformer network, as one OLCUT {@link Configurable}: the registered
 * attention mechanism and positional encoding (by name, with their options), the widths, depth,
 * norms, dropouts and the encoder's pooling. Every trainer holds one ({@code <property
 * name="architecture" value="…"/>} in XML, {@code .architecture(…)} in code), and every saved model
 * records one, so a field is declared, validated, saved and loaded in this class only.
 * <pre>{@code
 * <component name="architecture" type="org.xformers4j.models.nn.Architecture">
 *     <property name="attention" value="flash"/>
 *     <property name="positional" value="learned"/>
 *     <propertymap name="positionalOptions"><entry key="maxLength" value="16"/></propertymap>
 *     <property name="modelDim" value="64"/>
 *     <property name="heads" value="4"/>
 *     <property name="layers" value="2"/>
 * </component>
 * }</pre>
 *
 * <p><b>Validation.</b> {@link #postConfig()} checks every field as components are checked: the
 * {@link Range} of each number and no null through {@link Hyperparameters#validate}, then the two
 * rules between fields ({@code heads} divides {@code modelDim}; {@code reversible} blocks need
 * pre-norm and no randomness), and finally builds the {@link BlockConfig} and {@link EncoderConfig}
 * it describes, which own the rules of the layers. Component names cannot be checked here, as
 * configuration knows no registry: {@link #checkComponents(ComponentRegistry)} does it, and a
 * trainer calls it when it is handed its registry ({@code useRegistry}) and before it trains.
 *
 * <p><b>Building.</b> {@link #blockConfig()}, {@link #encoderConfig()} and {@link #decoderConfig}
 * are the layers' configurations; {@link #encoder} and {@link #decoder} build the networks,
 * creating a new attention mechanism per block and one positional encoding through the
 * {@link ComponentRegistry} they are given.
 *
 * <p><b>Persistence.</b> {@link #toMetadata()} writes every {@code @Config} field as a text entry
 * {@value #METADATA_PREFIX}{@code <field>} (options as {@code …attentionOptions.<key>}), generically,
 * and {@link #fromMetadata} reads them back through {@link Hyperparameters#fromText}, refusing a
 * missing, unknown or malformed entry by name and validating through {@link #postConfig()}; a
 * field added here is saved and loaded without another line, and one line more in {@code
 * ADDED_LATER} (its value that keeps the behaviour before it) lets the models saved before it
 * load. {@code model.x4j} files and the checkpoint inside a {@code .tribuo} model both hold these
 * entries.
 *
 * <p>Immutable once configured (OLCUT sets the fields before {@link #postConfig()}; the builder
 * builds a new instance), so trainers and models share one instance freely.
 */
public final class Architecture implements Configurable, Provenancable<ConfiguredObjectProvenance> {

    /** The prefix of the architecture's entries in a model's metadata. */
    public static final String METADATA_PREFIX = "architecture.";

    /**
     * The entries of fields added after models were first saved, with the value that means what those
     * models did without them (a model saved before token selection existed selects no tokens), which
     * {@link #fromMetadata} supplies when an entry is missing. Every other entry must be present.
     */
    private static final Map<String, String> ADDED_LATER = Map.of(
            METADATA_PREFIX + "tokenSelectionLayers", "",
            METADATA_PREFIX + "keepRatio", "0.5");

    @Config(description = "Registry name of the attention mechanism (self- and cross-attention), e.g. full, flash, "
            + "local, sliding-window, lsh, linear; a language model's must declare causal.")
    private String attention = "full";

    @Config(description = "Hyperparameters of the attention mechanism, by name, as strings.")
    private Map<String, String> attentionOptions = new HashMap<>();

    @Config(description = "Registry name of the positional encoding, e.g. none, sinusoidal, learned, rotary, alibi.")
    private String positional = "none";

    @Config(description = "Hyperparameters of the positional encoding, by name, as strings.")
    private Map<String, String> positionalOptions = new HashMap<>();

    @Config(description = "Width D of the residual stream; a multiple of heads.")
    @Range(min = 1)
    private int modelDim = 64;

    @Config(description = "Number of attention heads; must divide modelDim.")
    @Range(min = 1)
    private int heads = 4;

    @Config(description = "Number of transformer blocks (of each stack: the encoder and the decoder of an "
            + "encoder-decoder model have as many).")
    @Range(min = 1)
    private int layers = 2;

    @Config(description = "Hidden size of the feed-forward sublayer; 0 for 4 * modelDim.")
    @Range(min = 0)
    private int hidden = 0;

    @Config(description = "Feed-forward activation or gated variant.")
    private FeedForward.Activation activation = FeedForward.Activation.GELU;

    @Config(description = "Normalisation layer.")
    private NormKind norm = NormKind.LAYER;

    @Config(description = "Where the norms sit around each sublayer (PRE, POST, SANDWICH).")
    private NormPlacement normPlacement = NormPlacement.PRE;

    @Config(description = "Whether the attention and feed-forward projections have biases.")
    private boolean bias = true;

    @Config(description = "Dropout probability on each sublayer's output before the residual sum, in [0, 1).")
    @Range(min = 0, max = 1, maxInclusive = false)
    private float dropout = 0f;

    @Config(description = "Dropout probability on the attention weights, in [0, 1).")
    @Range(min = 0, max = 1, maxInclusive = false)
    private float attentionDropout = 0f;

    @Config(description = "Stochastic depth (Huang et al., 2016): the probability of dropping a sample's whole "
            + "residual branch in the last block, block l of N getting l/N of it, in [0, 1).")
    @Range(min = 0, max = 1, maxInclusive = false)
    private float dropPath = 0f;

    @Config(description = "Positions per chunk of the feed-forward sublayer (Kitaev et al., 2020, Reformer), which "
            + "bounds its hidden activations' memory at the price of recomputing it in backward; 0 for no chunking.")
    @Range(min = 0)
    private int feedForwardChunkSize = 0;

    @Config(description = "Activation checkpointing (Chen et al., 2016): OFF stores every activation; BLOCK keeps "
            + "only each block's input and recomputes the block in backward; HEAD also runs the attention one head at "
            + "a time under the recomputation (Linformer's C0, C1, C2). Same losses and gradients, less memory, about "
            + "one more forward pass.")
    private ActivationCheckpointing checkpointing = ActivationCheckpointing.OFF;

    @Config(description = "Run the encoder's blocks as a reversible sequence (Kitaev et al., 2020, Reformer): "
            + "activations are recomputed in backward, so training memory barely grows with layers, for about one "
            + "more forward pass of compute. Needs normPlacement PRE and no dropout; encoders only.")
    private boolean reversible = false;

    @Config(description = "How an encoder's sequence becomes one vector per example (CLS or MEAN); CLS prepends a "
            + "learned token. An encoder-decoder model's encoder does not pool, but a CLS token is still prepended.")
    private TransformerEncoder.Pooling pooling = TransformerEncoder.Pooling.CLS;

    @Config(description = "Learned register tokens prepended to an encoder's sequence and never pooled (Darcet et "
            + "al., 2024), 0 for none.")
    @Range(min = 0)
    private int numRegisterTokens = 0;

    @Config(description = "Token selection (Singh et al., 2024, ToSA): the encoder blocks, 0-based and separated by "
            + "commas (e.g. \"1,3\"), in which only the keepRatio most attended tokens (ranked by the attention of the "
            + "block before) and the CLS and register tokens take part, the others bypassing the block unchanged; each "
            + "at least 1, none right after another. Needs a mechanism that reports its weights (full, flash) and a "
            + "positional encoding on the embeddings (learned, sinusoidal, none). Empty for none.")
    private String tokenSelectionLayers = "";

    @Config(description = "The fraction of the input tokens that a token selection block keeps, ceil(keepRatio * "
            + "tokens); in (0, 1].")
    @Range(min = 0, max = 1, minInclusive = false)
    private float keepRatio = 0.5f;

    @Config(description = "A decoder computes its logits with the token embedding table (Press and Wolf, 2017).")
    private boolean tiedEmbeddings = true;

    /** For OLCUT; see {@link #builder()}. */
    private Architecture() {
    }

    /** A builder starting from every field's default: full attention, no positions, 2 pre-norm blocks of width 64 with 4 heads. */
    public static Builder builder() {
        return new Builder(new Architecture());
    }

    /** A builder starting from this architecture's fields. */
    public Builder toBuilder() {
        Architecture copy = fromMetadata(toMetadata());
        return new Builder(copy);
    }

    /**
     * Checks every field: ranges and nulls as components are checked ({@link Hyperparameters#validate}),
     * {@code heads} dividing {@code modelDim}, the needs of {@code reversible} blocks, and whatever the
     * layers' configurations refuse.
     *
     * @throws PropertyException naming the field and its value
     */
    @Override
    public void postConfig() {
        Hyperparameters.validate(this);
        if (modelDim % heads != 0) {
            throw new PropertyException("", "heads", "heads = " + heads + " must divide modelDim = " + modelDim);
        }
        if (reversible && normPlacement != NormPlacement.PRE) {
            throw new PropertyException("", "reversible", "reversible blocks need normPlacement PRE, got "
                    + normPlacement);
        }
        if (reversible && (dropout != 0f || attentionDropout != 0f || dropPath != 0f)) {
            throw new PropertyException("", "reversible", "reversible blocks are recomputed in backward, so dropout, "
                    + "attentionDropout and dropPath must be 0, got " + dropout + ", " + attentionDropout + " and "
                    + dropPath);
        }
        try {
            TokenSelection.parse(tokenSelectionLayers, keepRatio);
        } catch (IllegalArgumentException e) {
            // the message says it all: OLCUT would repeat a cause's message after it
            throw new PropertyException("", "tokenSelectionLayers", "tokenSelectionLayers = '" + tokenSelectionLayers
                    + "': " + e.getMessage());
        }
        try {
            encoderConfig();
        } catch (IllegalArgumentException e) {
            throw new PropertyException(e, "", "", "the architecture is not valid: " + e.getMessage());
        }
    }

    /**
     * Checks that {@code registry} knows the attention mechanism and the positional encoding and
     * takes their options, by creating one of each, and that they work with token selection when it is
     * configured ({@link TokenSelection#checkComponents}).
     *
     * @throws PropertyException naming {@code attention}, {@code positional} or their options field, with the
     *                           registry's message (an unknown name lists the closest registered ones), or
     *                           {@code tokenSelectionLayers} for components it does not work with
     */
    public void checkComponents(ComponentRegistry registry) {
        AttentionMechanism mechanism = newAttention(registry);
        PositionalEncoding encoding = newPositional(registry);
        if (tokenSelection() != null) {
            try {
                TokenSelection.checkComponents(mechanism, encoding);
            } catch (IllegalArgumentException e) {
                throw new PropertyException("", "tokenSelectionLayers", e.getMessage());
            }
        }
    }

    /** A new attention mechanism (one per block) from {@code registry}; an unknown name or bad option names the field. */
    public AttentionMechanism newAttention(ComponentRegistry registry) {
        return component(registry, AttentionMechanism.class, "attention", attention, attentionOptions);
    }

    /** A new positional encoding from {@code registry}; an unknown name or bad option names the field. */
    public PositionalEncoding newPositional(ComponentRegistry registry) {
        return component(registry, PositionalEncoding.class, "positional", positional, positionalOptions);
    }

    private static <C extends Component> C component(ComponentRegistry registry, Class<C> type, String field,
                                                     String name, Map<String, String> options) {
        if (registry == null) {
            throw new IllegalArgumentException("Architecture: the component registry must not be null");
        }
        try {
            return registry.create(type, name, options);
        } catch (IllegalArgumentException e) {
            throw new PropertyException(e, "", field, field + " = '" + name + "': " + e.getMessage());
        } catch (PropertyException e) {
            throw new PropertyException(e, "", field + "Options", field + "Options " + options + " of '" + name
                    + "': " + e.getMessage());
        }
    }

    /** The feed-forward hidden size: {@code hidden}, or 4 · modelDim when it is 0. */
    public int hiddenSize() {
        if (hidden != 0) {
            return hidden;
        }
        if (modelDim > Integer.MAX_VALUE / 4) {
            throw new IllegalArgumentException("Architecture: hidden = 0 means 4 * modelDim, which overflows for "
                    + "modelDim = " + modelDim);
        }
        return 4 * modelDim;
    }

    /** Every block's configuration. */
    public BlockConfig blockConfig() {
        return BlockConfig.builder(modelDim, heads).hidden(hiddenSize()).activation(activation).norm(norm)
                .placement(normPlacement).bias(bias).residualDropout(dropout).dropPath(dropPath)
                .feedForwardChunkSize(feedForwardChunkSize).checkpointing(checkpointing).build();
    }

    /**
     * The configuration of an encoder: the blocks, the depth, pooling, register tokens, attention
     * dropout, reversibility, token selection.
     */
    public EncoderConfig encoderConfig() {
        return EncoderConfig.builder(blockConfig(), layers).pooling(pooling).numRegisterTokens(numRegisterTokens)
                .attentionDropout(attentionDropout).reversible(reversible).tokenSelection(tokenSelection()).build();
    }

    /** The token selection of {@code tokenSelectionLayers} and {@code keepRatio}, or null when none is configured. */
    public TokenSelection tokenSelection() {
        return TokenSelection.parse(tokenSelectionLayers, keepRatio);
    }

    /**
     * The configuration of a causal decoder over {@code vocabularySize} tokens, with a cross-attention
     * sublayer in every block for an encoder-decoder model.
     *
     * @throws IllegalArgumentException if this architecture is reversible, which decoders are not
     */
    public DecoderConfig decoderConfig(int vocabularySize, boolean crossAttention) {
        if (reversible) {
            throw new IllegalArgumentException("Architecture: reversible = true, but decoders have no reversible "
                    + "blocks; set reversible to false");
        }
        if (!crossAttention && tokenSelection() != null) {
            throw new IllegalArgumentException("Architecture: tokenSelectionLayers = '" + tokenSelectionLayers + "', but "
                    + "token selection is an encoder option and a decoder-only model has no encoder; leave it empty");
        }
        return new DecoderConfig(blockConfig(), layers, vocabularySize, tiedEmbeddings, crossAttention,
                attentionDropout);
    }

    /** A new encoder of this architecture, its components created through {@code registry}. */
    public TransformerEncoder encoder(ComponentRegistry registry, RandomGenerator rng) {
        EncoderConfig config = encoderConfig();
        PositionalEncoding positionalEncoding = newPositional(registry);
        return new TransformerEncoder(config, () -> newAttention(registry), positionalEncoding, rng);
    }

    /**
     * A new causal decoder of this architecture over {@code vocabularySize} tokens (with cross-attention
     * by the same mechanism for an encoder-decoder model), its components created through {@code registry}.
     */
    public TransformerDecoder decoder(ComponentRegistry registry, int vocabularySize, boolean crossAttention,
                                      RandomGenerator rng) {
        DecoderConfig config = decoderConfig(vocabularySize, crossAttention);
        PositionalEncoding positionalEncoding = newPositional(registry);
        return new TransformerDecoder(config, () -> newAttention(registry),
                crossAttention ? () -> newAttention(registry) : null, positionalEncoding, rng);
    }

    /** Whether training draws random numbers in the network (residual or attention dropout, stochastic depth). */
    public boolean isStochastic() {
        return dropout > 0f || attentionDropout > 0f || dropPath > 0f;
    }

    /**
     * Every field as flat text entries {@value #METADATA_PREFIX}{@code <field>}, options as
     * {@value #METADATA_PREFIX}{@code attentionOptions.<key>}; {@link #fromMetadata} reads them back.
     */
    public Map<String, String> toMetadata() {
        return Hyperparameters.toText(this, METADATA_PREFIX);
    }

    /**
     * The architecture the {@value #METADATA_PREFIX} entries of {@code metadata} describe (other entries
     * are ignored), validated by {@link #postConfig()}.
     *
     * @throws IllegalArgumentException naming the missing, unknown or malformed entry, or the entry whose value is
     *                                  not valid and why
     */
    public static Architecture fromMetadata(Map<String, String> metadata) {
        Map<String, String> entries = new HashMap<>(metadata);
        ADDED_LATER.forEach(entries::putIfAbsent);
        return Hyperparameters.fromText(Architecture.class, entries, METADATA_PREFIX);
    }

    public String attention() {
        return attention;
    }

    public Map<String, String> attentionOptions() {
        return Map.copyOf(attentionOptions);
    }

    public String positional() {
        return positional;
    }

    public Map<String, String> positionalOptions() {
        return Map.copyOf(positionalOptions);
    }

    public int modelDim() {
        return modelDim;
    }

    public int heads() {
        return heads;
    }

    public int layers() {
        return layers;
    }

    /** The configured hidden size, 0 for 4 · modelDim; {@link #hiddenSize()} resolves it. */
    public int hidden() {
        return hidden;
    }

    public FeedForward.Activation activation() {
        return activation;
    }

    public NormKind norm() {
        return norm;
    }

    public NormPlacement normPlacement() {
        return normPlacement;
    }

    public boolean bias() {
        return bias;
    }

    public float dropout() {
        return dropout;
    }

    public float attentionDropout() {
        return attentionDropout;
    }

    public float dropPath() {
        return dropPath;
    }

    public int feedForwardChunkSize() {
        return feedForwardChunkSize;
    }

    public ActivationCheckpointing checkpointing() {
        return checkpointing;
    }

    public boolean reversible() {
        return reversible;
    }

    public TransformerEncoder.Pooling pooling() {
        return pooling;
    }

    public int numRegisterTokens() {
        return numRegisterTokens;
    }

    public boolean tiedEmbeddings() {
        return tiedEmbeddings;
    }

    /** The token selection blocks as configured, e.g. "1,3"; empty for none. */
    public String tokenSelectionLayers() {
        return tokenSelectionLayers;
    }

    public float keepRatio() {
        return keepRatio;
    }

    @Override
    public ConfiguredObjectProvenance getProvenance() {
        return new ConfiguredObjectProvenanceImpl(this, "Architecture");
    }

    /** Equal when every field is: the same entries in {@link #toMetadata()}. */
    @Override
    public boolean equals(Object o) {
        return o instanceof Architecture other && toMetadata().equals(other.toMetadata());
    }

    @Override
    public int hashCode() {
        return toMetadata().hashCode();
    }

    @Override
    public String toString() {
        StringBuilder out = new StringBuilder("Architecture(");
        toMetadata().forEach((key, value) -> out.append(out.length() > "Architecture(".length() ? "," : "")
                .append(key.substring(METADATA_PREFIX.length())).append('=').append(value));
        return out.append(')').toString();
    }

    /**
     * Builds an {@link Architecture} from code; each setter names the {@code @Config} field it sets,
     * and {@link #build()} checks them all with {@link Architecture#postConfig()}. One builder builds
     * one architecture.
     */
    public static final class Builder {
        private final Architecture architecture;
        private boolean built;

        private Builder(Architecture architecture) {
            this.architecture = architecture;
        }

        /** The attention mechanism by registry name, with its options. */
        public Builder attention(String name, Map<String, String> options) {
            architecture.attention = name;
            architecture.attentionOptions = options == null ? null : new HashMap<>(options);
            return this;
        }

        /** The positional encoding by registry name, with its options. */
        public Builder positional(String name, Map<String, String> options) {
            architecture.positional = name;
            architecture.positionalOptions = options == null ? null : new HashMap<>(options);
            return this;
        }

        public Builder modelDim(int value) {
            architecture.modelDim = value;
            return this;
        }

        public Builder heads(int value) {
            architecture.heads = value;
            return this;
        }

        public Builder layers(int value) {
            architecture.layers = value;
            return this;
        }

        public Builder hidden(int value) {
            architecture.hidden = value;
            return this;
        }

        public Builder activation(FeedForward.Activation value) {
            architecture.activation = value;
            return this;
        }

        public Builder norm(NormKind value) {
            architecture.norm = value;
            return this;
        }

        public Builder normPlacement(NormPlacement value) {
            architecture.normPlacement = value;
            return this;
        }

        public Builder bias(boolean value) {
            architecture.bias = value;
            return this;
        }

        public Builder dropout(float value) {
            architecture.dropout = value;
            return this;
        }

        public Builder attentionDropout(float value) {
            architecture.attentionDropout = value;
            return this;
        }

        public Builder dropPath(float value) {
            architecture.dropPath = value;
            return this;
        }

        public Builder checkpointing(ActivationCheckpointing value) {
            architecture.checkpointing = value;
            return this;
        }

        public Builder feedForwardChunkSize(int value) {
            architecture.feedForwardChunkSize = value;
            return this;
        }

        public Builder reversible(boolean value) {
            architecture.reversible = value;
            return this;
        }

        public Builder pooling(TransformerEncoder.Pooling value) {
            architecture.pooling = value;
            return this;
        }

        public Builder numRegisterTokens(int value) {
            architecture.numRegisterTokens = value;
            return this;
        }

        /** Token selection in the blocks {@code layers} (e.g. "1,3"), keeping {@code keepRatio} of the tokens. */
        public Builder tokenSelection(String layers, float keepRatio) {
            architecture.tokenSelectionLayers = layers;
            architecture.keepRatio = keepRatio;
            return this;
        }

        public Builder tiedEmbeddings(boolean value) {
            architecture.tiedEmbeddings = value;
            return this;
        }

        /**
         * The architecture, after {@link Architecture#postConfig()} has checked every field.
         *
         * @throws PropertyException naming the bad field
         * @throws IllegalStateException if this builder already built one
         */
        public Architecture build() {
            if (built) {
                throw new IllegalStateException("Architecture.Builder: build() was already called; one builder builds "
                        + "one architecture");
            }
            architecture.postConfig();
            built = true;
            return architecture;
        }
    }
}
