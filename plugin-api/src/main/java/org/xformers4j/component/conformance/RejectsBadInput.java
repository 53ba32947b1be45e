package org.xformers4j.component.conformance;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * {@code rejects-bad-input}: wrong shapes, and context features the mechanism does not declare,
 * raise {@link IllegalArgumentException} whose message names them (the offending shape, or the
 * feature). Checked: a rank-3 query, keys of another head size, values of another length than the
 * keys, and, per capability, a key padding mask or bias of the wrong shape (when supported) or at
 * all (when not), a causal context and fewer queries than keys when not supported.
 */
final class RejectsBadInput implements AttentionCheck {

    /** One bad call and what its message must mention (case-insensitive). */
    private record Case(String what, String mention, Tensor query, Tensor key, Tensor value,
                        AttentionContext context) {
    }

    @Override
    public String name() {
        return "rejects-bad-input";
    }

    @Override
    public boolean appliesTo(Subject subject) {
        return true;
    }

    @Override
    public Verdict run(Subject subject) {
        AttentionMechanism mechanism = subject.create(Problem.HEADS, Problem.HEAD_DIM);
        List<Case> cases = cases(subject.capabilities());
        List<String> problems = new ArrayList<>();
        for (Case c : cases) {
            try (GradMode.Scope ignored = GradMode.noGrad()) {
                mechanism.forward(c.query(), c.key(), c.value(), c.context());
                problems.add(c.what() + ": accepted");
            } catch (IllegalArgumentException e) {
                String message = String.valueOf(e.getMessage());
                if (!message.toLowerCase(Locale.ROOT).contains(c.mention().toLowerCase(Locale.ROOT))) {
                    problems.add(c.what() + ": message does not mention '" + c.mention() + "': " + message);
                }
            } catch (RuntimeException e) {
                problems.add(c.what() + ": threw " + e + " instead of an IllegalArgumentException");
            }
        }
        return problems.isEmpty()
                ? Verdict.pass("IllegalArgumentException naming the problem for "
                        + String.join(", ", cases.stream().map(Case::what).toList()))
                : Verdict.fail(String.join("; ", problems));
    }

    private static List<Case> cases(AttentionCapabilities c) {
        int b = Problem.BATCH;
        int h = Problem.HEADS;
        int l = Problem.LENGTH;
        int d = Problem.HEAD_DIM;
        Tensor q = Tensor.zeros(b, h, l, d);
        Tensor v = Tensor.zeros(b, h, l, Problem.VALUE_DIM);
        AttentionContext none = AttentionContext.none();
        List<Case> cases = new ArrayList<>();
        Tensor rank3 = Tensor.zeros(b, l, d);
        cases.add(new Case("rank-3 query", shape(rank3), rank3, q, v, none));
        Tensor otherHeadDim = Tensor.zeros(b, h, l, d + 1);
        cases.add(new Case("keys of head size " + (d + 1), shape(otherHeadDim), q, otherHeadDim, v, none));
        Tensor shortValues = Tensor.zeros(b, h, l - 1, Problem.VALUE_DIM);
        cases.add(new Case("values shorter than the keys", shape(shortValues), q, q, shortValues, none));
        Tensor mask = Tensor.zeros(b, l - 1);
        Tensor bias = Tensor.zeros(b, h, l, l - 1);
        if (c.keyPaddingMask()) {
            cases.add(new Case("key padding mask " + shape(mask), shape(mask), q, q, v,
                    AttentionContext.builder().keyPaddingMask(mask).build()));
        } else {
            cases.add(new Case("a key padding mask (not supported)", "padding", q, q, v,
                    AttentionContext.builder().keyPaddingMask(Tensor.zeros(b, l)).build()));
        }
        if (c.additiveBias()) {
            cases.add(new Case("bias " + shape(bias), shape(bias), q, q, v, AttentionContext.builder().bias(bias).build()));
        } else {
            cases.add(new Case("an additive bias (not supported)", "bias", q, q, v,
                    AttentionContext.builder().bias(Tensor.zeros(b, h, l, l)).build()));
        }
        if (!c.causal()) {
            cases.add(new Case("a causal context (not supported)", "causal", q, q, v,
                    AttentionContext.builder().causal(true).build()));
        }
        if (!c.crossAttention()) {
            Tensor fewer = Tensor.zeros(b, h, Problem.CROSS_QUERY_LENGTH, d);
            cases.add(new Case("fewer queries than keys (not supported)", shape(fewer), fewer, q, v, none));
        }
        return cases;
    }

    private static String shape(Tensor t) {
        return Arrays.toString(t.shape());
    }
}
