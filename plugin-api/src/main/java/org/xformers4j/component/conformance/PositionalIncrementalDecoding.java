package org.xformers4j.component.conformance;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.nn.KvCache;
import org.xformers4j.nn.MultiHeadAttention;
import org.xformers4j.tensor.Tensor;

/**
 * {@code incremental-decoding}, for encodings with at least one hook: in a
 * {@link MultiHeadAttention} layer with each mechanism that decodes incrementally and causally and
 * accepts the encoding's hooks, a prompt then single tokens through a {@link KvCache} (each piece
 * through hook 1 at its offset when declared; hooks 2 and 3 at the cached length, as the layer
 * calls them) give the outputs of one causal pass; see {@link IncrementalDecoding}.
 */
final class PositionalIncrementalDecoding implements PositionalCheck {

    @Override
    public String name() {
        return "incremental-decoding";
    }

    @Override
    public boolean appliesTo(PositionalSubject subject) {
        return subject.hasHooks() && !decoders(subject).isEmpty();
    }

    @Override
    public Verdict run(PositionalSubject subject) {
        List<ComponentProvider<?>> decoders = decoders(subject);
        Tensor x = Tensor.randn(new SplittableRandom(SEED + 40), BATCH, LENGTH, MODEL_DIM);
        double worst = 0;
        for (ComponentProvider<?> provider : decoders) {
            PositionalEncoding encoding = subject.create();
            MultiHeadAttention layer = new MultiHeadAttention(MODEL_DIM, HEADS,
                    (AttentionMechanism) provider.create(Map.of()), encoding, true, new SplittableRandom(SEED + 41));
            worst = Math.max(worst, IncrementalDecoding.worstError(layer, x,
                    (tokens, offset) -> subject.embed(encoding, tokens, offset)));
        }
        return Verdict.within(IncrementalDecoding.description(LENGTH) + ", through " + subject.hooks() + " with "
                + String.join(", ", decoders.stream().map(PositionalSubject::name).toList()), worst,
                IncrementalDecoding.TOLERANCE);
    }

    /** The mechanisms that decode incrementally with a causal mask and accept the encoding's hooks. */
    private static List<ComponentProvider<?>> decoders(PositionalSubject subject) {
        return subject.mechanisms().stream().filter(m -> {
            AttentionCapabilities c = PositionalSubject.capabilitiesOf(m);
            return c.incrementalDecoding() && c.causal() && subject.pairsWith(c);
        }).toList();
    }
}
