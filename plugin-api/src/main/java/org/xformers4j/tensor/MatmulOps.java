package org.xformers4j.tensor;

import java.util.Arrays;
import org.xformers4j.compute.ComputeBackend;

/** Batched matrix products with broadcasting and transposed operands, forward and backward. */
final class MatmulOps {

    private MatmulOps() {
    }

    static Tensor matmul(Tensor a, Tensor b, boolean ta, boolean tb) {
        if (a.backend() != b.backend()) {
            throw new IllegalArgumentException("matmul: operands on backends " + a.backend().name() + " and "
                    + b.backend().name());
        }
        if (a.dim() == 0 || b.dim() == 0) {
            throw new IllegalArgumentException("matmul: operands must have at least one dimension, got shapes "
                    + Shape.str(a.shape()) + " and " + Shape.str(b.shape()));
        }
        if ((a.dim() == 1 && ta) || (b.dim() == 1 && tb)) {
            throw new IllegalArgumentException("matmul: a 1-d operand cannot be transposed");
        }
        boolean vectorLeft = a.dim() == 1;
        boolean vectorRight = b.dim() == 1;
        Tensor left = vectorLeft ? a.unsqueeze(0) : a;
        Tensor right = vectorRight ? b.unsqueeze(-1) : b;
        Tensor out = matmul2d(left, right, ta, tb);
        if (vectorRight) {
            out = out.squeeze(-1);
        }
        if (vectorLeft) {
            out = out.squeeze(vectorRight ? -1 : -2);
        }
        return out;
    }

    private static Tensor matmul2d(Tensor a, Tensor b, boolean ta, boolean tb) {
        Tensor out = product(a, ta, b, tb);
        int[] aShape = a.shape();
        int[] bShape = b.shape();
        return Tensor.record(out, "matmul", g -> new Tensor[] {
            a.requiresGrad() ? gradLeft(g, b, ta, tb, aShape) : null,
            b.requiresGrad() ? gradRight(g, a, ta, tb, bShape) : null
        }, a, b);
    }

