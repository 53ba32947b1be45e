package org.xformers4j.models.tribuo;

import com.google.protobuf.Any;
import com.oracle.labs.mlrg.olcut.util.Pair;
import org.tribuo.Example;
import org.tribuo.Excuse;
import org.tribuo.ImmutableFeatureMap;
import org.tribuo.ImmutableOutputInfo;
import org.tribuo.Model;
import org.tribuo.Output;
import org.tribuo.Prediction;
import org.tribuo.protos.core.ModelProto;
import org.tribuo.provenance.ModelProvenance;
import org.xformers4j.models.nn.TransformerEncoder;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.tensor.GradMode;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A transformer trained by {@link TransformerTrainer}: an input encoder, a stack of transformer
 * blocks, a pooled vector and a linear layer to the K outputs an {@link OutputHead} turns into
 * Tribuo predictions. Works with Tribuo's evaluators unchanged.
 *
 * <p>Prediction runs in evaluation mode (dropout off) without autograd graphs
 * ({@link GradMode#noGrad()}), batched: {@link #predict(Iterable)} and {@link #predict(org.tribuo.Dataset)}
 * encode {@code batchSize} examples per forward pass.
 *
 * <p><b>Explanations</b> come from attention rollout (Abnar and Zuidema, 2020, "Quantifying
 * Attention Flow in Transformers"; see {@link org.xformers4j.models.nn.AttentionRollout}): the
 * share of the pooled vector that flows from each input token, mapped back to feature names by
 * {@link EncoderModule#tokenFeatures}. A feature token is its feature; an image patch's relevance is
 * spread evenly over the pixel features it is made of; a text token's relevance goes to its word,
 * summed over repeated words. The relevances of an example sum to 1. Rollout explains the pooled
 * vector, which every output reads, so it does not depend on the output: {@link #getExcuse} gives
 * every output the same list, and {@link #getTopFeatures} answers under {@link Model#ALL_OUTPUTS}.
 * {@link #getTopFeatures} ranks features by their mean relevance over the examples given when the
 * model was built (the first 1000 training examples). Rollout needs the weights each block's
 * attention applies ({@link org.xformers4j.models.nn.TransformerEncoder#reportsAttentionWeights()}): with a mechanism that
 * does not report them (a kernel or low-rank attention, LSH) the model has no explanations,
 * {@link #getExcuse} is empty and {@link #getTopFeatures} an empty map.
 *
 * <p><b>Serialization</b> is Tribuo's protobuf format: {@link #serialize()} gives a
 * {@link ModelProto} that {@link TribuoModelFiles#load(java.nio.file.Path, ComponentRegistry)},
 * {@link Model#deserialize}, {@link Model#deserializeFromFile} and {@link Model#deserializeFromStream}
 * read back into an equal model (identical predictions); see {@link TransformerModelSerializer} for
 * the layout, a {@code model.x4j} checkpoint inside Tribuo's message. Loading builds the network's
 * attention mechanisms and positional encoding by name: {@link TribuoModelFiles#load(java.nio.file.Path,
 * ComponentRegistry)} through the registry it is given, Tribuo's static methods (which pass no context)
 * through {@link ComponentRegistry#standalone()}, the providers on the class path, which inside an OSGi
 * framework may not see the installed bundles. There is no Java serialization: the network is
 * transient.
 *
 * <p>Immutable and thread-safe: the network is put in evaluation mode when the model is built and
 * never changed afterwards (no optimiser, no setter reaches it), and a forward pass in evaluation
 * mode without grad reads the weights only; grad mode is per thread. Any number of threads may
 * predict at once without a lock. {@link #copy()} shares the weights, which is safe for the same
 * reason.
 *
 * @param <T> the Tribuo output type
 */
public final class TransformerModel<T extends Output<T>> extends Model<T> {

    private static final long serialVersionUID = 1L;

    /**
     * The protobuf serialization version, recorded in {@link ModelProto#getVersion()}: 1 since the
     * model's data are a {@code model.x4j} checkpoint (version 0, a blob of its own, is refused).
     */
    public static final int CURRENT_VERSION = 1;

    private final transient TransformerNetwork network;
    private final transient OutputHead.Fitted<T> head;
    private final int batchSize;
    /** Feature name → mean rollout relevance over the examples the model was built with, most relevant first. */
    private final transient Map<String, Double> meanRelevance;

    /**
     * A model whose {@link #getTopFeatures} ranks features by their mean attention rollout relevance
     * over {@code examples} (the training examples), computed here, one forward pass per batch.
     */
    TransformerModel(String name, ModelProvenance provenance, ImmutableFeatureMap featureMap,
                     ImmutableOutputInfo<T> outputInfo, boolean generatesProbabilities, TransformerNetwork network,
                     OutputHead.Fitted<T> head, int batchSize, List<? extends Example<T>> examples) {
        this(name, provenance, featureMap, outputInfo, generatesProbabilities, network, head, batchSize,
                meanRelevance(network, examples, batchSize));
    }

    /** A model with the given mean relevances, for {@link #copy} and deserialization. */
    TransformerModel(String name, ModelProvenance provenance, ImmutableFeatureMap featureMap,
                     ImmutableOutputInfo<T> outputInfo, boolean generatesProbabilities, TransformerNetwork network,
                     OutputHead.Fitted<T> head, int batchSize, Map<String, Double> meanRelevance) {
        super(name, provenance, featureMap, outputInfo, generatesProbabilities);
        if (batchSize <= 0) {
            throw new IllegalArgumentException("TransformerModel: batchSize must be positive, got " + batchSize);
        }
        this.network = network;
        this.head = head;
        this.batchSize = batchSize;
        this.meanRelevance = Collections.unmodifiableMap(sortedByValue(meanRelevance));
        network.eval();
    }

    @Override
    public Prediction<T> predict(Example<T> example) {
        return predictBatch(List.of(example)).get(0);
    }

    /** Batched prediction, {@code batchSize} examples per forward pass; the order of {@code examples}. */
    @Override
    protected List<Prediction<T>> innerPredict(Iterable<Example<T>> examples) {
        List<Prediction<T>> out = new ArrayList<>();
        List<Example<T>> batch = new ArrayList<>();              // batchSize comes from the file: grow as needed
        for (Example<T> example : examples) {
            batch.add(example);
            if (batch.size() == batchSize) {
                out.addAll(predictBatch(batch));
                batch.clear();
            }
        }
        if (!batch.isEmpty()) {
            out.addAll(predictBatch(batch));
        }
        return out;
    }

    private List<Prediction<T>> predictBatch(List<Example<T>> batch) {
        try (GradMode.Scope scope = GradMode.noGrad()) {
            return head.predictions(network.forward(batch), batch);                         // logits [B, K]
        }
    }

    /**
     * The {@code n} features with the highest mean attention rollout relevance over the examples the
     * model was built with (all of them when {@code n < 0}), under {@link Model#ALL_OUTPUTS}: rollout
     * does not depend on the output. Empty when the model was built without examples.
     */
    @Override
    public Map<String, List<Pair<String, Double>>> getTopFeatures(int n) {
        if (meanRelevance.isEmpty()) {
            return Collections.emptyMap();
        }
        List<Pair<String, Double>> top = new ArrayList<>();
        for (Map.Entry<String, Double> e : meanRelevance.entrySet()) {
            if (n >= 0 && top.size() == n) {
                break;
            }
            top.add(new Pair<>(e.getKey(), e.getValue()));
        }
        return Map.of(ALL_OUTPUTS, top);
    }

    /**
     * The prediction for {@code example} with each feature's attention rollout relevance, most
     * relevant first, summing to 1; the same list for every output, as rollout explains the pooled
     * vector all outputs read. Empty when the attention does not report its weights.
     */
    @Override
    public Optional<Excuse<T>> getExcuse(Example<T> example) {
        if (!network.encoder().reportsAttentionWeights()) {
            return Optional.empty();
        }
        Prediction<T> prediction = predict(example);
        List<Pair<String, Double>> relevance = new ArrayList<>();
        for (Map.Entry<String, Double> e : sortedByValue(relevance(network, List.of(example)).get(0)).entrySet()) {
            relevance.add(new Pair<>(e.getKey(), e.getValue()));
        }
        Map<String, List<Pair<String, Double>>> perOutput = new LinkedHashMap<>();
        for (Pair<Integer, T> output : outputIDInfo) {
            perOutput.put(output.getB().getSerializableForm(false), relevance);
        }
        return Optional.of(new Excuse<>(example, prediction, perOutput));
    }

    /**
     * This model as Tribuo's protobuf: {@link #CURRENT_VERSION}, this class's name, and the data
     * described in {@link TransformerModelSerializer}.
     */
    @Override
    public ModelProto serialize() {
        return TransformerModelSerializer.serialize(this, createDataCarrier().serialize());
    }

    /**
     * Called reflectively by Tribuo's {@code ProtoUtil.deserialize} for {@link Model#deserialize}, which
     * passes no registry: the components are created through {@link ComponentRegistry#standalone()}.
     */
    @SuppressWarnings("unused")
    private static TransformerModel<?> deserializeFromProto(int version, String className, Any message) {
        return TransformerModelSerializer.deserialize(version, className, message, ComponentRegistry.standalone());
    }

    /** The model {@code proto} holds, its components created through {@code registry}. */
    static TransformerModel<?> deserialize(ModelProto proto, ComponentRegistry registry) {
        return TransformerModelSerializer.deserialize(proto.getVersion(), proto.getClassName(),
                proto.getSerializedData(), registry);
    }

    @Override
    protected TransformerModel<T> copy(String newName, ModelProvenance newProvenance) {
        return new TransformerModel<>(newName, newProvenance, featureIDMap, outputIDInfo, generatesProbabilities,
                network, head, batchSize, meanRelevance);
    }

    TransformerNetwork network() {
        return network;
    }

    /**
     * The network's transformer encoder, for inspection (attention maps: {@link
     * TransformerEncoder#attentionWeights}); it is the model's own, so changing it changes the model.
     */
    public TransformerEncoder encoder() {
        return network.encoder();
    }

    /** The network's input encoder, which makes an example's tokens for {@link #encoder()}; the model's own. */
    public EncoderModule inputEncoder() {
        return network.input();
    }

    int batchSize() {
        return batchSize;
    }

    Map<String, Double> meanRelevance() {
        return meanRelevance;
    }

    /** Per example of {@code batch}, feature name → rollout relevance (a patch's spread over its pixels). */
    private static List<Map<String, Double>> relevance(TransformerNetwork network, List<? extends Example<?>> batch) {
        double[][] tokens;
        try (GradMode.Scope scope = GradMode.noGrad()) {
            tokens = network.relevance(batch);                                               // [B][T]
        }
        List<Map<String, Double>> out = new ArrayList<>(batch.size());
        for (int b = 0; b < batch.size(); b++) {
            List<List<String>> features = network.input().tokenFeatures(batch.get(b));
            Map<String, Double> byName = new HashMap<>();
            for (int t = 0; t < features.size(); t++) {
                for (String name : features.get(t)) {
                    byName.merge(name, tokens[b][t] / features.get(t).size(), Double::sum);
                }
            }
            out.add(byName);
        }
        return out;
    }

    private static Map<String, Double> meanRelevance(TransformerNetwork network, List<? extends Example<?>> examples,
                                                     int batchSize) {
        network.eval();
        Map<String, Double> sum = new HashMap<>();
        if (!network.encoder().reportsAttentionWeights()) {
            return sum;
        }
        for (int from = 0; from < examples.size(); from += batchSize) {
            for (Map<String, Double> r : relevance(network, examples.subList(from, Math.min(from + batchSize,
                    examples.size())))) {
                r.forEach((name, value) -> sum.merge(name, value, Double::sum));
            }
        }
        sum.replaceAll((name, value) -> value / examples.size());
        return sum;
    }

    /** The entries by decreasing value, ties by name. */
    private static Map<String, Double> sortedByValue(Map<String, Double> values) {
        List<Map.Entry<String, Double>> entries = new ArrayList<>(values.entrySet());
        entries.sort(Map.Entry.<String, Double>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()));
        Map<String, Double> out = new LinkedHashMap<>();
        entries.forEach(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }
}
