package org.xformers4j.component.conformance;

import java.util.List;
import java.util.Map;
import org.xformers4j.component.decoding.GeneratedSequence;

/**
 * {@code deterministic-for-seed}: two instances given the same seed produce identical sequences
 * and scores, for seeds 0 … {@value #SEEDS}−1; a {@link
 * org.xformers4j.component.decoding.DecodingCapabilities#stochastic() stochastic} strategy must
 * also produce, with its defaults, a different output for at least one of those seeds than for
 * seed 0 (after "The" the table leaves three tokens to draw from), or it ignores its seed.
 */
final class DeterministicForSeed implements DecodingCheck {

    static final int SEEDS = 20;

    @Override
    public String name() {
        return "deterministic-for-seed";
    }

    @Override
    public boolean appliesTo(DecodingSubject subject) {
        return true;
    }

    @Override
    public Verdict run(DecodingSubject subject) {
        List<List<GeneratedSequence>> first = null;
        boolean varies = false;
        for (long seed = 0; seed < SEEDS; seed++) {
            var config = DecodingCheck.withEndToken().seed(seed).build();
            List<List<GeneratedSequence>> a = DecodingCheck.generate(subject, Map.of(), config);
            List<List<GeneratedSequence>> b = DecodingCheck.generate(subject, Map.of(), config);
            if (!a.equals(b)) {
                return Verdict.fail("seed " + seed + " gave " + a + ", then " + b);
            }
            if (first == null) {
                first = a;
            } else {
                varies |= !a.equals(first);
            }
        }
        if (!subject.capabilities().stochastic()) {
            return Verdict.pass("seeds 0.." + (SEEDS - 1) + ", twice each: identical; deterministic strategy");
        }
        return varies ? Verdict.pass("seeds 0.." + (SEEDS - 1) + ", twice each: identical; different seeds draw "
                        + "different sequences")
                : Verdict.fail("declared stochastic, but seeds 0.." + (SEEDS - 1) + " all gave "
                        + DecodingCheck.words(first) + ": the seed is ignored");
    }
}
