package org.xformers4j.models.command;

import java.io.PrintStream;
import org.xformers4j.component.decoding.TokenListener;
import org.xformers4j.models.text.Tokenizer;

/**
 * Prints one row's text as its tokens arrive, each token decoded once by the tokenizer's
 * {@link Tokenizer.IncrementalDecoder}: the start of a UTF-8 character whose remaining bytes are
 * still to come (a byte tokenizer emits "—" as three tokens) is held back until they come;
 * {@link #finish()} prints whatever is held back.
 */
final class TextStream implements TokenListener {

    private final Tokenizer.IncrementalDecoder decoder;
    private final PrintStream out;

    TextStream(Tokenizer tokenizer, PrintStream out) {
        this.decoder = tokenizer.incrementalDecoder();
        this.out = out;
    }

    @Override
    public void onToken(int prompt, int token) {
        print(decoder.next(token));
    }

    /** Prints the rest of the text, held-back bytes included. */
    void finish() {
        print(decoder.finish());
    }

    private void print(String text) {
        if (!text.isEmpty()) {
            out.print(text);
            out.flush();
        }
    }
}
