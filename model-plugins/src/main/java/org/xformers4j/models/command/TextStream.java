package org.xformers4j.models.command;

import java.io.PrintStream;
import java.util.Arrays;
import org.xformers4j.component.decoding.TokenListener;
import org.xformers4j.models.text.Tokenizer;

/**
 * Prints one row's text as its tokens arrive: after each token the decoded text grows and the new
 * part is printed, except a trailing replacement character, which is held back because it usually
 * is a UTF-8 sequence whose remaining bytes are still to come (a byte tokenizer emits "—" as three
 * tokens); {@link #finish()} prints whatever is held back.
 */
final class TextStream implements TokenListener {

    private final Tokenizer tokenizer;
    private final PrintStream out;
    private int[] tokens = new int[16];
    private int count;
    private int printed;
    private String text = "";

    TextStream(Tokenizer tokenizer, PrintStream out) {
        this.tokenizer = tokenizer;
        this.out = out;
    }

    @Override
    public void onToken(int prompt, int token) {
        if (count == tokens.length) {
            tokens = Arrays.copyOf(tokens, 2 * count);
        }
        tokens[count++] = token;
        text = tokenizer.decode(Arrays.copyOf(tokens, count));
        int end = text.length();
        while (end > printed && text.charAt(end - 1) == '\uFFFD') {
            end--;
        }
        print(end);
    }

    /** Prints the rest of the text, held-back characters included. */
    void finish() {
        print(text.length());
    }

    private void print(int end) {
        if (end > printed) {
            out.print(text.substring(printed, end));
            out.flush();
            printed = end;
        }
    }
}
