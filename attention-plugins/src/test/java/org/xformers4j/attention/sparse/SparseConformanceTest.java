package org.xformers4j.attention.sparse;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.conformance.AttentionConformance;
import org.xformers4j.component.conformance.CheckResult;

/** block-sparse and bigbird pass the whole suite, matches-pattern on a sparse pattern among the checks. */
class SparseConformanceTest {

    @Test
    void blockSparsePassesTheSuite() {
        passes(new BlockSparseAttentionProvider());
    }

    @Test
    void bigBirdPassesTheSuite() {
        passes(new BigBirdAttentionProvider());
    }

    private static void passes(ComponentProvider<?> provider) {
        List<CheckResult> results = AttentionConformance.run(provider);
        assertThat(results).extracting(CheckResult::check).contains("matches-pattern", "matches-full",
                "gradient-inputs", "causal-no-leakage", "padding-ignored", "fully-masked-rows", "linear-memory");
        assertThat(results).allSatisfy(r -> assertThat(r.passed()).as(r.check() + ": " + r.detail()).isTrue());
        String pattern = results.stream().filter(r -> r.check().equals("matches-pattern")).findFirst().orElseThrow()
                .detail();
        // the default pattern is sparse on the suite's 8 positions
        java.util.regex.Matcher density = java.util.regex.Pattern.compile("density down to ([0-9.]+)").matcher(pattern);
        assertThat(density.find()).as(pattern).isTrue();
        assertThat(Double.parseDouble(density.group(1))).as(pattern).isLessThan(0.75);
    }
}
