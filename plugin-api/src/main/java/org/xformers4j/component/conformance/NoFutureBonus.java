package org.xformers4j.component.conformance;

import java.util.Arrays;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * {@code no-future-bonus}, for encodings with a fixed (not learned) attention bias: in a
 * non-causal context (an encoder), where nothing masks the keys after a query, the bias must not
 * favour them: no key after query i gets a larger bias than the query's own position i. An
 * encoding whose bias is meant for causal attention only may instead refuse the non-causal
 * context with an {@link IllegalArgumentException} (hook 3 with {@code causal = false}). Such a
 * bias (ALiBi's causal form -m·(i - j) outside a causal mask) would otherwise give every later key
 * a bonus growing with its distance, silently.
 */
final class NoFutureBonus implements PositionalCheck {

    @Override
    public String name() {
        return "no-future-bonus";
    }

    @Override
    public boolean appliesTo(PositionalSubject subject) {
        return subject.capabilities().attentionBias() && !subject.capabilities().learnable();
    }

    @Override
    public Verdict run(PositionalSubject subject) {
        PositionalEncoding encoding = subject.create();
        Tensor bias;
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            bias = encoding.attentionBias(HEADS, LENGTH, LENGTH, 0, false);
        } catch (IllegalArgumentException refused) {
            return Verdict.pass("refuses a non-causal context: " + refused.getMessage());
        }
        if (bias == null) {
            return Verdict.fail("attentionBias(" + HEADS + ", " + LENGTH + ", " + LENGTH + ", 0, causal false) "
                    + "returned null although the encoding declares attentionBias");
        }
        float[] b = bias.expand(1, HEADS, LENGTH, LENGTH).toFloatArray();
        for (int h = 0; h < HEADS; h++) {
            for (int i = 0; i < LENGTH; i++) {
                float own = b[(h * LENGTH + i) * LENGTH + i];
                for (int j = i + 1; j < LENGTH; j++) {
                    float later = b[(h * LENGTH + i) * LENGTH + j];
                    if (!(later <= own)) {
                        return Verdict.fail("in a non-causal context head " + h + " gives key " + j + " after query "
                                + i + " the bias " + later + ", more than the query's own position (" + own
                                + "): the future is favoured; refuse the non-causal context or penalise both "
                                + "directions; row " + Arrays.toString(Arrays.copyOfRange(b, (h * LENGTH + i) * LENGTH,
                                (h * LENGTH + i + 1) * LENGTH)));
                    }
                }
            }
        }
        return Verdict.pass("in a non-causal context no key after a query is biased above the query's own position");
    }
}
