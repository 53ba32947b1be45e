package org.xformers4j.compute.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Both SGEMM kernels against a float64 triple loop, plus determinism, validation and the pool. */
class SgemmTest {

    private static Parallel one;
    private static Parallel two;
    private static Parallel three;

    @BeforeAll
    static void pools() {
        one = new Parallel(1);
        two = new Parallel(2);
        three = new Parallel(3);
    }

    @AfterAll
    static void release() {
        one = two = three = null;
    }

    static Stream<Sgemm> kernels() {
        List<Sgemm> list = new ArrayList<>();
        list.add(Sgemm.scalar());
        Sgemm simd = GemmSupport.simdOrNull();
        if (simd != null) {
            list.add(simd);
        }
        return list.stream();
    }

    @Test
    void bestIsSimdWhenTheVectorModuleIsPresent() {
        boolean present = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        assertThat(Sgemm.best().name()).isEqualTo(present ? "simd" : "scalar");
        assertThat(Sgemm.scalar().name()).isEqualTo("scalar");
    }

    /** One case: sizes, transposes, scalars, and extra offset / row padding. */
    record Case(int m, int n, int k, boolean ta, boolean tb, float alpha, float beta, int off, int pad) {
        @Override
        public String toString() {
            return m + "x" + n + "x" + k + (ta ? " At" : "") + (tb ? " Bt" : "") + " a=" + alpha + " b=" + beta
                    + " off=" + off + " pad=" + pad;
        }
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        int[][] shapes = {
            {1, 1, 1}, {1, 7, 3}, {5, 1, 9}, {3, 4, 1}, {2, 2, 2}, {7, 9, 11}, {8, 32, 16}, {9, 33, 17},
            {15, 31, 257}, {17, 65, 40}, {33, 47, 300}, {64, 64, 64}, {100, 3, 70}, {3, 100, 70},
            {97, 130, 513}, {130, 600, 20}, {200, 17, 260}, {1, 600, 600}, {600, 1, 30},
        };
        float[][] scalars = {{1f, 0f}, {0.5f, 1f}, {-2f, 0.25f}};
        int i = 0;
        for (int[] s : shapes) {
            for (int t = 0; t < 4; t++) {
                float[] ab = scalars[(i + t) % scalars.length];
                int off = (i + t) % 3 == 0 ? 0 : 5;
                int pad = (i + t) % 2 == 0 ? 0 : 3;
                out.add(Arguments.of(new Case(s[0], s[1], s[2], (t & 1) != 0, (t & 2) != 0, ab[0], ab[1], off, pad)));
            }
            i++;
        }
        return out.stream();
    }

