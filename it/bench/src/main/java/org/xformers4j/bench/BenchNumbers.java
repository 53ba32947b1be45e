package org.xformers4j.bench;

import java.math.BigDecimal;
import java.math.MathContext;

/** How the benchmarks print their measurements. */
public final class BenchNumbers {

    private BenchNumbers() {
    }

    /**
     * {@code x} to 5 significant digits, in plain notation (a JSON number): a fixed number of
     * decimals would print a small but real measurement as 0, as it did for tiny benchmarks on a
     * loaded machine. A non-finite value prints as {@code null}.
     */
    public static String format(double x) {
        if (!Double.isFinite(x)) {
            return "null";
        }
        return new BigDecimal(x).round(new MathContext(5)).stripTrailingZeros().toPlainString();
    }
}
