package org.xformers4j.component.conformance;

import java.util.List;
import java.util.logging.Logger;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.attention.AttentionCapabilities;

/**
 * The conformance suite for attention mechanisms: what every registered attention component must
 * satisfy, given what its {@link AttentionCapabilities} declare. It is written once and applied to
 * every component, by each plugin module's tests and by {@code xformers4j check}.
 *
 * <p>The checks, in order (each runs only when it applies):
 * <ul>
 *   <li>{@code matches-full}: equals softmax attention computed in double precision, under plain,
 *       each declared context feature and all together; for a mechanism that is not
 *       {@link AttentionCapabilities#exact() exact}, in the configuration of its
 *       {@link AttentionCapabilities#exactWhen() exactWhen} (skipped without one).</li>
 *   <li>{@code matches-pattern}: a mechanism that declares its pattern of (query, key) pairs
 *       ({@link org.xformers4j.component.attention.PatternedAttention}: block-sparse layouts, BigBird,
 *       Swin windows) equals softmax attention in double precision over the pairs of its pattern,
 *       plus the pattern's bias, with its default hyperparameters, under plain, each declared context
 *       feature and all together.</li>
 *   <li>{@code approximates-full} (convergesWith): a mechanism that approximates softmax attention
 *       gets closer to the float64 reference along its declared
 *       {@link AttentionCapabilities#convergesWith() convergesWith} settings (each error at most
 *       0.8 times the one before, mean of several seeds for a seeded mechanism) and ends within
 *       0.03 (mean relative error, queries and keys scaled by 0.7); the detail lists the errors.</li>
 *   <li>{@code matches-kernel-definition}: a kernel attention that declares its feature map
 *       ({@link org.xformers4j.component.attention.KernelFeatureMap}) equals kernel attention with
 *       that map computed in double precision on the explicit N×N kernel matrix, the masks applied
 *       to the matrix, under plain, each declared context feature and all together.</li>
 *   <li>{@code gradient-inputs}: gradients of queries, keys, values and bias against finite
 *       differences (of the float64 reference in the exact configuration, of the float64 kernel
 *       reference for a kernel attention that declares its feature map, else of the mechanism
 *       itself in float32).</li>
 *   <li>{@code large-score-gradients} (additiveBias, with an exact configuration): the same against
 *       float64 when a bias puts every score near -1e8, where one float32 log-sum-exp per query
 *       loses the row sum.</li>
 *   <li>{@code gradient-parameters}: for a mechanism that is an {@link org.xformers4j.nn.Module}
 *       with parameters, their gradients against the mechanism's own finite differences.</li>
 *   <li>{@code causal-no-leakage} (causal): changing a token never changes an earlier output.</li>
 *   <li>{@code padding-ignored} (keyPaddingMask): padded keys and values have no influence.</li>
 *   <li>{@code huge-negative-bias} (additiveBias): queries whose visible keys all carry a bias of
 *       -1e9, -1e30, -Float.MAX_VALUE or -∞ (and 0 on the others) keep finite outputs and
 *       gradients, put no weight on padded or causally later keys, and (exact configuration) match
 *       the float64 reference of their float32 scores: a finite bias is a score, -∞ masks.</li>
 *   <li>{@code fully-masked-rows} (keyPaddingMask or additiveBias): a query with every key masked
 *       (all padded, or all biased by -∞) outputs zeros and passes zero, finite gradients.</li>
 *   <li>{@code batch-independent}: changing one batch element leaves the others' outputs alone.</li>
 *   <li>{@code linear-memory} ({@link AttentionCapabilities#linearMemory() linearMemory}): the
 *       tensor bytes a forward and backward pass allocates grow at most 6 times from 1024 to 4096
 *       positions (linear is 4 times, quadratic 16), without and with a causal context.</li>
 *   <li>{@code incremental-decoding} (incrementalDecoding and causal): decoding token by token
 *       through {@link org.xformers4j.nn.MultiHeadAttention} with a {@link org.xformers4j.nn.KvCache}
 *       equals one pass over the whole sequence.</li>
 *   <li>{@code cached-generation} (incrementalDecoding and causal): a small two-layer language
 *       model around the mechanism generates the same tokens greedily, with the same logits, with a
 *       {@link org.xformers4j.nn.KvCache} per layer (reordered midway as beam search does) as by
 *       recomputing the whole prefix at every step.</li>
 *   <li>{@code rejects-bad-input}: wrong shapes and undeclared context features raise
 *       {@link IllegalArgumentException} naming them.</li>
 *   <li>{@code reproducible}: identical seeds give identical outputs, attention dropout included.</li>
 *   <li>{@code weights-reproduce-output} ({@link org.xformers4j.component.attention.WeightedAttention}):
 *       the reported weights are non-negative, 0 on masked keys, rows summing to 1 or 0, and
 *       times the values (float64 sums) equal the forward, under every declared context
 *       variant.</li>
 * </ul>
 *
 * <p>Problems are tiny (batch 2, 2 heads, 8 positions, head size 4, value size 3), except the
 * lengths of {@code linear-memory} (one head of size 16), so the suite takes about a second per
 * mechanism. A mechanism that {@link AttentionCapabilities#gridRequired() requires a grid} gets the
 * tokens of every problem as the most nearly square grid (2 × 4 for 8 tokens, 32 × 32 for 1024). A check that throws fails with the exception as its
 * detail; the other checks still run.
 *
 * <pre>{@code
 * for (CheckResult r : AttentionConformance.run(registry.find("flash"))) {
 *     System.out.println((r.passed() ? "PASS " : "FAIL ") + r.check() + ": " + r.detail());
 * }
 * }</pre>
 */
public final class AttentionConformance {

    private static final Logger LOGGER = Logger.getLogger(AttentionConformance.class.getName());

    private static final List<AttentionCheck> CHECKS = List.of(new MatchesFull(), new MatchesPattern(),
            new ApproximatesFull(),
            new MatchesKernelDefinition(), new InputGradients(),
            new LargeScoreGradients(), new ParameterGradients(), new NoCausalLeakage(), new PaddingIgnored(),
            new HugeNegativeBias(), new FullyMaskedRows(), new BatchIndependence(), new LinearMemory(),
            new IncrementalDecoding(), new CachedGeneration(), new RejectsBadInput(), new Reproducible(),
            new WeightsReproduceOutput());

    private AttentionConformance() {
    }

    /** The names of every check, in the order they run. */
    public static List<String> checkNames() {
        return CHECKS.stream().map(AttentionCheck::name).toList();
    }

    /**
     * Runs every check that applies to the attention component of {@code provider}.
     *
     * @return one result per check that applied, in {@link #checkNames()} order
     * @throws IllegalArgumentException if {@code provider} publishes a component of another kind
     */
    public static List<CheckResult> run(ComponentProvider<?> provider) {
        Subject subject = new Subject(provider);
        return Check.runAll(subject.name(), subject, CHECKS, LOGGER);
    }
}
