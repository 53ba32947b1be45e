package org.xformers4j.component.conformance;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.nn.MultiHeadAttention;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * {@code pairs-with-every-mechanism}: with every attention mechanism, both in their default
 * configurations, a {@link MultiHeadAttention} layer either works or refuses the pair when it is
 * built. When the mechanism accepts the encoding's hooks (a bias needs {@code additiveBias}), the
 * layer is built and a forward pass over embeddings passed through hook 1 (when declared), causal
 * when the mechanism supports it, over a grid of the tokens when it requires one, gives a finite
 * [batch, length, modelDim] output, or, for a mechanism that is never causal, an
 * {@link IllegalArgumentException} of the encoding that names itself and the causal context it
 * needs (alibi's default causal form). Otherwise the constructor must throw
 * {@link IllegalArgumentException} whose message names both components in quotes, e.g.
 * {@code 'alibi'} and {@code 'lsh'}.
 */
final class PairsWithEveryMechanism implements PositionalCheck {

    @Override
    public String name() {
        return "pairs-with-every-mechanism";
    }

    @Override
    public boolean appliesTo(PositionalSubject subject) {
        return !subject.mechanisms().isEmpty();
    }

    @Override
    public Verdict run(PositionalSubject subject) {
        Tensor tokens = Tensor.randn(new SplittableRandom(SEED), BATCH, LENGTH, MODEL_DIM);
        List<String> ran = new ArrayList<>();
        List<String> refused = new ArrayList<>();
        List<String> nonCausalRefused = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (ComponentProvider<?> provider : subject.mechanisms()) {
            String mechanismName = PositionalSubject.name(provider);
            AttentionCapabilities capabilities = PositionalSubject.capabilitiesOf(provider);
            boolean pairs = subject.pairsWith(capabilities);
            PositionalEncoding encoding = subject.create();
            MultiHeadAttention layer;
            try {
                layer = new MultiHeadAttention(MODEL_DIM, HEADS, (AttentionMechanism) provider.create(Map.of()),
                        encoding, true, new SplittableRandom(SEED + 1));
            } catch (IllegalArgumentException e) {
                String message = String.valueOf(e.getMessage());
                if (pairs) {
                    problems.add(mechanismName + ": refused at construction although it accepts " + subject.hooks()
                            + ": " + message);
                } else if (message.contains("'" + subject.name() + "'") && message.contains("'" + mechanismName + "'")) {
                    refused.add(mechanismName);
                } else {
                    problems.add(mechanismName + ": refused at construction, but the message does not name both '"
                            + subject.name() + "' and '" + mechanismName + "': " + message);
                }
                continue;
            }
            if (!pairs) {
                problems.add(mechanismName + ": the layer was built, but the mechanism takes no additive bias "
                        + "(additiveBias is false) and the encoding produces one; expected an IllegalArgumentException "
                        + "naming both at construction");
                continue;
            }
            AttentionContext context = AttentionContext.builder().causal(capabilities.causal())
                    .grid(Problem.grid(capabilities, LENGTH)).build();
            float[] out;
            int[] shape;
            try (GradMode.Scope ignored = GradMode.noGrad()) {
                Tensor y = layer.selfAttention(subject.embed(encoding, tokens, 0), context);
                out = y.toFloatArray();
                shape = y.shape();
            } catch (IllegalArgumentException e) {
                // an encoding of a causal form (alibi's default) may refuse the context of a mechanism that is never causal
                if (!capabilities.causal() && String.valueOf(e.getMessage()).startsWith(subject.name() + ":")
                        && e.getMessage().contains("causal")) {
                    nonCausalRefused.add(mechanismName);
                } else {
                    problems.add(mechanismName + ": the layer was built, but its forward pass threw " + e);
                }
                continue;
            } catch (RuntimeException e) {
                problems.add(mechanismName + ": the layer was built, but its forward pass threw " + e);
                continue;
            }
            int[] expected = {BATCH, LENGTH, MODEL_DIM};
            int bad = Values.firstNonFinite(out, false);
            if (!Arrays.equals(shape, expected)) {
                problems.add(mechanismName + ": output " + Arrays.toString(shape) + ", expected "
                        + Arrays.toString(expected));
            } else if (bad >= 0) {
                problems.add(mechanismName + ": output element " + bad + " is " + out[bad]);
            } else {
                ran.add(mechanismName);
            }
        }
        if (!problems.isEmpty()) {
            return Verdict.fail(String.join("; ", problems));
        }
        return Verdict.pass("finite " + Arrays.toString(new int[] {BATCH, LENGTH, MODEL_DIM}) + " outputs of a "
                + "MultiHeadAttention layer with " + (ran.isEmpty() ? "no mechanism" : String.join(", ", ran))
                + (refused.isEmpty() ? "" : "; refused at construction, naming both: " + String.join(", ", refused)
                        + " (no additiveBias)")
                + (nonCausalRefused.isEmpty() ? "" : "; the non-causal context of " + String.join(", ", nonCausalRefused)
                        + " refused by the encoding, naming itself"));
    }
}
