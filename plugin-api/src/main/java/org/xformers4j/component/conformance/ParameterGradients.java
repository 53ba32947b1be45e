package org.xformers4j.component.conformance;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.nn.Module;
import org.xformers4j.nn.ParameterState;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.GradientCheck;
import org.xformers4j.tensor.Tensor;

/**
 * {@code gradient-parameters}: for a mechanism that is a {@link Module} with parameters in its
 * default configuration, the gradients of its parameters against its own float32 finite
 * differences (the perturbed values are loaded into the parameters in place), with the step and
 * tolerance of {@link InputGradients} for float32 (one-sided differences accepted at kinks).
 */
final class ParameterGradients implements AttentionCheck {

    @Override
    public String name() {
        return "gradient-parameters";
    }

    @Override
    public boolean appliesTo(Subject subject) {
        return subject.hasParameters();
    }

    @Override
    public Verdict run(Subject subject) {
        AttentionMechanism mechanism = subject.create(Problem.HEADS, Problem.HEAD_DIM);
        boolean shared = subject.capabilities().sharedQueryKey();
        Problem problem = Problem.random(Problem.Features.all(subject.capabilities(), true), subject.capabilities(), SEED + 2);
        Tensor q = Tensor.of(problem.query, problem.queryShape());
        Tensor k = shared ? q : Tensor.of(problem.key, problem.keyShape());
        Tensor v = Tensor.of(problem.value, problem.valueShape());
        Tensor bias = problem.bias == null ? null : Tensor.of(problem.bias, problem.biasShape());
        return againstFiniteDifferences((Module) mechanism, () -> mechanism.forward(q, k, v, problem.context(bias)),
                InputGradients.FLOAT32_STEP, InputGradients.FLOAT32_TOLERANCE);
    }

    /**
     * The gradients of every parameter of {@code module} through {@code forward} against the
     * module's own float32 central differences with {@code step}: each perturbed value is loaded
     * into the parameters in place, {@code forward} runs without recording a graph, and the
     * original values are restored.
     */
    static Verdict againstFiniteDifferences(Module module, Supplier<Tensor> forward, double step, double tolerance) {
        Map<String, Tensor> named = module.namedParameters();
        Map<String, ParameterState> original = module.stateDict();
        GradientCheck.Reference reference = values -> {
            Map<String, ParameterState> perturbed = new LinkedHashMap<>();
            int i = 0;
            for (Map.Entry<String, Tensor> e : named.entrySet()) {
                float[] data = new float[values[i].length];
                for (int j = 0; j < data.length; j++) {
                    data[j] = (float) values[i][j];
                }
                perturbed.put(e.getKey(), new ParameterState(e.getValue().shape(), data));
                i++;
            }
            module.loadStateDict(perturbed);
            try (GradMode.Scope ignored = GradMode.noGrad()) {
                return Problem.toDouble(forward.get().toFloatArray());
            } finally {
                module.loadStateDict(original);
            }
        };
        String what = "d/d " + String.join(", ", named.keySet()) + " against its own float32 finite differences (step "
                + step + ")";
        GradientCheck.Result result = GradientCheck.of(what, parameters -> forward.get(), reference,
                named.values().toArray(Tensor[]::new)).step(step).gradTolerance(tolerance).oneSidedAtKinks().run();
        return new Verdict(result.passed(), result.detail());
    }
}
