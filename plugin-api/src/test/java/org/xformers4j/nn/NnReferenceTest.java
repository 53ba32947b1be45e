package org.xformers4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class NnReferenceTest {

    @Test
    void erfMatchesTabulatedValues() {
        // Abramowitz and Stegun, table 7.1, and erf(3) from the same table's continuation.
        assertThat(NnReference.erf(0.5)).isCloseTo(0.5204998778130465, within(1e-14));
        assertThat(NnReference.erf(1.0)).isCloseTo(0.8427007929497149, within(1e-14));
        assertThat(NnReference.erf(2.0)).isCloseTo(0.9953222650189527, within(1e-14));
        assertThat(NnReference.erf(2.5)).isCloseTo(0.9995930479825550, within(1e-13));
        assertThat(NnReference.erf(3.0)).isCloseTo(0.9999779095030014, within(1e-14));
        assertThat(NnReference.erf(-1.0)).isCloseTo(-0.8427007929497149, within(1e-14));
        assertThat(NnReference.erf(2.4999999)).isCloseTo(NnReference.erf(2.5), within(1e-8));
    }
}
