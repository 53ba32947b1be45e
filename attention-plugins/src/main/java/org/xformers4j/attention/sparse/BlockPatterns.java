package org.xformers4j.attention.sparse;

import java.util.random.RandomGenerator;

/**
 * The named block patterns, one row (query block {@code qb} of {@code n} blocks) at a time, as
 * DeepSpeed's sparsity configurations define them (Microsoft, 2020, {@code
 * deepspeed/ops/sparse_attention/sparsity_config.py}, which xFormers adopts); the causal variants
 * are the same rows without the blocks after the row's own ({@link BlockRows}).
 */
final class BlockPatterns {

    private BlockPatterns() {
    }

    /**
     * Fixed (Child et al., 2019, §4.2, "fixed"; DeepSpeed's {@code FixedSparsityConfig}): the
     * sequence is cut into windows of {@code local} blocks and a block sees its own window; the
     * last {@code global} blocks of every window (for head h the {@code h mod patterns}-th group from
     * the end: different heads summarise windows by different blocks) are seen by every block
     * (vertical global attention; the last, short window included).
     */
    static void fixed(BlockRows rows, int h, int n, int local, int global, int patterns) {
        int qb = rows.queryBlock();
        int window = qb / local * local;
        rows.addRange(window, window + local);
        if (global == 0) {
            return;
        }
        int first = local - (1 + h % patterns) * global;
        int end = n - n % local;
        for (int i = first; i < end; i += local) {
            rows.addRange(i, i + global);
        }
        if (end < n) {
            int start = Math.max(0, Math.min(end + first, n - global));
            rows.addRange(start, start + global);
        }
    }

    /**
     * Strided (Child et al., 2019, §4.2, "strided", the two heads' sets merged into one, their
     * §4.3): a block sees the {@code stride - 1} blocks on each side of it (the previous ones only,
     * causal) and every block a multiple of {@code stride} away.
     */
    static void strided(BlockRows rows, int n, int stride) {
        int qb = rows.queryBlock();
        rows.addRange(qb - stride + 1, qb + stride);
        for (int kb = qb % stride; kb < n; kb += stride) {
            rows.add(kb);
        }
    }

    /**
     * BigBird (Zaheer et al., 2020, §2, ITC; DeepSpeed's {@code BigBirdSparsityConfig}): a sliding
     * window of {@code window} blocks centred on the block, the first {@code global} blocks (seen by
     * every block, and seeing every block), and {@code random} distinct blocks drawn uniformly from
     * those the row may see (all, or up to its own when causal).
     */
    static void bigBird(BlockRows rows, int n, int window, int global, int random, boolean causal,
                        RandomGenerator rng) {
        longformer(rows, n, window, global);
        int qb = rows.queryBlock();
        sample(rows, causal ? qb + 1 : n, random, -1, rng);
    }

    /**
     * Longformer with blocks (Beltagy et al., 2020, §3.1; DeepSpeed's {@code
     * BSLongformerSparsityConfig}): a sliding window of {@code window} blocks centred on the block,
     * and the first {@code global} blocks, seen by every block and seeing every block.
     */
    static void longformer(BlockRows rows, int n, int window, int global) {
        int qb = rows.queryBlock();
        rows.addRange(qb - window / 2, qb + window / 2 + 1);
        rows.addRange(0, global);
        if (qb < global) {
            rows.addRange(0, n);
        }
    }

    /**
     * Random blocks of a given density (for timing the kernel against the density): the block's
     * own block and ⌈density · m⌉ − 1 others drawn uniformly, m the blocks the row may see.
     */
    static void random(BlockRows rows, int n, double density, boolean causal, RandomGenerator rng) {
        int qb = rows.queryBlock();
        int m = causal ? qb + 1 : n;
        rows.add(qb);
        sample(rows, m, (int) Math.ceil(density * m - 1e-9) - 1, qb, rng);
    }

    /**
     * Adds {@code k} distinct blocks drawn uniformly from [0, m) without {@code skip} (-1 for none),
     * by Floyd's algorithm (Bentley, 1987, "A sample of brilliance"): all of them when there are
     * at most k.
     */
    private static void sample(BlockRows rows, int m, int k, int skip, RandomGenerator rng) {
        int pool = skip >= 0 && skip < m ? m - 1 : m;
        if (k >= pool) {
            for (int kb = 0; kb < m; kb++) {
                rows.add(kb);
            }
            return;
        }
        boolean[] chosen = new boolean[pool];
        for (int j = pool - k; j < pool; j++) {
            int t = rng.nextInt(j + 1);
            int pick = chosen[t] ? j : t;
            chosen[pick] = true;
            rows.add(skip >= 0 && pick >= skip ? pick + 1 : pick);
        }
    }
}
