package org.xformers4j.registry.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class SuggestionsTest {

    private static final List<String> ATTENTION = List.of("full", "flash", "lsh", "linear", "sliding-window");

    @Test
    void editDistanceCountsInsertionsDeletionsAndSubstitutions() {
        assertThat(Suggestions.editDistance("flash", "flash")).isZero();
        assertThat(Suggestions.editDistance("flsh", "flash")).isEqualTo(1);
        assertThat(Suggestions.editDistance("kitten", "sitting")).isEqualTo(3);
        assertThat(Suggestions.editDistance("", "lsh")).isEqualTo(3);
        assertThat(Suggestions.editDistance("shfit", "shift")).isEqualTo(2);
    }

    @Test
    void closestAreNearestFirstThenByName() {
        assertThat(Suggestions.closest("flsh", ATTENTION)).containsExactly("flash", "lsh");
        assertThat(Suggestions.closest("slidingwindow", ATTENTION)).containsExactly("sliding-window");
        assertThat(Suggestions.closest("transformer", ATTENTION)).isEmpty();
    }

    @Test
    void atMostThreeSuggestions() {
        assertThat(Suggestions.closest("ab", List.of("ab1", "ab2", "ab3", "ab4"))).containsExactly("ab1", "ab2", "ab3");
    }

    @Test
    void messageSuggestsOrListsEveryName() {
        assertThat(Suggestions.unknownName("component", "flsh", ATTENTION))
                .isEqualTo("unknown component 'flsh'; did you mean: flash, lsh?");
        assertThat(Suggestions.unknownName("component", "transformer", ATTENTION))
                .isEqualTo("unknown component 'transformer'; valid names: flash, full, linear, lsh, sliding-window");
        assertThat(Suggestions.unknownName("component", "full", List.of()))
                .isEqualTo("unknown component 'full'; none is registered");
    }
}
