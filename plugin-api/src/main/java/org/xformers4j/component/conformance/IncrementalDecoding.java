package org.xformers4j.component.conformance;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.nn.KvCache;
import org.xformers4j.nn.MultiHeadAttention;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * {@code incremental-decoding}: through a {@link MultiHeadAttention} layer, feeding a sequence as
 * a prompt of {@value #PROMPT} tokens and then one token at a time with a {@link KvCache} gives the
 * outputs of one causal pass over the whole sequence, to within {@value #TOLERANCE}·(1 + |output|).
 */
final class IncrementalDecoding implements AttentionCheck {

    static final int PROMPT = 3;
    static final double TOLERANCE = 1e-5;

    @Override
    public String name() {
        return "incremental-decoding";
    }

    @Override
    public boolean appliesTo(Subject subject) {
        return subject.capabilities().incrementalDecoding() && subject.capabilities().causal();
    }

    @Override
    public Verdict run(Subject subject) {
        int modelDim = Problem.HEADS * Problem.HEAD_DIM;
        MultiHeadAttention layer = new MultiHeadAttention(modelDim, Problem.HEADS, subject.configure(Map.of()), null,
                true, new SplittableRandom(SEED + 6));
        layer.eval();
        AttentionContext causal = AttentionContext.builder().causal(true).build();
        Tensor x = Tensor.randn(new SplittableRandom(SEED + 7), Problem.BATCH, Problem.LENGTH, modelDim);
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            float[] whole = layer.forward(x, causal).toFloatArray();
            KvCache cache = new KvCache();
            List<Tensor> steps = new ArrayList<>();
            steps.add(layer.forward(x.narrow(1, 0, PROMPT), causal, cache));
            for (int t = PROMPT; t < Problem.LENGTH; t++) {
                steps.add(layer.forward(x.narrow(1, t, 1), causal, cache));
            }
            float[] incremental = Tensor.concat(1, steps.toArray(Tensor[]::new)).toFloatArray();
            double worst = 0;
            for (int e = 0; e < whole.length; e++) {
                double error = Math.abs((double) whole[e] - incremental[e]) / (1 + Math.abs(whole[e]));
                worst = Double.isNaN(error) ? Double.POSITIVE_INFINITY : Math.max(worst, error);
            }
            return Verdict.within("prompt of " + PROMPT + " then " + (Problem.LENGTH - PROMPT) + " single tokens with "
                    + "a KvCache against one causal pass, relative", worst, TOLERANCE);
        }
    }
}
