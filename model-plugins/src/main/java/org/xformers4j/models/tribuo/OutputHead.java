package org.xformers4j.models.tribuo;

import com.oracle.labs.mlrg.olcut.config.Configurable;
import com.oracle.labs.mlrg.olcut.provenance.ConfiguredObjectProvenance;
import com.oracle.labs.mlrg.olcut.provenance.Provenancable;
import java.util.List;
import org.tribuo.Example;
import org.tribuo.ImmutableOutputInfo;
import org.tribuo.Output;
import org.tribuo.Prediction;
import org.xformers4j.tensor.Tensor;

/**
 * The output half of a transformer trainer (the input half is {@link InputEncoder}): owns the
 * loss and turns the model's K outputs per example into Tribuo predictions.
 *
 * @param <T> the Tribuo output type
 */
public interface OutputHead<T extends Output<T>> extends Configurable, Provenancable<ConfiguredObjectProvenance> {

    /** Fits the head to the training outputs (their ids, and statistics where it needs them). */
    Fitted<T> fit(ImmutableOutputInfo<T> outputInfo);

    /** A head fitted to one output domain. */
    interface Fitted<T extends Output<T>> {

        /** K, the number of logits per example. */
        int numOutputs();

        /** The mean loss of {@code logits} [B, K] against the outputs of {@code batch}, a scalar. */
        Tensor loss(Tensor logits, List<? extends Example<T>> batch);

        /** One prediction per example of {@code batch} from {@code logits} [B, K], in order. */
        List<Prediction<T>> predictions(Tensor logits, List<? extends Example<T>> batch);
    }

    /** Checks that {@code logits} is [batch.size(), numOutputs] and returns its values. */
    static float[] checkedValues(String head, Tensor logits, int batchSize, int numOutputs) {
        if (logits.dim() != 2 || logits.size(0) != batchSize || logits.size(1) != numOutputs) {
            throw new IllegalArgumentException(head + ": logits must be [" + batchSize + ", " + numOutputs
                    + "] for a batch of " + batchSize + " and " + numOutputs + " outputs, got "
                    + java.util.Arrays.toString(logits.shape()));
        }
        return logits.toFloatArray();
    }
}
