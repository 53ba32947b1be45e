package org.xformers4j.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Benchmark numbers are printed to significant digits, so a tiny benchmark on a loaded machine never
 * reports a real, positive measurement as 0 (a fixed two decimals printed 0.004 GFLOP/s as 0.00 and
 * failed a test whenever the machine was busy).
 */
class BenchNumbersTest {

    @Test
    void smallMeasurementsStayPositiveAndLargeOnesKeepFiveSignificantDigits() {
        assertThat(BenchNumbers.format(0.0041234567)).isEqualTo("0.0041235");
        assertThat(BenchNumbers.format(3.2e-9)).isEqualTo("0.0000000032");
        assertThat(BenchNumbers.format(401.674)).isEqualTo("401.67");
        assertThat(BenchNumbers.format(123456.7)).isEqualTo("123460");
        assertThat(BenchNumbers.format(2.0)).isEqualTo("2");
    }

    @Test
    void aNonFiniteMeasurementIsJsonNull() {
        assertThat(BenchNumbers.format(Double.POSITIVE_INFINITY)).isEqualTo("null");
        assertThat(BenchNumbers.format(Double.NaN)).isEqualTo("null");
    }
}
