package org.xformers4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.xformers4j.tensor.Tensor;

class SharedParametersTest {

    /** A layer that takes its weight from a store, as a layer of a stack does. */
    static final class Layer extends Module {
        final Tensor weight;

        Layer(SharedParameters shared, AtomicInteger created) {
            weight = shared.parameter("w", new int[] {2, 3}, () -> {
                created.incrementAndGet();
                return Init.normal(new SplittableRandom(created.get()), 0f, 1f, 2, 3);
            });
        }
    }

    /** A stack of layers sharing one store, registered before them. */
    static final class Stack extends Module {
        final Layer[] layers = new Layer[3];

        Stack(AtomicInteger created) {
            SharedParameters shared = registerModule("shared", new SharedParameters());
            for (int l = 0; l < layers.length; l++) {
                layers[l] = registerModule(Integer.toString(l), new Layer(shared, created));
            }
        }
    }

    @Test
    void theFirstRequestCreatesTheParameterAndLaterOnesGetTheSameTensor() {
        AtomicInteger created = new AtomicInteger();
        Stack stack = new Stack(created);
        assertThat(created).hasValue(1);
        assertThat(stack.layers[1].weight).isSameAs(stack.layers[0].weight);
        assertThat(stack.layers[2].weight).isSameAs(stack.layers[0].weight);
        assertThat(stack.namedParameters()).containsOnlyKeys("shared.w");
        assertThat(stack.namedParameters().get("shared.w").requiresGrad()).isTrue();
        assertThat(stack.parameterCount()).isEqualTo(6);
    }

    @Test
    void loadingAStateDictFillsTheOneTensorEveryLayerHolds() {
        Stack stack = new Stack(new AtomicInteger());
        float[] values = {1, 2, 3, 4, 5, 6};
        stack.loadStateDict(Map.of("shared.w", new ParameterState(new int[] {2, 3}, values)));
        for (Layer layer : stack.layers) {
            assertThat(layer.weight.toFloatArray()).containsExactly(values);
        }
    }

    @Test
    void theGradientSumsEveryUse() {
        Stack stack = new Stack(new AtomicInteger());
        Tensor x = Tensor.of(new float[] {1, -2}, 1, 2);
        Tensor y = Tensor.of(new float[] {0.5f, 3}, 1, 2);
        x.matmul(stack.layers[0].weight).sum().add(y.matmul(stack.layers[2].weight).sum()).backward();
        // d/dW of Σ xW + Σ yW = (x + y)ᵀ 1
        assertThat(stack.layers[1].weight.grad().toFloatArray()).containsExactly(1.5f, 1.5f, 1.5f, 1, 1, 1);
    }

    @Test
    void refusesLayersThatDisagreeOnTheShapeAndBadKeys() {
        SharedParameters shared = new SharedParameters();
        shared.parameter("w", new int[] {2, 3}, () -> Tensor.zeros(2, 3));
        assertThatThrownBy(() -> shared.parameter("w", new int[] {3, 2}, () -> Tensor.zeros(3, 2)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'w' was created with shape [2, 3], now requested with shape [3, 2]");
        assertThatThrownBy(() -> shared.parameter("v", new int[] {2}, () -> Tensor.zeros(3)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("initial value of 'v' has shape [3], expected [2]");
        assertThatThrownBy(() -> shared.parameter("a.b", new int[] {1}, () -> Tensor.zeros(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no '.'");
    }
}
