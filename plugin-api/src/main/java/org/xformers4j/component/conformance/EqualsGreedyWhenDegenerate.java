package org.xformers4j.component.conformance;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.xformers4j.component.decoding.GeneratedSequence;

/**
 * {@code equals-greedy-when-degenerate} (a greedy strategy, or one with
 * {@link org.xformers4j.component.decoding.DecodingCapabilities#greedyWhen() greedyWhen}):
 * configured with its greedy options, for seeds 0 … {@value DeterministicForSeed#SEEDS}−1, the
 * strategy returns what greedy decoding over the table does — the most probable token at every
 * step, "The nice woman &lt;eos&gt;" and "The dog has &lt;eos&gt;" — with log-probabilities within
 * {@value #TOLERANCE} of the table's.
 */
final class EqualsGreedyWhenDegenerate implements DecodingCheck {

    static final double TOLERANCE = 1e-5;

    @Override
    public String name() {
        return "equals-greedy-when-degenerate";
    }

    @Override
    public boolean appliesTo(DecodingSubject subject) {
        return subject.greedyOptions().isPresent();
    }

    @Override
    public Verdict run(DecodingSubject subject) {
        Map<String, String> options = subject.greedyOptions().orElseThrow();
        for (long seed = 0; seed < DeterministicForSeed.SEEDS; seed++) {
            List<List<GeneratedSequence>> output = DecodingCheck.generate(subject, options,
                    DecodingCheck.withEndToken().seed(seed).build());
            for (int p = 0; p < PROMPTS.length; p++) {
                int[] greedy = greedy(PROMPTS[p]);
                List<GeneratedSequence> sequences = output.get(p);
                boolean equal = sequences.size() == 1 && Arrays.equals(sequences.get(0).tokens(), greedy)
                        && Math.abs(sequences.get(0).logProbability() - logProbability(PROMPTS[p], greedy)) <= TOLERANCE;
                if (!equal) {
                    return Verdict.fail("with " + describe(options) + ", seed " + seed + ": '"
                            + NextTokenTable.words(PROMPTS[p]) + "' continued as " + sequences + "; greedy gives '"
                            + NextTokenTable.words(greedy) + "' with log-probability "
                            + Verdict.number(logProbability(PROMPTS[p], greedy)));
                }
            }
        }
        return Verdict.pass("with " + describe(options) + ", seeds 0.." + (DeterministicForSeed.SEEDS - 1)
                + ": greedy's " + Arrays.stream(PROMPTS).map(p -> NextTokenTable.words(greedy(p))).toList());
    }

    private static String describe(Map<String, String> options) {
        return options.isEmpty() ? "its defaults" : options.toString();
    }

    /** Greedy decoding over the table: the most probable token until the end token. */
    static int[] greedy(int[] prompt) {
        List<Integer> row = new ArrayList<>(Arrays.stream(prompt).boxed().toList());
        int token;
        do {
            int[] context = row.stream().mapToInt(Integer::intValue).toArray();
            token = 0;
            for (int t = 1; t < NextTokenTable.VOCABULARY.size(); t++) {
                if (NextTokenTable.probability(context, t) > NextTokenTable.probability(context, token)) {
                    token = t;
                }
            }
            row.add(token);
        } while (token != NextTokenTable.END);
        return row.subList(prompt.length, row.size()).stream().mapToInt(Integer::intValue).toArray();
    }

    /** The table's log-probability of {@code tokens} after {@code prompt}. */
    static double logProbability(int[] prompt, int[] tokens) {
        double sum = 0;
        int[] row = prompt;
        for (int token : tokens) {
            sum += Math.log(NextTokenTable.probability(row, token));
            row = Arrays.copyOf(row, row.length + 1);
            row[row.length - 1] = token;
        }
        return sum;
    }
}