    static Stream<Arguments> kernelsAndCases() {
        return kernels().flatMap(kern -> cases().map(a -> Arguments.of(kern, a.get()[0])));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("kernelsAndCases")
    void matchesFloat64Reference(Sgemm kernel, Case c) {
        Problem p = new Problem(c, 42L + c.hashCode());
        float[] got = p.c.clone();
        kernel.gemm(c.ta, c.tb, c.m, c.n, c.k, c.alpha, p.a, p.aOff, p.lda, p.b, p.bOff, p.ldb,
                c.beta, got, p.cOff, p.ldc, two);
        double[] want = p.reference();
        for (int i = 0; i < c.m; i++) {
            for (int j = 0; j < c.n; j++) {
                int idx = p.cOff + i * p.ldc + j;
                double tol = 1e-5 * (Math.abs(c.alpha) * p.absDot(i, j) + Math.abs(c.beta)) + 1e-6;
                if (Math.abs(got[idx] - want[idx]) > tol) {
                    fail("C[%d][%d] = %s, want %s (tol %s) for %s", i, j, got[idx], want[idx], tol, c);
                }
            }
        }
        // padding between rows and around C is untouched
        for (int idx = 0; idx < got.length; idx++) {
            int rel = idx - p.cOff;
            boolean inside = rel >= 0 && rel / p.ldc < c.m && rel % p.ldc < c.n;
            if (!inside && got[idx] != p.c[idx]) {
                fail("C padding at %d changed for %s", idx, c);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("kernels")
    void resultDoesNotDependOnThreadCount(Sgemm kernel) {
        int[][] shapes = {{257, 300, 700}, {1000, 40, 64}, {9, 1100, 300}, {8, 8, 8}, {1, 2000, 300}, {3, 1001, 37},
            {8, 700, 129}};
        for (int[] s : shapes) {
            for (int t = 0; t < 4; t++) {
                Case c = new Case(s[0], s[1], s[2], (t & 1) != 0, (t & 2) != 0, 0.75f, 0.5f, 3, 1);
                Problem p = new Problem(c, 7L);
                float[] r1 = p.c.clone();
                float[] r2 = p.c.clone();
                float[] r3 = p.c.clone();
                kernel.gemm(c.ta, c.tb, c.m, c.n, c.k, c.alpha, p.a, p.aOff, p.lda, p.b, p.bOff, p.ldb, c.beta, r1, p.cOff, p.ldc, one);
                kernel.gemm(c.ta, c.tb, c.m, c.n, c.k, c.alpha, p.a, p.aOff, p.lda, p.b, p.bOff, p.ldb, c.beta, r2, p.cOff, p.ldc, two);
                kernel.gemm(c.ta, c.tb, c.m, c.n, c.k, c.alpha, p.a, p.aOff, p.lda, p.b, p.bOff, p.ldb, c.beta, r3, p.cOff, p.ldc, three);
                assertThat(r2).as("2 threads vs 1, %s", c).isEqualTo(r1);
                assertThat(r3).as("3 threads vs 1, %s", c).isEqualTo(r1);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("kernels")
    void betaZeroOverwritesNaN(Sgemm kernel) {
        for (int m : new int[] {13, 2}) {
            betaZeroOverwritesNaN(kernel, m);
        }
    }

    private void betaZeroOverwritesNaN(Sgemm kernel, int m) {
        int n = 37;
        int k = 5;
        float[] a = new float[m * k];
        float[] b = new float[k * n];
        java.util.Arrays.fill(a, 1f);
        java.util.Arrays.fill(b, 2f);
        float[] c = new float[m * n];
        java.util.Arrays.fill(c, Float.NaN);
        kernel.gemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n, two);
        assertThat(c).containsOnly(10f);
        java.util.Arrays.fill(c, Float.NaN);
        kernel.gemm(false, true, m, n, k, 1f, a, 0, k, b, 0, k, 0f, c, 0, n, two);
        assertThat(c).as("B transposed").containsOnly(10f);
        // k == 0 and alpha == 0: C = beta * C, still no NaN from C when beta == 0
        java.util.Arrays.fill(c, Float.NaN);
        kernel.gemm(false, false, m, n, 0, 1f, a, 0, 1, b, 0, n, 0f, c, 0, n, two);
        assertThat(c).containsOnly(0f);
        java.util.Arrays.fill(c, 3f);
        a[0] = Float.NaN;
        kernel.gemm(false, false, m, n, k, 0f, a, 0, k, b, 0, n, 2f, c, 0, n, two);
        assertThat(c).containsOnly(6f);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("kernels")
    void emptyShapesAreNoOps(Sgemm kernel) {
        float[] c = {1f, 2f};
        kernel.gemm(false, false, 0, 2, 3, 1f, new float[0], 0, 3, new float[6], 0, 2, 0f, c, 0, 2, two);
        kernel.gemm(false, false, 1, 0, 3, 1f, new float[3], 0, 3, new float[0], 0, 1, 0f, c, 0, 1, two);
        assertThat(c).containsExactly(1f, 2f);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("kernels")
    void validatesArguments(Sgemm kernel) {
        float[] a = new float[6];
        float[] b = new float[6];
        float[] c = new float[4];
        assertThatThrownBy(() -> kernel.gemm(false, false, -1, 2, 3, 1f, a, 0, 3, b, 0, 2, 0f, c, 0, 2, two))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("m").hasMessageContaining("-1");
        assertThatThrownBy(() -> kernel.gemm(false, false, 2, -2, 3, 1f, a, 0, 3, b, 0, 2, 0f, c, 0, 2, two))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("n").hasMessageContaining("-2");
        assertThatThrownBy(() -> kernel.gemm(false, false, 2, 2, -3, 1f, a, 0, 3, b, 0, 2, 0f, c, 0, 2, two))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("k").hasMessageContaining("-3");
        assertThatThrownBy(() -> kernel.gemm(false, false, 2, 2, 3, 1f, a, 0, 2, b, 0, 2, 0f, c, 0, 2, two))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lda").hasMessageContaining("2");
        assertThatThrownBy(() -> kernel.gemm(false, false, 2, 2, 3, 1f, a, 1, 3, b, 0, 2, 0f, c, 0, 2, two))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("aOffset").hasMessageContaining("1");
        assertThatThrownBy(() -> kernel.gemm(false, false, 2, 2, 3, 1f, a, -1, 3, b, 0, 2, 0f, c, 0, 2, two))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("aOffset").hasMessageContaining("-1");
        assertThatThrownBy(() -> kernel.gemm(false, true, 2, 2, 3, 1f, a, 0, 3, b, 0, 4, 0f, c, 0, 2, two))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ldb").hasMessageContaining("4");
        assertThatThrownBy(() -> kernel.gemm(false, false, 2, 2, 3, 1f, a, 0, 3, b, 0, 2, 0f, c, 0, 1, two))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ldc").hasMessageContaining("1");
        assertThatThrownBy(() -> kernel.gemm(false, false, 2, 2, 3, 1f, a, 0, 3, b, 0, 2, 0f, c, 1, 2, two))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cOffset");
        // transA: A is k x m = 3 x 2 with lda >= 2
        kernel.gemm(true, false, 2, 2, 3, 1f, a, 0, 2, b, 0, 2, 0f, c, 0, 2, two);
        assertThatThrownBy(() -> kernel.gemm(true, false, 2, 2, 3, 1f, a, 0, 3, b, 0, 2, 0f, c, 0, 2, two))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("aOffset");
        assertThatThrownBy(() -> kernel.gemm(false, false, 2, 2, 3, 1f, null, 0, 3, b, 0, 2, 0f, c, 0, 2, two))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("a");
    }

    @Test
    void parallelRunsEveryIndexOnceAndPropagatesFailures() {
        for (Parallel p : new Parallel[] {one, two, three}) {
            for (int n : new int[] {0, 1, 5, 100, 1001}) {
                for (int grain : new int[] {1, 7, 2000}) {
                    AtomicInteger[] hits = new AtomicInteger[n];
                    for (int i = 0; i < n; i++) {
                        hits[i] = new AtomicInteger();
                    }
                    p.forRange(n, grain, (from, to) -> {
                        assertThat(to - from).isGreaterThanOrEqualTo(Math.min(grain, n));
                        for (int i = from; i < to; i++) {
                            hits[i].incrementAndGet();
                        }
                    });
                    for (AtomicInteger h : hits) {
                        assertThat(h.get()).isEqualTo(1);
                    }
                }
            }
            assertThatThrownBy(() -> p.forRange(100, 1, (from, to) -> {
                if (from <= 50 && 50 < to) {
                    throw new IllegalStateException("boom at " + from);
                }
            })).isInstanceOf(IllegalStateException.class).hasMessageContaining("boom");
            // nested calls run inline and do not deadlock
            AtomicInteger total = new AtomicInteger();
            p.forRange(8, 1, (from, to) -> p.forRange(10, 1, (f2, t2) -> total.addAndGet(t2 - f2)));
            assertThat(total.get()).isEqualTo(p.threads() == 1 ? 10 : 10 * Math.min(8, p.threads() * 4));
        }
    }

    @Test
    void workerThreadsAreNamedDaemons() throws Exception {
        Parallel p = new Parallel(2);
        List<Thread> seen = new ArrayList<>();
        p.forRange(64, 1, (from, to) -> {
            synchronized (seen) {
                seen.add(Thread.currentThread());
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertThat(seen).anySatisfy(t -> {
            assertThat(t.getName()).startsWith("xformers4j-cpu-");
            assertThat(t.isDaemon()).isTrue();
        });
    }

    @Test
    void threadsPropertyIsValidated() {
        String old = System.getProperty(Parallel.THREADS_PROPERTY);
        try {
            System.setProperty(Parallel.THREADS_PROPERTY, "3");
            assertThat(Parallel.threadsFromProperty()).isEqualTo(3);
            for (String bad : new String[] {"0", "-2", "many"}) {
                System.setProperty(Parallel.THREADS_PROPERTY, bad);
                assertThatThrownBy(Parallel::threadsFromProperty)
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining(Parallel.THREADS_PROPERTY).hasMessageContaining(bad);
            }
            System.clearProperty(Parallel.THREADS_PROPERTY);
            assertThat(Parallel.threadsFromProperty()).isEqualTo(Runtime.getRuntime().availableProcessors());
        } finally {
            if (old == null) {
                System.clearProperty(Parallel.THREADS_PROPERTY);
            } else {
                System.setProperty(Parallel.THREADS_PROPERTY, old);
            }
        }
        assertThatThrownBy(() -> new Parallel(0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0");
    }

    /** Random operands laid out with an offset and padded rows, C prefilled. */
    private static final class Problem {
        final Case cs;
        final float[] a;
        final float[] b;
        /** C before the call. */
        final float[] c;
        final int aOff;
        final int bOff;
        final int cOff;
        final int lda;
        final int ldb;
        final int ldc;

        Problem(Case cs, long seed) {
            this.cs = cs;
            Random r = new Random(seed);
            int aRows = cs.ta ? cs.k : cs.m;
            int aCols = cs.ta ? cs.m : cs.k;
            int bRows = cs.tb ? cs.n : cs.k;
            int bCols = cs.tb ? cs.k : cs.n;
            lda = aCols + cs.pad;
            ldb = bCols + cs.pad;
            ldc = cs.n + cs.pad;
            aOff = cs.off;
            bOff = cs.off * 2;
            cOff = cs.off + 1;
            a = random(r, aOff + aRows * lda + 2);
            b = random(r, bOff + bRows * ldb + 2);
            c = random(r, cOff + cs.m * ldc + 2);
        }

        private static float[] random(Random r, int len) {
            float[] x = new float[len];
            for (int i = 0; i < len; i++) {
                x[i] = r.nextFloat() * 2f - 1f;
            }
            return x;
        }

        double opA(int i, int p) {
            return cs.ta ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
        }

        double opB(int p, int j) {
            return cs.tb ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
        }

        double absDot(int i, int j) {
            double s = 0;
            for (int p = 0; p < cs.k; p++) {
                s += Math.abs(opA(i, p) * opB(p, j));
            }
            return s;
        }

        double[] reference() {
            double[] out = new double[c.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = c[i];
            }
            for (int i = 0; i < cs.m; i++) {
                for (int j = 0; j < cs.n; j++) {
                    double s = 0;
                    for (int p = 0; p < cs.k; p++) {
                        s += opA(i, p) * opB(p, j);
                    }
                    int idx = cOff + i * ldc + j;
                    out[idx] = cs.alpha * s + (cs.beta == 0f ? 0 : cs.beta * (double) c[idx]);
                }
            }
            return out;
        }
    }
}
