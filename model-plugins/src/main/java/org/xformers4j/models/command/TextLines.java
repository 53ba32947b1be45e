package org.xformers4j.models.command;

import org.tribuo.Example;
import org.tribuo.MutableDataset;
import org.tribuo.classification.Label;
import org.tribuo.data.text.impl.SimpleTextDataSource;
import org.tribuo.util.tokens.impl.BreakIteratorTokenizer;
import org.xformers4j.models.tribuo.OrderedTextExtractor;

import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * Labelled text in Tribuo's text format ({@code --format text}): one example per line,
 * {@code LABEL##text}, read by Tribuo's {@link SimpleTextDataSource} into examples of
 * {@link OrderedTextExtractor} (the features {@code text@word}, the text as metadata), the format's
 * text column being {@value OrderedTextExtractor#TEXT}. Stricter than Tribuo, which skips a
 * malformed line with a logged warning: a line without {@code ##}, with an empty label or an empty
 * text is refused naming the file and line (blank lines are skipped), as is a file that is not
 * UTF-8 or holds no example. Each example carries the number of its line as the metadata
 * {@value #LINE}, which names it in predictions.
 */
final class TextLines extends SimpleTextDataSource<Label> {

    /** The separator of label and text. */
    static final String SEPARATOR = "##";
    /** The metadata key of an example's line number in its file, from 1. */
    static final String LINE = "line";

    private TextLines(Path file) throws IOException {
        super(file, LabelCsv.LABELS, new OrderedTextExtractor<>(new BreakIteratorTokenizer(Locale.ROOT), true));
    }

    /** The labelled examples of {@code file}, one per non-blank line. */
    static MutableDataset<Label> read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(file + ": no such file");
        }
        TextLines source;
        try {
            source = new TextLines(file);
        } catch (MalformedInputException e) {
            throw new IllegalArgumentException(file + ": not UTF-8 text", e);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot be read: " + e.getMessage(), e);
        }
        if (source.data.isEmpty()) {
            throw new IllegalArgumentException(file + ": empty, expected lines of LABEL" + SEPARATOR + "text");
        }
        return new MutableDataset<>(source);
    }

    /** The example of line {@code n} (from 1), or none for a blank line. */
    @Override
    protected Optional<Example<Label>> parseLine(String line, int n) {
        if (line.isBlank()) {
            return Optional.empty();
        }
        int split = line.indexOf(SEPARATOR);
        String what = split < 0 ? "no '" + SEPARATOR + "' between a label and a text"
                : line.substring(0, split).isBlank() ? "an empty label"
                : line.substring(split + SEPARATOR.length()).isBlank() ? "an empty text" : null;
        if (what != null) {
            throw new IllegalArgumentException(path + " line " + n + ": " + what + " (expected LABEL" + SEPARATOR
                    + "text, got '" + (line.length() > 60 ? line.substring(0, 60) + "…" : line) + "')");
        }
        Example<Label> example = extractor.extract(outputFactory.generateOutput(line.substring(0, split).strip()),
                line.substring(split + SEPARATOR.length()));
        example.setMetadataValue(LINE, Integer.toString(n));
        return Optional.of(example);
    }

    /** The number of the line, from 1, {@code example} was read from. */
    static String line(Example<Label> example) {
        return example.getMetadataValue(LINE).map(String::valueOf).orElseThrow();
    }
}