    /**
     * x Wᵀ + b over the last dimension, x [..., in], W [out, in], b [out]: the bias is written into the
     * output rows and the product accumulated onto it by the GEMM (beta = 1), which saves the pass
     * over the output a separate broadcast addition takes. Gradients: dx = g W, dW = gᵀ x with x's
     * leading dimensions folded into rows, db = g summed over rows.
     */
    static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        int in = weight.size(-1);
        int out = weight.size(0);
        if (weight.dim() != 2 || bias.dim() != 1 || bias.size(0) != out || x.dim() == 0 || x.size(-1) != in) {
            throw new IllegalArgumentException("linear: input " + Shape.str(x.shape()) + ", weight "
                    + Shape.str(weight.shape()) + " and bias " + Shape.str(bias.shape())
                    + " must be [..., in], [out, in] and [out]");
        }
        if (x.backend() != weight.backend() || x.backend() != bias.backend()) {
            throw new IllegalArgumentException("linear: operands on backends " + x.backend().name() + ", "
                    + weight.backend().name() + " and " + bias.backend().name());
        }
        int rows = x.numel() / in;
        Tensor x2 = x.reshape(rows, in);
        ComputeBackend backend = x.backend();
        Tensor y = Tensor.zeros(backend, rows, out);
        backend.copyStrided(new int[] {rows, out}, bias.buffer(), 0, new int[] {0, 1}, y.buffer(), 0,
                new int[] {out, 1});
        backend.gemm(1, false, true, rows, out, in, 1f, x2.buffer(), new int[] {0}, in, weight.buffer(),
                new int[] {0}, in, 1f, y.buffer(), new int[] {0}, out);
        int[] xShape = x2.shape();
        int[] wShape = weight.shape();
        Tensor recorded = Tensor.record(y, "linear", g -> new Tensor[] {
            x2.requiresGrad() ? gradLeft(g, weight, false, true, xShape) : null,
            weight.requiresGrad() ? gradRight(g, x2, false, true, wShape) : null,
            bias.requiresGrad() ? Broadcast.sumTo(g, bias.shape()) : null
        }, x2, weight, bias);
        int[] outShape = x.shape();
        outShape[outShape.length - 1] = out;
        return recorded.reshape(outShape);
    }

    /** dA for C = op(A) op(B): stored like A, so (dC op(B)^T), transposed back when A was. */
    private static Tensor gradLeft(Tensor g, Tensor b, boolean ta, boolean tb, int[] aShape) {
        if (aShape.length == 2 && b.dim() > 2) {
            return singleMatrixGradLeft(g, b, ta, tb, aShape);
        }
        Tensor d = ta ? product(b, tb, g, true) : product(g, false, b, !tb);
        return Broadcast.sumTo(d, aShape);
    }

    /**
     * dA for one matrix A against a batch of B (Linformer's projection E·K_i): the items'
     * gradients G_i op(B_i)ᵀ (stored transposed when A is) summed into dA one GEMM at a time
     * (beta = 1), so no [batch, ..] buffer of per-item gradients is formed: at a million keys and
     * k = 256 that buffer is 1 GiB per batch item and head.
     */
    private static Tensor singleMatrixGradLeft(Tensor g, Tensor b, boolean ta, boolean tb, int[] aShape) {
        int m = g.size(-2);
        int n = g.size(-1);
        int inner = ta ? aShape[0] : aShape[1];
        int bSize = b.size(-2) * b.size(-1);
        int count = b.numel() / bSize;
        ComputeBackend backend = g.backend();
        Tensor out = Tensor.zeros(backend, aShape);
        for (int i = 0; i < count; i++) {
            int[] gOffset = {i * m * n};
            int[] bOffset = {i * bSize};
            float beta = i == 0 ? 0f : 1f;
            if (ta) {   // dA [inner, m] += op(B_i) G_iᵀ
                backend.gemm(1, tb, true, inner, m, n, 1f, b.buffer(), bOffset, b.size(-1), g.buffer(), gOffset, n,
                        beta, out.buffer(), new int[] {0}, m);
            } else {    // dA [m, inner] += G_i op(B_i)ᵀ
                backend.gemm(1, false, !tb, m, inner, n, 1f, g.buffer(), gOffset, n, b.buffer(), bOffset, b.size(-1),
                        beta, out.buffer(), new int[] {0}, inner);
            }
        }
        return out;
    }

    /** dB for C = op(A) op(B), stored like B; folds A's batch into rows when B is a single matrix. */
    private static Tensor gradRight(Tensor g, Tensor a, boolean ta, boolean tb, int[] bShape) {
        if (bShape.length == 2 && a.dim() > 2 && !ta) {
            int k = a.size(-1);
            int n = g.size(-1);
            Tensor a2 = new Tensor(a.buffer(), new int[] {a.numel() / k, k});
            Tensor g2 = new Tensor(g.buffer(), new int[] {g.numel() / n, n});
            return tb ? product(g2, true, a2, false) : product(a2, true, g2, false);
        }
        Tensor d = tb ? product(g, true, a, ta) : product(a, !ta, g, false);
        return Broadcast.sumTo(d, bShape);
    }

    /** op(x) · op(y) for tensors of rank &gt;= 2 with broadcast batch dimensions; records nothing. */
    static Tensor product(Tensor x, boolean tx, Tensor y, boolean ty) {
        int[] xs = x.shape();
        int[] ys = y.shape();
        int xr = xs.length;
        int yr = ys.length;
        int m = tx ? xs[xr - 1] : xs[xr - 2];
        int k = tx ? xs[xr - 2] : xs[xr - 1];
        int ky = ty ? ys[yr - 1] : ys[yr - 2];
        int n = ty ? ys[yr - 2] : ys[yr - 1];
        if (k != ky) {
            throw new IllegalArgumentException("matmul: shapes " + Shape.str(xs) + (tx ? "ᵀ" : "") + " and "
                    + Shape.str(ys) + (ty ? "ᵀ" : "") + " do not match: inner sizes " + k + " and " + ky);
        }
        ComputeBackend backend = x.backend();
        int[] xBatch = Arrays.copyOf(xs, xr - 2);
        int[] yBatch = Arrays.copyOf(ys, yr - 2);
        int[] batch = Shape.broadcast("matmul", xBatch, yBatch);
        int[] outShape = Arrays.copyOf(batch, batch.length + 2);
        outShape[batch.length] = m;
        outShape[batch.length + 1] = n;
        Tensor out = Tensor.zeros(backend, outShape);
        int lda = xs[xr - 1];
        int ldb = ys[yr - 1];
        if (yr == 2 && !tx) {
            // One weight matrix: fold x's batch into the rows of a single product.
            int rows = x.numel() / k;
            backend.gemm(1, false, ty, rows, n, k, 1f, x.buffer(), new int[] {0}, lda, y.buffer(), new int[] {0}, ldb,
                    0f, out.buffer(), new int[] {0}, n);
            return out;
        }
        int count = Shape.numel(batch);
        int[] xStrides = Shape.broadcastStrides(xBatch, batch);
        int[] yStrides = Shape.broadcastStrides(yBatch, batch);
        int[] xOffsets = new int[count];
        int[] yOffsets = new int[count];
        int[] cOffsets = new int[count];
        int[] index = new int[batch.length];
        for (int i = 0; i < count; i++) {
            int xo = 0;
            int yo = 0;
            for (int d = 0; d < batch.length; d++) {
                xo += index[d] * xStrides[d];
                yo += index[d] * yStrides[d];
            }
            xOffsets[i] = xo * m * k;
            yOffsets[i] = yo * k * n;
            cOffsets[i] = i * m * n;
            for (int d = batch.length - 1; d >= 0 && ++index[d] == batch[d]; d--) {
                index[d] = 0;
            }
        }
        backend.gemm(count, tx, ty, m, n, k, 1f, x.buffer(), xOffsets, lda, y.buffer(), yOffsets, ldb,
                0f, out.buffer(), cOffsets, n);
        return out;
    }
}
