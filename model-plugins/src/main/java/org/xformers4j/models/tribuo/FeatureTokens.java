package org.xformers4j.models.tribuo;

import com.oracle.labs.mlrg.olcut.provenance.ConfiguredObjectProvenance;
import com.oracle.labs.mlrg.olcut.provenance.impl.ConfiguredObjectProvenanceImpl;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.random.RandomGenerator;
import org.tribuo.Example;
import org.tribuo.Feature;
import org.tribuo.ImmutableFeatureMap;
import org.xformers4j.nn.Init;
import org.xformers4j.tensor.Tensor;

/**
 * One token per feature of the feature map, the feature tokenizer of the FT-Transformer
 * (Gorishniy et al., 2021, "Revisiting Deep Learning Models for Tabular Data"), so every tabular
 * Tribuo dataset can be read by a transformer.
 *
 * <p>For feature j with standardised value x̃_j the token is {@code x̃_j · W_j + b_j}, with W and b
 * learned [numFeatures, D], initialised U(-1/√D, 1/√D) as in the paper. Tokens follow the feature
 * map's id order.
 *
 * <ul>
 *   <li><b>Missing features.</b> Tribuo examples are sparse: a feature an example does not hold has
 *   value 0, both when the statistics are computed and when the example is encoded. Features not in
 *   the training feature map are ignored.</li>
 *   <li><b>Categories.</b> A categorical column read through Tribuo's {@code IdentityProcessor}
 *   ({@code train --categorical}) gives one feature {@code column@value} of value 1 per value seen,
 *   so each value is one token, standardised like any feature: its presence against its
 *   frequency.</li>
 *   <li><b>Standardisation.</b> {@code x̃_j = (x_j - μ_j) / σ_j} with the mean and the (population)
 *   standard deviation of feature j over the training examples, computed once by {@link #fit};
 *   a constant feature gets σ_j = 1.</li>
 * </ul>
 */
public final class FeatureTokens implements InputEncoder {

    /** One token per feature; nothing to configure. */
    public FeatureTokens() {
    }

    @Override
    public EncoderModule fit(ImmutableFeatureMap featureMap, List<? extends Example<?>> examples, int modelDim,
                             RandomGenerator rng) {
        int numFeatures = featureMap.size();
        if (numFeatures == 0) {
            throw new IllegalArgumentException("FeatureTokens: the feature map is empty");
        }
        if (examples.isEmpty()) {
            throw new IllegalArgumentException("FeatureTokens: no training examples to compute feature statistics from");
        }
        double[] sum = new double[numFeatures];
        double[] sumSquares = new double[numFeatures];
        for (Example<?> example : examples) {
            for (Feature f : example) {
                int id = featureMap.getID(f.getName());
                if (id >= 0) {
                    sum[id] += f.getValue();
                    sumSquares[id] += f.getValue() * f.getValue();
                }
            }
        }
        float[] mean = new float[numFeatures];
        float[] std = new float[numFeatures];
        int n = examples.size();
        for (int j = 0; j < numFeatures; j++) {
            double mu = sum[j] / n;
            double variance = Math.max(0.0, sumSquares[j] / n - mu * mu);
            mean[j] = (float) mu;
            std[j] = variance > 1e-12 ? (float) Math.sqrt(variance) : 1f;
        }
        return new Module(featureMap, mean, std, modelDim, rng);
    }

    /**
     * Reads the means and standard deviations the module's {@link EncoderModule#state} gave: entries
     * {@code mean} and {@code std}, one float per feature of {@code featureMap} each, comma-separated.
     */
    @Override
    public EncoderModule restore(ImmutableFeatureMap featureMap, int modelDim, Map<String, String> state,
                                 RandomGenerator rng) {
        if (!state.keySet().equals(Set.of("mean", "std"))) {
            throw new IllegalArgumentException("FeatureTokens: the saved state must have the entries mean and std, "
                    + "got " + new TreeSet<>(state.keySet()));
        }
        float[] mean = floats("mean", state.get("mean"), featureMap.size());
        float[] std = floats("std", state.get("std"), featureMap.size());
        for (int j = 0; j < std.length; j++) {
            if (!(std[j] > 0f) || !Float.isFinite(std[j]) || !Float.isFinite(mean[j])) {
                throw new IllegalArgumentException("FeatureTokens: saved feature " + j + " has mean " + mean[j]
                        + " and std " + std[j] + "; the std must be finite and positive");
            }
        }
        return new Module(featureMap, mean, std, modelDim, rng);
    }

