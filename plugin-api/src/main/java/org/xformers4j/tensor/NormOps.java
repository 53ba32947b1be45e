package org.xformers4j.tensor;

import org.xformers4j.compute.Buffer;
import org.xformers4j.compute.ComputeBackend;

/**
 * Layer and RMS normalisation over the last dimension, forward and backward: each is one fused
 * node whose backward calls the backend's backward kernel with the per-row statistics the forward
 * kept.
 */
final class NormOps {

    private NormOps() {
    }

    /** Ba et al., 2016: y = (x - mean) / sqrt(var + eps) · gamma + beta over the last dimension. */
    static Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        int dim = check("layerNorm", x, eps, gamma, beta);
        int rows = x.numel() / Math.max(1, dim);
        ComputeBackend backend = x.backend();
        Tensor y = Tensor.zeros(backend, x.shape());
        Tensor mean = Tensor.zeros(backend, rows);
        Tensor rstd = Tensor.zeros(backend, rows);
        backend.layerNorm(x.buffer(), rows, dim, buffer(gamma), buffer(beta), eps, y.buffer(), mean.buffer(),
                rstd.buffer());
        return Tensor.record(y, "layerNorm", g -> {
            Tensor dx = Tensor.zeros(backend, x.shape());
            Tensor dGamma = gradientFor(gamma);
            Tensor dBeta = gradientFor(beta);
            backend.layerNormBackward(x.buffer(), g.buffer(), mean.buffer(), rstd.buffer(), buffer(gamma), rows, dim,
                    dx.buffer(), buffer(dGamma), buffer(dBeta));
            return new Tensor[] {dx, dGamma, dBeta};
        }, x, gamma, beta);
    }

    /** Zhang and Sennrich, 2019: y = x / sqrt(mean(x²) + eps) · gamma over the last dimension. */
    static Tensor rmsNorm(Tensor x, Tensor gamma, float eps) {
        int dim = check("rmsNorm", x, eps, gamma, null);
        int rows = x.numel() / Math.max(1, dim);
        ComputeBackend backend = x.backend();
        Tensor y = Tensor.zeros(backend, x.shape());
        Tensor rstd = Tensor.zeros(backend, rows);
        backend.rmsNorm(x.buffer(), rows, dim, buffer(gamma), eps, y.buffer(), rstd.buffer());
        return Tensor.record(y, "rmsNorm", g -> {
            Tensor dx = Tensor.zeros(backend, x.shape());
            Tensor dGamma = gradientFor(gamma);
            backend.rmsNormBackward(x.buffer(), g.buffer(), rstd.buffer(), buffer(gamma), rows, dim, dx.buffer(),
                    buffer(dGamma));
            return new Tensor[] {dx, dGamma};
        }, x, gamma);
    }

    /** Checks x's rank, eps and the affine parameters' shapes and backends; returns the size of the last dimension. */
    private static int check(String op, Tensor x, float eps, Tensor gamma, Tensor beta) {
        if (x.dim() == 0) {
            throw new IllegalArgumentException(op + ": x must have at least one dimension, got a 0-d tensor");
        }
        if (!(eps >= 0) || Float.isInfinite(eps)) {
            throw new IllegalArgumentException(op + ": eps must be finite and >= 0, got " + eps);
        }
        int dim = x.size(-1);
        checkParameter(op, "gamma", gamma, x, dim);
        checkParameter(op, "beta", beta, x, dim);
        return dim;
    }

    private static void checkParameter(String op, String name, Tensor p, Tensor x, int dim) {
        if (p == null) {
            return;
        }
        if (p.dim() != 1 || p.size(0) != dim) {
            throw new IllegalArgumentException(op + ": " + name + " must have shape [" + dim + "] for x of shape "
                    + Shape.str(x.shape()) + ", got " + Shape.str(p.shape()));
        }
        if (p.backend() != x.backend()) {
            throw new IllegalArgumentException(op + ": " + name + " is on backend " + p.backend().name()
                    + ", x on " + x.backend().name());
        }
    }

    /** A zero gradient for an affine parameter that requires one (the kernels add into it), else null. */
    private static Tensor gradientFor(Tensor p) {
        return p != null && p.requiresGrad() ? p.zerosLike() : null;
    }

    private static Buffer buffer(Tensor t) {
        return t == null ? null : t.buffer();
    }
}
