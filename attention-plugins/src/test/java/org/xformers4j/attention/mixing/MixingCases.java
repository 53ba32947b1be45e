package org.xformers4j.attention.mixing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.conformance.AttentionConformance;
import org.xformers4j.component.conformance.CheckResult;
import org.xformers4j.nn.Module;
import org.xformers4j.nn.ParameterState;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/** What the token mixers' tests share: random parameters, the parameters and GELU in double precision, the suite. */
final class MixingCases {

    private MixingCases() {
    }

    /** {@code module} with every parameter redrawn from N(0, std²) with {@code seed}: no test relies on initial values. */
    static <M extends Module> M randomized(M module, long seed, float std) {
        SplittableRandom rng = new SplittableRandom(seed);
        Map<String, ParameterState> state = new LinkedHashMap<>();
        for (Map.Entry<String, ParameterState> e : module.stateDict().entrySet()) {
            float[] values = Tensor.randn(rng, e.getValue().values().length).mul(std).toFloatArray();
            state.put(e.getKey(), new ParameterState(e.getValue().shape(), values));
        }
        module.loadStateDict(state);
        return module;
    }

    /** The parameters of {@code module} in its order, widened to double. */
    static double[][] parameters(Module module) {
        List<double[]> out = new ArrayList<>();
        for (Tensor p : module.namedParameters().values()) {
            float[] f = p.toFloatArray();
            double[] d = new double[f.length];
            for (int i = 0; i < f.length; i++) {
                d[i] = f[i];
            }
            out.add(d);
        }
        return out.toArray(double[][]::new);
    }

    /** The mechanism's output without a graph. */
    static float[] forward(AttentionMechanism mechanism, Tensor q, Tensor k, Tensor v, AttentionContext context) {
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            return mechanism.forward(q, k, v, context).toFloatArray();
        }
    }

    /** The exact GELU, x Φ(x), in double precision. */
    static double gelu(double x) {
        return 0.5 * x * (1 + erf(x / Math.sqrt(2)));
    }

    /** The error function to about 1e-13: its Maclaurin series below 3, the continued fraction of erfc above. */
    private static double erf(double x) {
        double ax = Math.abs(x);
        double r;
        if (ax < 3) {
            double term = ax;
            double sum = ax;
            for (int n = 1; n < 120; n++) {
                term *= -ax * ax / n;
                sum += term / (2 * n + 1);
            }
            r = 2 / Math.sqrt(Math.PI) * sum;
        } else {
            double f = ax;
            for (int k = 80; k >= 1; k--) {
                f = ax + (k / 2.0) / f;
            }
            r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
        }
        return Math.copySign(r, x);
    }

    /** Asserts that the conformance suite runs its checks on the provider's mechanism and that every one passes. */
    static void assertPassesTheConformanceSuite(ComponentProvider<?> provider, String... checks) {
        List<CheckResult> results = AttentionConformance.run(provider);
        assertThat(results).extracting(CheckResult::check).contains(checks);
        assertThat(results).allSatisfy(r -> assertThat(r.passed()).as(r.check() + ": " + r.detail()).isTrue());
    }
}
