package org.xformers4j.models.text;

import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Finds special tokens in text so that they are never split: the text is cut into ordinary
 * segments and special tokens, longest special token first where two start at the same place.
 */
final class SpecialTokens {

    private final Pattern pattern;

    /**
     * Validates the special tokens.
     *
     * @param tokens The special tokens: non-empty and distinct.
     * @throws IllegalArgumentException If a token is null, empty or repeated.
     */
    SpecialTokens(Collection<String> tokens) {
        Set<String> seen = new HashSet<>();
        for (String token : tokens) {
            if (token == null || token.isEmpty()) {
                throw new IllegalArgumentException("specialTokens contains an empty or null token: " + tokens);
            }
            if (!seen.add(token)) {
                throw new IllegalArgumentException("specialTokens contains \"" + token + "\" twice");
            }
        }
        this.pattern = tokens.isEmpty() ? null
                : Pattern.compile(tokens.stream()
                        .sorted(Comparator.comparingInt(String::length).reversed().thenComparing(Comparator.naturalOrder()))
                        .map(Pattern::quote)
                        .collect(Collectors.joining("|")));
    }

    /**
     * Cuts text into ordinary segments and special tokens, in order.
     *
     * @param text The text.
     * @param ordinary Receives each non-empty ordinary segment.
     * @param special Receives each special token.
     */
    void split(String text, Consumer<String> ordinary, Consumer<String> special) {
        int start = 0;
        if (pattern != null) {
            Matcher matcher = pattern.matcher(text);
            while (matcher.find()) {
                if (matcher.start() > start) {
                    ordinary.accept(text.substring(start, matcher.start()));
                }
                special.accept(matcher.group());
                start = matcher.end();
            }
        }
        if (start < text.length()) {
            ordinary.accept(text.substring(start));
        }
    }
}
