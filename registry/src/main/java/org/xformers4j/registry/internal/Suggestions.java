package org.xformers4j.registry.internal;

import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * The names closest to a misspelt one, by Levenshtein edit distance (insertions, deletions and
 * substitutions of single characters), for "did you mean" messages: of registered components, of a
 * configuration's components and properties, of describable classes. Internal to the registry bundle.
 */
public final class Suggestions {

    /** At most this many names are suggested. */
    static final int MAX_SUGGESTIONS = 3;

    private Suggestions() {
    }

    /**
     * The names within edit distance max(2, length/2) of {@code name}, nearest first (ties by
     * name), at most {@value #MAX_SUGGESTIONS}.
     */
    public static List<String> closest(String name, Collection<String> candidates) {
        int limit = Math.max(2, name.length() / 2);
        record Scored(String name, int distance) {
        }
        return candidates.stream()
                .map(c -> new Scored(c, editDistance(name, c)))
                .filter(s -> s.distance() <= limit)
                .sorted(Comparator.comparingInt(Scored::distance).thenComparing(Scored::name))
                .limit(MAX_SUGGESTIONS)
                .map(Scored::name)
                .toList();
    }

    /**
     * The message for an unknown name: {@code unknown component 'flsh'; did you mean: flash, lsh?},
     * or the full list of valid names when none is close.
     */
    public static String unknownName(String what, String name, Collection<String> candidates) {
        String head = "unknown " + what + " '" + name + "'; ";
        if (candidates.isEmpty()) {
            return head + "none is registered";
        }
        List<String> close = closest(name, candidates);
        return close.isEmpty()
                ? head + "valid names: " + String.join(", ", candidates.stream().sorted().toList())
                : head + "did you mean: " + String.join(", ", close) + "?";
    }

    /** The Levenshtein distance between {@code a} and {@code b}, with two rows of the DP table. */
    static int editDistance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitute = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitute, Math.min(previous[j], current[j - 1]) + 1);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }
}
