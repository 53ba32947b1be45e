package org.xformers4j.component.decoding;

/** Receives tokens as a strategy commits to them (streaming). */
@FunctionalInterface
public interface TokenListener {

    /** {@code token} was appended to the output for prompt {@code prompt}. */
    void onToken(int prompt, int token);
}
