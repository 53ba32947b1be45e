package org.xformers4j.component.conformance;

import java.util.List;
import java.util.logging.Logger;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.positional.PositionalCapabilities;

/**
 * The conformance suite for positional encodings: what every registered positional component must
 * satisfy, given the hooks and promises its {@link PositionalCapabilities} declare, on its own and
 * with every registered attention mechanism. It is written once and applied to every component,
 * by each plugin module's tests and by {@code xformers4j check}.
 *
 * <p>The checks, in order (each runs only when it applies), all on the encoding's default
 * configuration:
 * <ul>
 *   <li>{@code pairs-with-every-mechanism} (any mechanism given): in a
 *       {@link org.xformers4j.nn.MultiHeadAttention} layer with each mechanism, a pair whose hooks
 *       the mechanism accepts runs to a finite output of the right shape, and any other pair is
 *       refused at construction with a message naming both components.</li>
 *   <li>{@code extrapolates} (extrapolates or maximumLength): longer sequences than any before
 *       work and encode earlier positions as before; or, for an encoding with a maximum length,
 *       the first sequence past it is refused with an {@link IllegalArgumentException} that
 *       mentions its length.</li>
 *   <li>{@code relative-offset} (rotatesQueryKey): the scores of rotated queries and keys depend
 *       only on their relative position.</li>
 *   <li>{@code bias-shift-invariant} (attentionBias): the bias depends only on key − query, and a
 *       smaller problem's bias is the window of a larger one.</li>
 *   <li>{@code no-future-bonus} (attentionBias, not learnable): in a non-causal context no key
 *       after a query is biased above the query's own position, or the context is refused with an
 *       {@link IllegalArgumentException}.</li>
 *   <li>{@code gradient-parameters} (learnable): the encoding is a module whose parameter
 *       gradients through its hooks match finite differences.</li>
 *   <li>{@code incremental-decoding} (any hook, and a mechanism that decodes incrementally and
 *       takes the hooks): decoding token by token with a {@link org.xformers4j.nn.KvCache} equals
 *       one causal pass.</li>
 * </ul>
 *
 * <p>Problems are small (batch 2, 2 heads of size 8, 8 positions; 257 positions or single windows
 * for the length checks), so the suite takes about a second per encoding. A check that throws
 * fails with the exception as its detail; the other checks still run.
 *
 * <pre>{@code
 * List<CheckResult> results = PositionalConformance.run(registry.find("rotary"),
 *         registry.providers(ComponentKind.ATTENTION));
 * }</pre>
 */
public final class PositionalConformance {

    private static final Logger LOGGER = Logger.getLogger(PositionalConformance.class.getName());

    private static final List<PositionalCheck> CHECKS = List.of(new PairsWithEveryMechanism(), new Extrapolates(),
            new RelativeOffset(), new BiasShiftInvariant(), new NoFutureBonus(), new PositionalParameterGradients(),
            new PositionalIncrementalDecoding());

    private PositionalConformance() {
    }

    /** The names of every check, in the order they run. */
    public static List<String> checkNames() {
        return CHECKS.stream().map(PositionalCheck::name).toList();
    }

    /**
     * Runs every check that applies to the positional component of {@code provider}, pairing it
     * with the attention components of {@code mechanisms} where a check needs a mechanism.
     *
     * @return one result per check that applied, in {@link #checkNames()} order
     * @throws IllegalArgumentException if {@code provider} is not a positional component, or one of
     *                                  {@code mechanisms} not an attention component
     */
    public static List<CheckResult> run(ComponentProvider<?> provider, List<? extends ComponentProvider<?>> mechanisms) {
        PositionalSubject subject = new PositionalSubject(provider, mechanisms);
        return Check.runAll(subject.name(), subject, CHECKS, LOGGER);
    }
}
