package org.xformers4j.compute;

/**
 * Scaled dot-product attention in float64 with plain loops and the full score matrix: the
 * reference the fused kernels ({@link ComputeBackend#scaledDotProductAttention}) are tested
 * against. Same contract: masked keys (padding, causal with end-aligned queries) take no weight, a
 * query with every key masked gets zeros, dropout keeps what {@link AttentionProblem#keeps} keeps
 * and scales it by 1/(1 - p). A {@link Visibility} restricts the keys further, for mechanisms that
 * attend to a band of keys (local, sliding window), and a problem's block layout hides the keys of
 * the blocks it does not list.
 */
public final class AttentionReference {

    /** Gradients of {@link #forward}: query, key, value and (null without a bias) bias. */
    public record Gradients(double[] query, double[] key, double[] value, double[] bias) {
    }

    /** Whether the query at key position {@code position} may see key {@code key}, before padding and causality. */
    @FunctionalInterface
    public interface Visibility {
        boolean visible(int position, int key);
    }

    /** Every key visible: plain softmax attention. */
    public static final Visibility EVERY_KEY = (position, key) -> true;

    private AttentionReference() {
    }

    /** [B, H, Lq, Dv] for q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv], bias in {@code biasShape} or null, mask [B, Lk] or null. */
    public static double[] forward(AttentionProblem p, double[] q, double[] k, double[] v, double[] bias, float[] mask) {
        return forward(p, q, k, v, bias, mask, EVERY_KEY);
    }

    /** {@link #forward} where query i sees only the keys j with {@code visible.visible(Lk - Lq + i, j)}. */
    public static double[] forward(AttentionProblem p, double[] q, double[] k, double[] v, double[] bias, float[] mask,
                                   Visibility visible) {
        double[] out = new double[p.batch() * p.heads() * p.queryLength() * p.valueDim()];
        for (int b = 0; b < p.batch(); b++) {
            for (int h = 0; h < p.heads(); h++) {
                for (int i = 0; i < p.queryLength(); i++) {
                    double[] w = weights(p, q, k, bias, mask, visible, b, h, i);
                    for (int j = 0; j < p.keyLength(); j++) {
                        double a = dropped(p, w[j], b, h, i, j);
                        for (int e = 0; e < p.valueDim(); e++) {
                            out[row(p, b, h, i, p.queryLength()) * p.valueDim() + e] +=
                                    a * v[row(p, b, h, j, p.keyLength()) * p.valueDim() + e];
                        }
                    }
                }
            }
        }
        return out;
    }

    /** The gradients of Σ gradOut · forward, derived by hand (softmax backward through the full weights). */
    public static Gradients backward(AttentionProblem p, double[] q, double[] k, double[] v, double[] bias,
                                     float[] mask, double[] gradOut) {
        int lq = p.queryLength();
        int lk = p.keyLength();
        int d = p.headDim();
        int dv = p.valueDim();
        double s = p.scale();
        double[] dq = new double[q.length];
        double[] dk = new double[k.length];
        double[] dvOut = new double[v.length];
        double[] dBias = bias == null ? null : new double[bias.length];
        for (int b = 0; b < p.batch(); b++) {
            for (int h = 0; h < p.heads(); h++) {
                for (int i = 0; i < lq; i++) {
                    double[] w = weights(p, q, k, bias, mask, EVERY_KEY, b, h, i);
                    int qi = row(p, b, h, i, lq);
                    double[] dw = new double[lk];
                    double dot = 0;
                    for (int j = 0; j < lk; j++) {
                        int kj = row(p, b, h, j, lk);
                        double g = 0;
                        for (int e = 0; e < dv; e++) {
                            g += gradOut[qi * dv + e] * v[kj * dv + e];
                            dvOut[kj * dv + e] += dropped(p, w[j], b, h, i, j) * gradOut[qi * dv + e];
                        }
                        dw[j] = dropped(p, g, b, h, i, j);
                        dot += w[j] * dw[j];
                    }
                    for (int j = 0; j < lk; j++) {
                        double ds = w[j] * (dw[j] - dot);
                        int kj = row(p, b, h, j, lk);
                        for (int c = 0; c < d; c++) {
                            dq[qi * d + c] += s * ds * k[kj * d + c];
                            dk[kj * d + c] += s * ds * q[qi * d + c];
                        }
                        if (dBias != null) {
                            dBias[biasIndex(p, b, h, i, j)] += ds;
                        }
                    }
                }
            }
        }
        return new Gradients(dq, dk, dvOut, dBias);
    }

    /** The softmax weights of query i over every key (zeros when every key is masked). */
    private static double[] weights(AttentionProblem p, double[] q, double[] k, double[] bias, float[] mask,
                                    Visibility band, int b, int h, int i) {
        int lk = p.keyLength();
        int d = p.headDim();
        int position = lk - p.queryLength() + i;
        double[] w = new double[lk];
        boolean[] visible = new boolean[lk];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < lk; j++) {
            visible[j] = band.visible(position, j) && (mask == null || mask[b * lk + j] == 0f)
                    && !(p.causal() && j > position) && p.layoutHolds(h, i, j);
            if (!visible[j]) {
                continue;
            }
            double dot = 0;
            for (int c = 0; c < d; c++) {
                dot += q[row(p, b, h, i, p.queryLength()) * d + c] * k[row(p, b, h, j, lk) * d + c];
            }
            w[j] = p.scale() * dot + (bias == null ? 0 : bias[biasIndex(p, b, h, i, j)]);
            max = Math.max(max, w[j]);
        }
        if (max == Double.NEGATIVE_INFINITY) {
            return new double[lk];
        }
        double sum = 0;
        for (int j = 0; j < lk; j++) {
            w[j] = visible[j] ? Math.exp(w[j] - max) : 0;
            sum += w[j];
        }
        for (int j = 0; j < lk; j++) {
            w[j] /= sum;
        }
        return w;
    }

    private static double dropped(AttentionProblem p, double x, int b, int h, int i, int j) {
        return p.keeps(b, h, i, j) ? x / (1 - (double) p.dropout()) : 0;
    }

    private static int row(AttentionProblem p, int b, int h, int i, int length) {
        return (b * p.heads() + h) * length + i;
    }

    private static int biasIndex(AttentionProblem p, int b, int h, int i, int j) {
        int[] st = p.biasStrides();
        return b * st[0] + h * st[1] + i * st[2] + j * st[3];
    }
}
