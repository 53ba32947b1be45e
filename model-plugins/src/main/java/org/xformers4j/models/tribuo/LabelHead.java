package org.xformers4j.models.tribuo;

import com.oracle.labs.mlrg.olcut.provenance.ConfiguredObjectProvenance;
import com.oracle.labs.mlrg.olcut.provenance.impl.ConfiguredObjectProvenanceImpl;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tribuo.Example;
import org.tribuo.ImmutableOutputInfo;
import org.tribuo.Prediction;
import org.tribuo.classification.Label;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.Tensor;

/**
 * Multi-class classification: softmax cross-entropy over one logit per label (label id k is logit
 * k), and predictions carrying the probability of every label. Example weights are not applied.
 */
public final class LabelHead implements OutputHead<Label> {

    /** Softmax cross-entropy; nothing to configure. */
    public LabelHead() {
    }

    @Override
    public OutputHead.Fitted<Label> fit(ImmutableOutputInfo<Label> outputInfo) {
        return new Fitted(outputInfo);
    }

    @Override
    public ConfiguredObjectProvenance getProvenance() {
        return new ConfiguredObjectProvenanceImpl(this, "OutputHead");
    }

    private static final class Fitted implements OutputHead.Fitted<Label> {

        private final ImmutableOutputInfo<Label> outputInfo;
        private final String[] names;

        Fitted(ImmutableOutputInfo<Label> outputInfo) {
            this.outputInfo = outputInfo;
            this.names = new String[outputInfo.size()];
            for (int k = 0; k < names.length; k++) {
                names[k] = outputInfo.getOutput(k).getLabel();
            }
        }

        @Override
        public int numOutputs() {
            return names.length;
        }

        @Override
        public Tensor loss(Tensor logits, List<? extends Example<Label>> batch) {
            int[] targets = new int[batch.size()];
            for (int b = 0; b < targets.length; b++) {
                Label label = batch.get(b).getOutput();
                targets[b] = outputInfo.getID(label);
                if (targets[b] < 0) {
                    throw new IllegalArgumentException("LabelHead: example " + b + " has label '" + label.getLabel()
                            + "', which is not among the " + names.length + " training labels");
                }
            }
            OutputHead.checkedValues("LabelHead", logits, batch.size(), names.length);
            return Functional.crossEntropy(logits, targets);
        }

        @Override
        public List<Prediction<Label>> predictions(Tensor logits, List<? extends Example<Label>> batch) {
            int k = names.length;
            OutputHead.checkedValues("LabelHead", logits, batch.size(), k);
            float[] probabilities = logits.softmax(-1).toFloatArray(); // [B, K]
            List<Prediction<Label>> out = new ArrayList<>(batch.size());
            for (int b = 0; b < batch.size(); b++) {
                Map<String, Label> scores = new LinkedHashMap<>();
                int best = 0;
                for (int j = 0; j < k; j++) {
                    scores.put(names[j], new Label(names[j], probabilities[b * k + j]));
                    best = probabilities[b * k + j] > probabilities[b * k + best] ? j : best;
                }
                Example<Label> example = batch.get(b);
                out.add(new Prediction<>(scores.get(names[best]), scores, example.size(), example, true));
            }
            return out;
        }
    }
}
