package org.xformers4j.attention.kernel;

/** Feature maps that act on each element of a row alone and cannot overflow (their peak is 0). */
enum ElementwiseFeatureMap implements FeatureMap {

    /** φ(x) = x: the features were computed before the product. */
    IDENTITY {
        @Override
        void apply(double[] x, double[] phi) {
            System.arraycopy(x, 0, phi, 0, x.length);
        }

        @Override
        double derivative(double x, double phi) {
            return 1;
        }
    },

    /**
     * φ(x) = elu(x) + 1 = x + 1 for x &gt; 0, eˣ otherwise (Katharopoulos et al., 2020, eq. 7), whose
     * derivative is 1 for x &gt; 0 and eˣ = φ(x) otherwise.
     */
    ELU_PLUS_ONE {
        @Override
        void apply(double[] x, double[] phi) {
            for (int c = 0; c < x.length; c++) {
                phi[c] = x[c] > 0 ? x[c] + 1 : Math.exp(x[c]);
            }
        }

        @Override
        double derivative(double x, double phi) {
            return x > 0 ? 1 : phi;
        }
    };

    /** φ of every element of {@code x} into {@code phi}. */
    abstract void apply(double[] x, double[] phi);

    /** dφ/dx at {@code x}, where φ(x) = {@code phi}. */
    abstract double derivative(double x, double phi);

    @Override
    public int size(int headDim) {
        return headDim;
    }

    /** Copies each row into its {@code pre}; the peaks are 0. */
    @Override
    public void prepare(double[][] x, int rows, double[][] pre, double[] peaks) {
        for (int r = 0; r < rows; r++) {
            System.arraycopy(x[r], 0, pre[r], 0, x[r].length);
            peaks[r] = 0;
        }
    }

    /** φ of the row; the shift is always 0 for these maps and is ignored. */
    @Override
    public void features(double[] pre, double shift, double[] phi) {
        apply(pre, phi);
    }

    @Override
    public void backward(double[][] x, double[][] pre, double[][] phi, double[][] dphi, double[][] dx, int from,
                         int rows) {
        for (int r = from; r < from + rows; r++) {
            for (int c = 0; c < x[r].length; c++) {
                dx[r][c] = dphi[r][c] * derivative(pre[r][c], phi[r][c]);
            }
        }
    }
}
