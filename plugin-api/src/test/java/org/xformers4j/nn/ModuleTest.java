package org.xformers4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;
import org.xformers4j.nn.FeedForward.Activation;
import org.xformers4j.tensor.Tensor;

class ModuleTest {

    /** A pre-norm residual block with a head, nested two levels deep. */
    static final class Block extends Module {
        final LayerNorm norm;
        final FeedForward ffn;
        final Linear head;

        Block(RandomGenerator rng) {
            norm = registerModule("norm", new LayerNorm(4));
            ffn = registerModule("ffn", new FeedForward(4, 8, Activation.SWIGLU, true, 0.1f, rng));
            head = registerModule("head", new Linear(4, 2, true, rng));
        }

        Tensor forward(Tensor x) {
            return head.forward(x.add(ffn.forward(norm.forward(x))));
        }
    }

    @Test
    void namesParametersWithDottedPathsInRegistrationOrder() {
        Block block = new Block(new SplittableRandom(1));
        assertThat(block.namedParameters().keySet()).containsExactly(
                "norm.weight", "norm.bias",
                "ffn.gate.weight", "ffn.gate.bias", "ffn.up.weight", "ffn.up.bias", "ffn.down.weight", "ffn.down.bias",
                "head.weight", "head.bias");
        assertThat(block.noDecayParameterNames()).containsExactly(
                "norm.weight", "norm.bias", "ffn.gate.bias", "ffn.up.bias", "ffn.down.bias", "head.bias");
        assertThat(block.parameters()).hasSize(10).allMatch(Tensor::requiresGrad).allMatch(Tensor::isLeaf);
        assertThat(block.parameterCount()).isEqualTo(4 + 4 + 2 * (8 * 4 + 8) + 4 * 8 + 4 + 2 * 4 + 2);
    }

    @Test
    void stateDictRoundTrip() {
        Block source = new Block(new SplittableRandom(2));
        NnReference.randomize(source, new SplittableRandom(3), 1f);
        Block target = new Block(new SplittableRandom(4));
        Tensor weightBefore = target.head.weight();
        target.loadStateDict(source.stateDict());
        assertThat(target.stateDict()).isEqualTo(source.stateDict());
        assertThat(target.head.weight()).as("loaded in place").isSameAs(weightBefore);
        source.eval();
        target.eval();
        Tensor x = Tensor.randn(new SplittableRandom(5), 3, 4);
        assertThat(target.forward(x).toFloatArray()).containsExactly(source.forward(x).toFloatArray());
    }

    @Test
    void stateDictIsACopy() {
        Linear linear = new Linear(2, 2, false, new SplittableRandom(6));
        Map<String, ParameterState> state = linear.stateDict();
        float before = linear.weight().get(0, 0);
        state.get("weight").values()[0] = 99f;
        assertThat(state.get("weight").values()[0]).isEqualTo(before);
        assertThat(linear.weight().get(0, 0)).isEqualTo(before);
    }

    @Test
    void loadStateDictRejectsWrongShapeOrNameWithoutChangingAnything() {
        Block block = new Block(new SplittableRandom(7));
        Map<String, ParameterState> original = block.stateDict();

        Map<String, ParameterState> wrongShape = new LinkedHashMap<>(zeroed(original));
        wrongShape.put("ffn.up.weight", new ParameterState(new int[] {4, 8}, new float[32]));
        assertThatThrownBy(() -> block.loadStateDict(wrongShape)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'ffn.up.weight' has shape [4, 8] but the parameter has shape [8, 4]")
                .hasMessageContaining("nothing was loaded");
        assertThat(block.stateDict()).isEqualTo(original);

        Map<String, ParameterState> wrongName = new LinkedHashMap<>(zeroed(original));
        wrongName.put("ffn.upp.weight", wrongName.remove("ffn.up.weight"));
        assertThatThrownBy(() -> block.loadStateDict(wrongName)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("missing 'ffn.up.weight'")
                .hasMessageContaining("unexpected 'ffn.upp.weight'");
        assertThat(block.stateDict()).isEqualTo(original);
    }

    private static Map<String, ParameterState> zeroed(Map<String, ParameterState> state) {
        Map<String, ParameterState> out = new LinkedHashMap<>();
        state.forEach((name, s) -> out.put(name, new ParameterState(s.shape(), new float[s.values().length])));
        return out;
    }

    @Test
    void parameterStateValidatesItsShape() {
        assertThatThrownBy(() -> new ParameterState(new int[] {2, 3}, new float[5]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[2, 3]").hasMessageContaining("5");
    }

    @Test
    void trainAndEvalPropagateToEverySubmodule() {
        Block block = new Block(new SplittableRandom(8));
        assertThat(block.isTraining()).isTrue();
        block.eval();
        assertThat(block.isTraining()).isFalse();
        assertThat(block.norm.isTraining()).isFalse();
        assertThat(block.ffn.isTraining()).isFalse();
        assertThat(block.head.isTraining()).isFalse();
        block.train();
        assertThat(block.ffn.isTraining()).isTrue();
        assertThat(block.head.isTraining()).isTrue();
    }

    @Test
    void zeroGradClearsEveryGradient() {
        Block block = new Block(new SplittableRandom(9));
        block.forward(Tensor.randn(new SplittableRandom(10), 2, 4)).sum().backward();
        assertThat(block.parameters()).allMatch(p -> p.grad() != null);
        block.zeroGrad();
        assertThat(block.parameters()).allMatch(p -> p.grad() == null);
    }

    @Test
    void tiedWeightsAreListedOnceUnderTheirFirstName() {
        class Tied extends Module {
            final Embedding embedding;
            final Linear unembedding;

            Tied(RandomGenerator rng) {
                embedding = registerModule("embedding", new Embedding(5, 3, rng));
                unembedding = registerModule("unembedding", new Linear(3, 5, false, rng));
                registerParameter("shared", embedding.weight());
            }
        }
        Tied tied = new Tied(new SplittableRandom(11));
        // a module's own parameters come before its submodules', so "shared" is the first name
        assertThat(tied.namedParameters().keySet()).containsExactly("shared", "unembedding.weight");
        assertThat(tied.namedParameters().get("shared")).isSameAs(tied.embedding.weight());
        assertThat(tied.stateDict()).containsOnlyKeys("shared", "unembedding.weight");
    }

    @Test
    void rejectsBadRegistrations() {
        class Bad extends Module {
            void add(String name) {
                registerParameter(name, Tensor.zeros(2));
            }
        }
        Bad bad = new Bad();
        bad.add("w");
        assertThatThrownBy(() -> bad.add("w")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'w' is already registered");
        assertThatThrownBy(() -> bad.add("a.b")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'a.b'");
        assertThatThrownBy(() -> bad.add("")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("non-empty");
    }
}
