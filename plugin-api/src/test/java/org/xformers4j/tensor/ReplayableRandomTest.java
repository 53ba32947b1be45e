package org.xformers4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

class ReplayableRandomTest {

    /** One draw of every kind the layers use, in turn, as text. */
    private static String draws(RandomGenerator rng, int rounds) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < rounds; i++) {
            out.append(rng.nextLong()).append(' ').append(rng.nextInt()).append(' ').append(rng.nextFloat())
                    .append(' ').append(rng.nextDouble()).append(' ').append(rng.nextGaussian()).append(' ')
                    .append(rng.nextInt(7 + i)).append(' ').append(rng.nextBoolean()).append(' ')
                    .append(rng.nextLong(1000L + i)).append(' ').append(rng.nextDouble(-1, 1)).append('\n');
        }
        return out.toString();
    }

    @Test
    void drawsWhatSplittableRandomDrawsFromTheSameSeed() {
        for (long seed : new long[] {0L, 1L, -7L, 20210309L, Long.MAX_VALUE}) {
            assertThat(draws(new ReplayableRandom(seed), 500)).as("seed " + seed)
                    .isEqualTo(draws(new SplittableRandom(seed), 500));
        }
    }

    @Test
    void restoringASavedStateDrawsTheSameValuesAgain() {
        ReplayableRandom rng = new ReplayableRandom(42);
        rng.nextLong();
        Object saved = rng.saveState();
        String first = draws(rng, 20);
        Object after = rng.saveState();
        rng.restoreState(saved);
        assertThat(draws(rng, 20)).isEqualTo(first);
        assertThat(rng.saveState()).isEqualTo(after);
        assertThatThrownBy(() -> rng.restoreState("state")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Long");
    }
}
