package org.xformers4j.component.conformance;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.xformers4j.nn.KvCache;

/**
 * {@code cached-generation}: a {@link TinyLanguageModel} around the mechanism generates
 * {@value #NEW_TOKENS} tokens greedily from two prompts of {@value #PROMPT_LENGTH} tokens, once
 * with a {@link KvCache} per layer (the prompt in one pass, then one token per step) and once
 * recomputing the whole prefix at every step, as incremental decoding in a Transformer decoder must
 * allow (Vaswani et al., 2017). After step {@value #REORDER_AFTER} the caches are reordered as beam
 * search reorders them, swapping the rows and duplicating one, and the sequences with them. Every
 * step must choose the same tokens both ways, with logits within {@value #TOLERANCE}·(1 + |logit|).
 */
final class CachedGeneration implements AttentionCheck {

    static final int PROMPT_LENGTH = 3;
    static final int NEW_TOKENS = 8;
    static final int REORDER_AFTER = 3;
    static final double TOLERANCE = 1e-4;

    private static final int[][] PROMPTS = {{3, 7, 1}, {10, 2, 8}};
    /** Row i after the reordering continues row ORIGINS[i]: the rows swap and row 0 is duplicated. */
    private static final int[] ORIGINS = {1, 0, 0};

    @Override
    public String name() {
        return "cached-generation";
    }

    @Override
    public boolean appliesTo(Subject subject) {
        return subject.capabilities().incrementalDecoding() && subject.capabilities().causal();
    }

    @Override
    public Verdict run(Subject subject) {
        // a mechanism with a bounded length is built for the whole generation
        String lengthOption = subject.capabilities().lengthOption();
        Map<String, String> options = lengthOption.isEmpty() ? Map.of()
                : Map.of(lengthOption, Integer.toString(PROMPT_LENGTH + NEW_TOKENS));
        TinyLanguageModel model = new TinyLanguageModel(() -> subject.configure(options), Problem.HEADS,
                Problem.HEAD_DIM, SEED + 8);
        List<KvCache> caches = model.newCaches();
        int[][] sequences = PROMPTS.clone();
        int[][] fed = PROMPTS;
        double worst = 0;
        for (int step = 1; step <= NEW_TOKENS; step++) {
            float[] cached = model.nextTokenLogits(fed, caches);
            float[] recomputed = model.nextTokenLogits(sequences, null);
            int rows = sequences.length;
            fed = new int[rows][];
            for (int row = 0; row < rows; row++) {
                int from = row * TinyLanguageModel.VOCABULARY;
                int to = from + TinyLanguageModel.VOCABULARY;
                float[] expected = Arrays.copyOfRange(recomputed, from, to);
                float[] actual = Arrays.copyOfRange(cached, from, to);
                double error = Values.maxRelativeError(expected, actual);
                if (error > TOLERANCE) {
                    return Verdict.fail(at(step, row) + "logits with KvCaches differ from recomputing the prefix by "
                            + Verdict.number(error) + " relative (tolerance " + Verdict.number(TOLERANCE) + ")");
                }
                int token = argmax(actual);
                int expectedToken = argmax(expected);
                if (token != expectedToken) {
                    return Verdict.fail(at(step, row) + "chose token " + token + " with KvCaches, " + expectedToken
                            + " recomputing the prefix");
                }
                worst = Math.max(worst, error);
                sequences[row] = append(sequences[row], token);
                fed[row] = new int[] {token};
            }
            if (step == REORDER_AFTER) {
                caches.forEach(cache -> cache.reorder(ORIGINS));
                sequences = reorder(sequences);
                fed = reorder(fed);
            }
        }
        return Verdict.within(NEW_TOKENS + " greedy tokens from " + PROMPTS.length + " prompts with KvCaches, rows "
                + "reordered " + Arrays.toString(ORIGINS) + " after step " + REORDER_AFTER + ", against recomputing "
                + "the prefix: same tokens; logits relative", worst, TOLERANCE);
    }

    private static String at(int step, int row) {
        return "step " + step + ", row " + row + ": ";
    }

    /** The index of the largest value, the lowest on ties. */
    private static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    private static int[] append(int[] sequence, int token) {
        int[] out = Arrays.copyOf(sequence, sequence.length + 1);
        out[sequence.length] = token;
        return out;
    }

    private static int[][] reorder(int[][] rows) {
        return Arrays.stream(ORIGINS).mapToObj(origin -> rows[origin]).toArray(int[][]::new);
    }
}