    /** The {@code count} comma-separated floats of entry {@code key}. */
    private static float[] floats(String key, String text, int count) {
        long separators = text.chars().filter(c -> c == ',').count();
        if (separators != count - 1L) {
            throw new IllegalArgumentException("FeatureTokens: the saved " + key + " has " + (separators + 1)
                    + " values, the feature map " + count + " features");
        }
        String[] values = text.split(",", -1);
        float[] out = new float[count];
        for (int j = 0; j < count; j++) {
            try {
                out[j] = Float.parseFloat(values[j]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("FeatureTokens: the saved " + key + " of feature " + j + " is '"
                        + values[j] + "', not a number", e);
            }
        }
        return out;
    }

    @Override
    public ConfiguredObjectProvenance getProvenance() {
        return new ConfiguredObjectProvenanceImpl(this, "InputEncoder");
    }

    @Override
    public String toString() {
        return "FeatureTokens()";
    }

    /** The fitted tokenizer: statistics and the per-feature weight and bias. */
    static final class Module extends EncoderModule {

        private final ImmutableFeatureMap featureMap;
        private final float[] mean;
        private final float[] std;
        private final int modelDim;
        private final Tensor weight;
        private final Tensor bias;

        Module(ImmutableFeatureMap featureMap, float[] mean, float[] std, int modelDim, RandomGenerator rng) {
            if (modelDim <= 0) {
                throw new IllegalArgumentException("FeatureTokens: modelDim must be positive, got " + modelDim);
            }
            this.featureMap = featureMap;
            this.mean = mean;
            this.std = std;
            this.modelDim = modelDim;
            float bound = (float) (1.0 / Math.sqrt(modelDim));
            this.weight = registerParameter("weight", Init.uniform(rng, -bound, bound, mean.length, modelDim));
            this.bias = registerParameter("bias", Init.uniform(rng, -bound, bound, mean.length, modelDim), false);
        }

        /** The standardised values of {@code batch}, [B, F]: missing features are 0 before standardisation. */
        Tensor standardised(List<? extends Example<?>> batch) {
            int numFeatures = mean.length;
            float[] x = new float[batch.size() * numFeatures];
            for (int b = 0; b < batch.size(); b++) {
                int row = b * numFeatures;
                for (int j = 0; j < numFeatures; j++) {
                    x[row + j] = -mean[j] / std[j];
                }
                for (Feature f : batch.get(b)) {
                    int id = featureMap.getID(f.getName());
                    if (id >= 0) {
                        x[row + id] = (float) ((f.getValue() - mean[id]) / std[id]);
                    }
                }
            }
            return Tensor.of(weight.backend(), x, batch.size(), numFeatures);
        }

        @Override
        public Tokens forward(List<? extends Example<?>> batch) {
            Tensor x = standardised(batch);                       // [B, F]
            Tensor tokens = x.unsqueeze(2).mul(weight).add(bias); // [B, F, 1] * [F, D] + [F, D] -> [B, F, D]
            return new Tokens(tokens, null);
        }

        @Override
        public int maxTokens() {
            return mean.length;
        }

        @Override
        public int modelDim() {
            return modelDim;
        }

        /** Token j is the feature with id j. */
        @Override
        public List<List<String>> tokenFeatures(Example<?> example) {
            List<List<String>> out = new ArrayList<>(mean.length);
            for (int j = 0; j < mean.length; j++) {
                out.add(List.of(featureMap.get(j).getName()));
            }
            return out;
        }

        /** The features' means and standard deviations, comma-separated in feature id order. */
        @Override
        public Map<String, String> state() {
            return Map.of("mean", join(mean), "std", join(std));
        }

        private static String join(float[] values) {
            StringBuilder out = new StringBuilder();
            for (float v : values) {
                out.append(out.length() == 0 ? "" : ",").append(v);
            }
            return out.toString();
        }

        Tensor weight() {
            return weight;
        }

        Tensor bias() {
            return bias;
        }
    }
}
