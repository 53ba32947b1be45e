package org.xformers4j.component.conformance;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
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
        Tensor x = Tensor.randn(new SplittableRandom(SEED + 7), Problem.BATCH, Problem.LENGTH, modelDim);
        return Verdict.within(description(Problem.LENGTH), worstError(layer, x, (tokens, offset) -> tokens),
                TOLERANCE);
    }

    /** What {@link #worstError} compares, for a sequence of {@code length} tokens. */
    static String description(int length) {
        return "prompt of " + PROMPT + " then " + (length - PROMPT) + " single tokens with a KvCache against one "
                + "causal pass, relative";
    }

    /**
     * The largest {@code |whole - incremental| / (1 + |whole|)} between one causal pass of
     * {@code layer} (in evaluation mode, without a graph) over {@code x} [batch, length, modelDim]
     * and a prompt of {@value #PROMPT} tokens followed by single tokens through a {@link KvCache};
     * {@code embed} turns each piece of tokens into the layer's input at its offset (position
     * information added by an encoding's hook 1, or the tokens themselves).
     */
    static double worstError(MultiHeadAttention layer, Tensor x, BiFunction<Tensor, Integer, Tensor> embed) {
        layer.eval();
        AttentionContext causal = AttentionContext.builder().causal(true).build();
        int length = x.size(1);
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            float[] whole = layer.selfAttention(embed.apply(x, 0), causal).toFloatArray();
            KvCache cache = new KvCache();
            List<Tensor> steps = new ArrayList<>();
            steps.add(layer.selfAttentionStep(embed.apply(x.narrow(1, 0, PROMPT), 0), causal, cache));
            for (int t = PROMPT; t < length; t++) {
                steps.add(layer.selfAttentionStep(embed.apply(x.narrow(1, t, 1), t), causal, cache));
            }
            float[] incremental = Tensor.concat(1, steps.toArray(Tensor[]::new)).toFloatArray();
            return Values.maxRelativeError(whole, incremental);
        }
    }
}
