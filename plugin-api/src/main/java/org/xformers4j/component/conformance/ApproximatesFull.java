package org.xformers4j.component.conformance;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionMechanism;

/**
 * {@code approximates-full}: a mechanism that declares settings under which it converges to
 * softmax attention ({@link AttentionCapabilities#convergesWith()}) gets closer to it, computed in
 * double precision by {@link ReferenceAttention}, setting after setting. It passes when each
 * setting's error is at most {@value #FALL} times the one before (a random-feature estimator's
 * error shrinks like 1/√m, so 4× the features about halves it; a setting that does not help fails)
 * and the last is at most {@value #FINAL_TOLERANCE}. The detail lists every setting's error, so
 * {@code xformers4j check} shows the convergence.
 *
 * <p>The error of a setting is the mean relative error |out − reference| / (1 + |reference|) over
 * every output element of plain, each declared context feature and all together (the problems of
 * {@code matches-full}), and for a mechanism with a {@code seed} hyperparameter the mean over
 * {@value #SEEDS} seeds: an approximation is a statistical estimate, and the worst element of one
 * draw of random features lies in the estimator's tail, where it falls far slower than the error
 * itself. Queries and keys are scaled by {@value #QUERY_KEY_SCALE} (scores of standard deviation
 * about 0.5): the variance of a random-feature estimate of exp(q·k/√d) grows like
 * exp(|q + k|²/√d), so with larger scores a few thousand features are still in the regime where
 * single heavy-tailed terms dominate, and the error's fall is noise.
 */
final class ApproximatesFull implements AttentionCheck {

    static final int SEEDS = 6;
    static final double FALL = 0.8;
    static final double FINAL_TOLERANCE = 0.03;
    static final float QUERY_KEY_SCALE = 0.7f;

    @Override
    public String name() {
        return "approximates-full";
    }

    @Override
    public boolean appliesTo(Subject subject) {
        return subject.capabilities().convergesWith().length > 0;
    }

    @Override
    public Verdict run(Subject subject) {
        List<Map<String, String>> settings = subject.convergenceSettings();
        if (settings.size() < 2) {
            return Verdict.fail("convergesWith needs at least two settings to show the error falling, got "
                    + settings);
        }
        List<Problem.Features> variants = Problem.Features.variants(subject.capabilities());
        List<Problem> problems = new ArrayList<>();
        for (Problem.Features features : variants) {
            problems.add(Problem.random(features, subject.capabilities(), SEED + 21)
                    .withQueriesAndKeysScaled(QUERY_KEY_SCALE));
        }
        int seeds = subject.hasSeed() ? SEEDS : 1;
        double[] errors = new double[settings.size()];
        for (int s = 0; s < settings.size(); s++) {
            for (int draw = 0; draw < seeds; draw++) {
                Map<String, String> options = new LinkedHashMap<>(settings.get(s));
                if (seeds > 1) {
                    options.put("seed", Long.toString(SEED + 1000 + draw));
                }
                AttentionMechanism mechanism = subject.create(options, Problem.HEADS, Problem.HEAD_DIM);
                double sum = 0;
                int elements = 0;
                for (Problem problem : problems) {
                    float[] actual = problem.forward(mechanism);
                    double[] expected = problem.reference();
                    if (actual.length != expected.length) {
                        return Verdict.fail(problem.features.label() + " with " + label(options) + ": output has "
                                + actual.length + " elements, expected " + expected.length
                                + " ([batch, heads, queryLength, valueDim])");
                    }
                    for (int e = 0; e < actual.length; e++) {
                        sum += Math.abs(actual[e] - expected[e]) / (1 + Math.abs(expected[e]));
                    }
                    elements += actual.length;
                }
                errors[s] += sum / elements / seeds;
            }
        }
        StringBuilder detail = new StringBuilder("mean relative error against float64 softmax attention");
        for (int s = 0; s < settings.size(); s++) {
            detail.append(s == 0 ? ": " : ", ").append(label(settings.get(s))).append(' ')
                    .append(Verdict.number(errors[s]));
        }
        detail.append(seeds > 1 ? " (mean of " + seeds + " seeds)" : "").append(" over ")
                .append(variants.stream().map(Problem.Features::label).collect(Collectors.joining(", ")));
        for (int s = 1; s < settings.size(); s++) {
            if (!(errors[s] <= FALL * errors[s - 1])) {
                return Verdict.fail(detail + "; " + label(settings.get(s)) + " is not below " + FALL + " times the "
                        + "error of " + label(settings.get(s - 1)));
            }
        }
        double last = errors[errors.length - 1];
        if (!(last <= FINAL_TOLERANCE)) {
            return Verdict.fail(detail + "; the last is above " + Verdict.number(FINAL_TOLERANCE));
        }
        return Verdict.pass(detail + " (each at most " + FALL + " times the one before, the last within "
                + Verdict.number(FINAL_TOLERANCE) + ")");
    }

    /** {@code name=value}, joined by commas. */
    private static String label(Map<String, String> options) {
        return options.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                .collect(Collectors.joining(","));
    }
}
