package org.xformers4j.models.tribuo;

import com.oracle.labs.mlrg.olcut.util.Pair;
import org.tribuo.Example;
import org.tribuo.Excuse;
import org.tribuo.ImmutableFeatureMap;
import org.tribuo.ImmutableOutputInfo;
import org.tribuo.Model;
import org.tribuo.Output;
import org.tribuo.Prediction;
import org.tribuo.provenance.ModelProvenance;
import org.xformers4j.tensor.GradMode;

import java.util.ArrayList;
import java.util.Collections;
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
 * <p>Immutable and thread-safe: the network is put in evaluation mode when the model is built and
 * never changed afterwards (no optimiser, no setter reaches it), and a forward pass in evaluation
 * mode without grad reads the weights only; grad mode is per thread. Any number of threads may
 * predict at once without a lock. {@link #copy()} shares the weights, which is safe for the same
 * reason.
 *
 * <p>Not yet implemented: {@link #getTopFeatures(int)} returns an empty map and
 * {@link #getExcuse(Example)} returns {@link Optional#empty()}; both will come from attention
 * (average attention, and attention rollout of Abnar and Zuidema, 2020, "Quantifying Attention Flow
 * in Transformers", mapped back to feature names). Protobuf {@link #serialize()} is not implemented
 * either: it keeps {@link Model}'s default, which throws {@link UnsupportedOperationException}.
 *
 * @param <T> the Tribuo output type
 */
public final class TransformerModel<T extends Output<T>> extends Model<T> {

    private static final long serialVersionUID = 1L;

    private final transient TransformerNetwork network;
    private final transient OutputHead.Fitted<T> head;
    private final int batchSize;

    TransformerModel(String name, ModelProvenance provenance, ImmutableFeatureMap featureMap,
                     ImmutableOutputInfo<T> outputInfo, boolean generatesProbabilities, TransformerNetwork network,
                     OutputHead.Fitted<T> head, int batchSize) {
        super(name, provenance, featureMap, outputInfo, generatesProbabilities);
        if (batchSize <= 0) {
            throw new IllegalArgumentException("TransformerModel: batchSize must be positive, got " + batchSize);
        }
        this.network = network;
        this.head = head;
        this.batchSize = batchSize;
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
        List<Example<T>> batch = new ArrayList<>(batchSize);
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

    /** Not yet implemented (attention-based importances come next): an empty map. */
    @Override
    public Map<String, List<Pair<String, Double>>> getTopFeatures(int n) {
        return Collections.emptyMap();
    }

    /** Not yet implemented (attention rollout comes next): {@link Optional#empty()}. */
    @Override
    public Optional<Excuse<T>> getExcuse(Example<T> example) {
        return Optional.empty();
    }

    @Override
    protected TransformerModel<T> copy(String newName, ModelProvenance newProvenance) {
        return new TransformerModel<>(newName, newProvenance, featureIDMap, outputIDInfo, generatesProbabilities,
                network, head, batchSize);
    }
}
