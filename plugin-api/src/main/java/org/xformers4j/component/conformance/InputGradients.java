package org.xformers4j.component.conformance;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.attention.KernelFeatureMap;
import org.xformers4j.tensor.GradientCheck;
import org.xformers4j.tensor.Tensor;

/**
 * {@code gradient-inputs}: the gradients with respect to the queries, keys, values and (when the
 * mechanism takes one) the additive bias, under every declared context feature at once, against
 * central finite differences.
 *
 * <p>A mechanism with an exact configuration is checked in it against {@link ReferenceAttention}
 * in double precision (step 1e-6, gradient tolerance 2e-3, the defaults of {@link GradientCheck}).
 * A kernel attention that declares its {@link KernelFeatureMap} is checked in its default
 * configuration against {@link KernelReference} in double precision, with the same step and
 * tolerance. Any other mechanism is checked in its default configuration against its own float32 outputs
 * ({@link GradientCheck#float32Reference}): step {@value #FLOAT32_STEP}, tolerance
 * {@value #FLOAT32_TOLERANCE}, since float32 rounding divided by twice the step is about 1e-5; a
 * step that large may cross a kink or a jump of the mechanism (ReLU features, a denominator that
 * vanishes), so there an element may match either one-sided difference instead
 * ({@link GradientCheck#oneSidedAtKinks()}).
 */
final class InputGradients implements AttentionCheck {

    static final double FLOAT32_STEP = 1e-2;
    static final double FLOAT32_TOLERANCE = 1e-2;

    @Override
    public String name() {
        return "gradient-inputs";
    }

    @Override
    public boolean appliesTo(Subject subject) {
        return true;
    }

    @Override
    public Verdict run(Subject subject) {
        Problem problem = Problem.random(Problem.Features.all(subject.capabilities(), true), subject.capabilities(), SEED + 1);
        Optional<Map<String, String>> exact = subject.exactOptions();
        AttentionMechanism mechanism = exact.isPresent()
                ? subject.create(exact.get(), Problem.HEADS, Problem.HEAD_DIM)
                : subject.create(Problem.HEADS, Problem.HEAD_DIM);
        GradientCheck.Result result = exact.isPresent()
                ? againstReference(problem, mechanism, exact.get()).run()
                : mechanism instanceof KernelFeatureMap map && problem.bias == null && !problem.sharedQueryKey
                ? againstKernelReference(problem, mechanism, map).run()
                : against(problem, mechanism, Optional.empty()).run();
        return new Verdict(result.passed(), result.detail());
    }

    /**
     * The check of the mechanism's gradients on {@code problem} against finite differences of
     * {@link ReferenceAttention} in double precision; {@code options} (the mechanism's exact
     * configuration) are named in the result.
     */
    static GradientCheck againstReference(Problem problem, AttentionMechanism mechanism, Map<String, String> options) {
        return against(problem, mechanism, Optional.of(options));
    }

    /**
     * The check of a kernel attention's gradients on {@code problem} (no bias, keys of their own)
     * against finite differences of {@link KernelReference} in double precision with its own
     * feature map.
     */
    static GradientCheck againstKernelReference(Problem problem, AttentionMechanism mechanism, KernelFeatureMap map) {
        Tensor[] leaves = {Tensor.of(problem.query, problem.queryShape()).requiresGrad(true),
                Tensor.of(problem.key, problem.keyShape()).requiresGrad(true),
                Tensor.of(problem.value, problem.valueShape()).requiresGrad(true)};
        Function<Tensor[], Tensor> op = in -> mechanism.forward(in[0], in[1], in[2], problem.context(null));
        return GradientCheck.of("d/d query, key, value under " + problem.features.label()
                        + " against float64 kernel attention with its own feature map", op,
                values -> KernelReference.forward(problem, map, values[0], values[1], values[2]), leaves);
    }

    /** With {@code exact} options: {@link #againstReference}; without: against the mechanism's own float32 outputs. */
    private static GradientCheck against(Problem problem, AttentionMechanism mechanism,
                                         Optional<Map<String, String>> exact) {
        boolean shared = problem.sharedQueryKey;
        List<Tensor> inputs = new ArrayList<>();
        List<String> names = new ArrayList<>();
        add(inputs, names, "query", Tensor.of(problem.query, problem.queryShape()));
        if (!shared) {
            add(inputs, names, "key", Tensor.of(problem.key, problem.keyShape()));
        }
        add(inputs, names, "value", Tensor.of(problem.value, problem.valueShape()));
        if (problem.bias != null) {
            add(inputs, names, "bias", Tensor.of(problem.bias, problem.biasShape()));
        }
        int v = shared ? 1 : 2;
        Function<Tensor[], Tensor> op = in -> mechanism.forward(in[0], shared ? in[0] : in[1], in[v],
                problem.context(problem.bias == null ? null : in[v + 1]));
        Tensor[] leaves = inputs.toArray(Tensor[]::new);
        String what = "d/d " + String.join(", ", names) + " under " + problem.features.label() + " against ";
        if (exact.isEmpty()) {
            return GradientCheck.of(what + "its own float32 finite differences (step " + FLOAT32_STEP + ")", op,
                    GradientCheck.float32Reference(op, leaves), leaves)
                    .step(FLOAT32_STEP).gradTolerance(FLOAT32_TOLERANCE).oneSidedAtKinks();
        }
        return GradientCheck.of(what + "float64 softmax attention" + (exact.get().isEmpty() ? "" : " with " + exact.get()),
                op, values -> ReferenceAttention.forward(problem, values[0], shared ? null : values[1],
                        values[v], problem.bias == null ? null : values[v + 1]), leaves);
    }

    private static void add(List<Tensor> inputs, List<String> names, String name, Tensor tensor) {
        inputs.add(tensor.requiresGrad(true));
        names.add(name);
    }
}
