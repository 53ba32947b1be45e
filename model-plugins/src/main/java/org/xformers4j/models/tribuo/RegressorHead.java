package org.xformers4j.models.tribuo;

import com.oracle.labs.mlrg.olcut.provenance.ConfiguredObjectProvenance;
import com.oracle.labs.mlrg.olcut.provenance.impl.ConfiguredObjectProvenanceImpl;
import java.util.ArrayList;
import java.util.List;
import org.tribuo.Example;
import org.tribuo.ImmutableOutputInfo;
import org.tribuo.Prediction;
import org.tribuo.regression.ImmutableRegressionInfo;
import org.tribuo.regression.Regressor;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.Tensor;

/**
 * Regression with one or more dimensions: mean squared error, one logit per dimension (dimension
 * id k is logit k).
 *
 * <p>Targets are standardised with the training statistics Tribuo's {@link ImmutableRegressionInfo}
 * holds, {@code ỹ_k = (y_k - μ_k) / σ_k} (σ_k = 1 for a constant dimension), so the loss is on a
 * unit scale whatever the units; predictions undo it, {@code y_k = logit_k · σ_k + μ_k}. Example
 * weights are not applied.
 */
public final class RegressorHead implements OutputHead<Regressor> {

    /** Squared error; nothing to configure. */
    public RegressorHead() {
    }

    @Override
    public OutputHead.Fitted<Regressor> fit(ImmutableOutputInfo<Regressor> outputInfo) {
        if (!(outputInfo instanceof ImmutableRegressionInfo info)) {
            throw new IllegalArgumentException("RegressorHead: expected an ImmutableRegressionInfo, got "
                    + outputInfo.getClass().getName());
        }
        return new Fitted(info);
    }

    @Override
    public ConfiguredObjectProvenance getProvenance() {
        return new ConfiguredObjectProvenanceImpl(this, "OutputHead");
    }

    private static final class Fitted implements OutputHead.Fitted<Regressor> {

        private final String[] names;
        private final double[] mean;
        private final double[] std;

        Fitted(ImmutableRegressionInfo info) {
            int k = info.size();
            names = new String[k];
            mean = new double[k];
            std = new double[k];
            for (int j = 0; j < k; j++) {
                names[j] = info.getOutput(j).getNames()[0];
                mean[j] = info.getMean(j);
                double variance = info.getVariance(j);
                std[j] = variance > 1e-12 ? Math.sqrt(variance) : 1.0;
            }
        }

        @Override
        public int numOutputs() {
            return names.length;
        }

        @Override
        public Tensor loss(Tensor logits, List<? extends Example<Regressor>> batch) {
            int k = names.length;
            OutputHead.checkedValues("RegressorHead", logits, batch.size(), k);
            float[] targets = new float[batch.size() * k];
            for (int b = 0; b < batch.size(); b++) {
                Regressor y = batch.get(b).getOutput();
                for (int j = 0; j < k; j++) {
                    int row = b;
                    int dim = j;
                    double value = y.getDimension(names[j]).orElseThrow(() -> new IllegalArgumentException(
                            "RegressorHead: example " + row + " has no dimension '" + names[dim] + "' (it has "
                                    + String.join(", ", y.getNames()) + ")")).getValue();
                    targets[b * k + j] = (float) ((value - mean[j]) / std[j]);
                }
            }
            return Functional.mseLoss(logits, Tensor.of(logits.backend(), targets, batch.size(), k));
        }

        @Override
        public List<Prediction<Regressor>> predictions(Tensor logits, List<? extends Example<Regressor>> batch) {
            int k = names.length;
            float[] values = OutputHead.checkedValues("RegressorHead", logits, batch.size(), k);
            List<Prediction<Regressor>> out = new ArrayList<>(batch.size());
            for (int b = 0; b < batch.size(); b++) {
                double[] y = new double[k];
                for (int j = 0; j < k; j++) {
                    y[j] = values[b * k + j] * std[j] + mean[j];
                }
                Example<Regressor> example = batch.get(b);
                out.add(new Prediction<>(new Regressor(names, y), example.size(), example));
            }
            return out;
        }
    }
}
