package org.xformers4j.optim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.xformers4j.tensor.Tensor;

class NonFiniteTest {

    private static Map<String, Tensor> parameters(float[] a, float[] b) {
        Map<String, Tensor> named = new LinkedHashMap<>();
        named.put("a", Tensor.of(a, a.length).requiresGrad(true));
        named.put("b", Tensor.of(b, b.length).requiresGrad(true));
        return named;
    }

    @Test
    void namesTheFirstParameterHoldingANanOrAnInfinity() {
        assertThat(NonFinite.value(parameters(new float[] {1, 2}, new float[] {3, Float.NaN}))).contains("b");
        assertThat(NonFinite.value(parameters(new float[] {Float.NEGATIVE_INFINITY}, new float[] {Float.NaN}))).contains("a");
    }

    @Test
    void theLargestFiniteFloatsAreFinite() {
        float max = Float.MAX_VALUE;
        assertThat(NonFinite.value(parameters(new float[] {max, -max, max}, new float[] {Float.MIN_VALUE}))).isEmpty();
    }

    @Test
    void gradientsAreCheckedOnlyWhereTheyExist() {
        Map<String, Tensor> named = parameters(new float[] {1, 2}, new float[] {3, 4});
        assertThat(NonFinite.gradient(named)).isEmpty();
        named.get("b").mul(Tensor.of(new float[] {Float.POSITIVE_INFINITY, 1f}, 2)).sum().backward();
        assertThat(NonFinite.gradient(named)).contains("b");
        assertThat(NonFinite.value(named)).isEmpty();
    }
}
