package org.xformers4j.models.tribuo;

import com.oracle.labs.mlrg.olcut.provenance.ConfiguredObjectProvenance;
import com.oracle.labs.mlrg.olcut.provenance.impl.ConfiguredObjectProvenanceImpl;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.tribuo.Example;
import org.tribuo.ImmutableOutputInfo;
import org.tribuo.Prediction;
import org.tribuo.classification.Label;
import org.tribuo.multilabel.MultiLabel;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.Tensor;

/**
 * Multi-label classification: one independent sigmoid per label (label id k is logit k), binary
 * cross-entropy with logits, and predictions whose set holds every label of probability at least
 * {@value #THRESHOLD}; the output scores give every label's probability, as Tribuo's multi-label
 * models do. Example weights are not applied.
 */
public final class MultiLabelHead implements OutputHead<MultiLabel> {

    /** A label is predicted when its probability is at least this. */
    public static final double THRESHOLD = 0.5;

    /** Sigmoid binary cross-entropy; nothing to configure. */
    public MultiLabelHead() {
    }

    @Override
    public OutputHead.Fitted<MultiLabel> fit(ImmutableOutputInfo<MultiLabel> outputInfo) {
        return new Fitted(outputInfo);
    }

    @Override
    public ConfiguredObjectProvenance getProvenance() {
        return new ConfiguredObjectProvenanceImpl(this, "OutputHead");
    }

    private static final class Fitted implements OutputHead.Fitted<MultiLabel> {

        private final String[] names;

        Fitted(ImmutableOutputInfo<MultiLabel> outputInfo) {
            names = new String[outputInfo.size()];
            for (int k = 0; k < names.length; k++) {
                names[k] = outputInfo.getOutput(k).getLabelString();
            }
        }

        @Override
        public int numOutputs() {
            return names.length;
        }

        @Override
        public Tensor loss(Tensor logits, List<? extends Example<MultiLabel>> batch) {
            int k = names.length;
            OutputHead.checkedValues("MultiLabelHead", logits, batch.size(), k);
            float[] targets = new float[batch.size() * k]; // [B, K], 1 where the example has label k
            for (int b = 0; b < batch.size(); b++) {
                MultiLabel y = batch.get(b).getOutput();
                for (int j = 0; j < k; j++) {
                    targets[b * k + j] = y.contains(names[j]) ? 1f : 0f;
                }
            }
            return Functional.binaryCrossEntropyWithLogits(logits,
                    Tensor.of(logits.backend(), targets, batch.size(), k));
        }

        @Override
        public List<Prediction<MultiLabel>> predictions(Tensor logits, List<? extends Example<MultiLabel>> batch) {
            int k = names.length;
            OutputHead.checkedValues("MultiLabelHead", logits, batch.size(), k);
            float[] probabilities = logits.sigmoid().toFloatArray();
            List<Prediction<MultiLabel>> out = new ArrayList<>(batch.size());
            for (int b = 0; b < batch.size(); b++) {
                Map<String, MultiLabel> scores = new LinkedHashMap<>();
                Set<Label> predicted = new HashSet<>();
                for (int j = 0; j < k; j++) {
                    Label label = new Label(names[j], probabilities[b * k + j]);
                    scores.put(names[j], new MultiLabel(label));
                    if (label.getScore() >= THRESHOLD) {
                        predicted.add(label);
                    }
                }
                Example<MultiLabel> example = batch.get(b);
                out.add(new Prediction<>(new MultiLabel(predicted), scores, example.size(), example, true));
            }
            return out;
        }
    }
}
