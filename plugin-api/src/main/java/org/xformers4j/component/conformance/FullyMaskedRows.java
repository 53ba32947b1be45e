package org.xformers4j.component.conformance;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.xformers4j.component.attention.AttentionMechanism;

/**
 * {@code fully-masked-rows}: a query that may see no key at all has no distribution to average
 * over; its output is zeros, and nothing it depends on gets a gradient from it. Under every
 * declared context feature, batch element 1 is masked whole, in each way the mechanism declares:
 * every key padded (keyPaddingMask), and a bias of -∞ on every key (additiveBias). Then batch
 * element 1's outputs must be exactly 0, every output and gradient (of queries, keys, values and
 * bias) finite, and the gradients of batch element 1's queries, keys, values and bias exactly 0.
 */
final class FullyMaskedRows implements AttentionCheck {

    @Override
    public String name() {
        return "fully-masked-rows";
    }

    @Override
    public boolean appliesTo(Subject subject) {
        return subject.capabilities().keyPaddingMask() || subject.capabilities().additiveBias();
    }

    @Override
    public Verdict run(Subject subject) {
        AttentionMechanism mechanism = subject.create(Problem.HEADS, Problem.HEAD_DIM);
        Problem base = Problem.random(Problem.Features.all(subject.capabilities(), false), subject.capabilities(), SEED + 12);
        List<String> ways = new ArrayList<>();
        List<Problem> problems = new ArrayList<>();
        if (base.features.padded()) {
            ways.add("every key of batch element 1 padded");
            problems.add(base.withPaddedKeys(base.keyLength));
        }
        if (base.features.bias()) {
            float[] bias = base.bias.clone();
            Arrays.fill(bias, bias.length / Problem.BATCH, bias.length, Float.NEGATIVE_INFINITY);
            ways.add("a bias of -Infinity on every key of batch element 1");
            problems.add(base.withBias(bias));
        }
        for (int w = 0; w < problems.size(); w++) {
            String what = ways.get(w) + " under " + base.features.label() + ": ";
            Problem.Backward result = problems.get(w).backward(mechanism);
            String nonFinite = result.nonFinite();
            if (nonFinite != null) {
                return Verdict.fail(what + nonFinite);
            }
            String[] names = {"output", "gradient of query", "gradient of key", "gradient of value",
                    "gradient of bias"};
            float[][] arrays = {result.output(), result.query(), result.key(), result.value(), result.bias()};
            for (int a = 0; a < arrays.length; a++) {
                int e = firstNonZeroOfBatchOne(arrays[a]);
                if (e >= 0) {
                    return Verdict.fail(what + names[a] + " element " + e + " (batch element 1) is "
                            + arrays[a][e] + ", must be 0");
                }
            }
        }
        return Verdict.pass(String.join("; ", ways) + " under " + base.features.label()
                + ": zero outputs and zero gradients there, everything finite");
    }

    /** The index of the first non-zero element of batch element 1 (the second half of a [batch, ...] array), or -1. */
    private static int firstNonZeroOfBatchOne(float[] x) {
        if (x == null) {
            return -1;
        }
        for (int e = x.length / Problem.BATCH; e < x.length; e++) {
            if (x[e] != 0f) {
                return e;
            }
        }
        return -1;
    }
}
