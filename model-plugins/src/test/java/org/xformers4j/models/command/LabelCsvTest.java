package org.xformers4j.models.command;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tribuo.Example;
import org.tribuo.MutableDataset;
import org.tribuo.classification.Label;
import org.xformers4j.io.FileMutations;
import org.xformers4j.models.tribuo.OrderedTextExtractor;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link LabelCsv} and {@link CsvTable}: each way a CSV file used to alter data silently is refused
 * naming the file, the row and the column; the file is read streaming, one row at a time; and the
 * mutation test of CSV loading.
 */
class LabelCsvTest {

    @TempDir
    Path dir;

    private Path csv(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text);
    }

    @Test
    void aValidFileLoadsEveryRowInOrder() throws IOException {
        Path file = csv("ok.csv", "a,label,b\n1,x,2\n3,y,4.5\n\"5\",\"x\",-6e3\n");

        MutableDataset<Label> data = LabelCsv.training(file, LabelCsv.Columns.of("label"));

        assertThat(data.size()).isEqualTo(3);
        assertThat(data.getExample(2).getOutput().getLabel()).isEqualTo("x");
        assertThat(values(data.getExample(2))).containsExactly(Map.entry("a", 5.0), Map.entry("b", -6000.0));
    }

    @Test
    void anEmptyLabelIsRefusedNamingRowAndColumn() throws IOException {
        Path file = csv("empty-label.csv", "a,label\n1,x\n2,\n3,y\n");

        assertThatThrownBy(() -> LabelCsv.training(file, LabelCsv.Columns.of("label")))
                .hasMessage(file + " row 2, column 'label': empty");
    }

    @Test
    void aDuplicatedOrUnnamedHeaderColumnIsRefused() throws IOException {
        Path twice = csv("twice.csv", "a,b,a,label\n1,2,3,x\n");
        Path unnamed = csv("unnamed.csv", "a,,label\n1,2,x\n");

        assertThatThrownBy(() -> LabelCsv.training(twice, LabelCsv.Columns.of("label")))
                .hasMessage(twice + ": the header line names column 'a' twice, as column 1 and column 3");
        assertThatThrownBy(() -> LabelCsv.training(unnamed, LabelCsv.Columns.of("label")))
                .hasMessage(unnamed + ": column 2 of the header line has no name");
    }

    @Test
    void bytesThatAreNotUtf8AreRefusedInTheirRow() throws IOException {
        // Far more than one read buffer before the bad byte, so the row must come from where it is.
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.writeBytes("a,label\n".getBytes(StandardCharsets.UTF_8));
        for (int row = 1; row < 2000; row++) {
            bytes.writeBytes((row + ",class" + row % 2 + "\n").getBytes(StandardCharsets.UTF_8));
        }
        bytes.writeBytes("2000,caf".getBytes(StandardCharsets.UTF_8));
        bytes.write(0xE9);                                                    // ISO-8859-1 'é'
        bytes.writeBytes("\n2001,x\n".getBytes(StandardCharsets.UTF_8));
        Path file = Files.write(dir.resolve("latin1.csv"), bytes.toByteArray());
        Path header = Files.write(dir.resolve("header.csv"), new byte[] {'a', ',', (byte) 0xFF, '\n', '1', '\n'});

        assertThatThrownBy(() -> LabelCsv.training(file, LabelCsv.Columns.of("label")))
                .hasMessageStartingWith(file + " row 2000: not UTF-8 text: malformed bytes at byte offset "
                        + (bytes.size() - "\n2001,x\n".length() - 1));
        assertThatThrownBy(() -> LabelCsv.training(header, LabelCsv.Columns.of("label")))
                .hasMessageStartingWith(header + ": the header line is not UTF-8 text");
    }

    @Test
    void aSingleClassIsRefusedForTrainingAndUnknownTestLabelsAreNamed() throws IOException {
        Path one = csv("one.csv", "a,label\n1,x\n2,x\n");
        Path test = csv("test.csv", "a,label\n1,x\n2,z\n");

        assertThatThrownBy(() -> LabelCsv.training(one, LabelCsv.Columns.of("label")))
                .hasMessage(one + ": column 'label' holds one class, 'x', in all 2 rows; a classifier needs at least two");
        assertThatThrownBy(() -> LabelCsv.test(test, LabelCsv.Columns.of("label"), Set.of(new Label("x"), new Label("y"))))
                .hasMessage(test + " row 2, column 'label': label 'z' is not among the training labels [x, y]");
    }

    @Test
    void numbersBeyondTheFloatRangeAndBadCellCountsAreRefused() throws IOException {
        Path huge = csv("huge.csv", "a,b,label\n1,2,x\n3,1e39,y\n");
        Path extra = csv("extra.csv", "a,b,label\n1,2,x\n3,4,y,5\n");
        Path missing = csv("missing.csv", "a,b,label\n1,2,x\n3,y\n");

        assertThatThrownBy(() -> LabelCsv.training(huge, LabelCsv.Columns.of("label")))
                .hasMessageStartingWith(huge + " row 2, column 'b': 1e39 is beyond the range of a 32-bit float");
        assertThatThrownBy(() -> LabelCsv.training(extra, LabelCsv.Columns.of("label")))
                .hasMessage(extra + " row 2: it has 4 cells but the header line names 3 columns");
        assertThatThrownBy(() -> LabelCsv.training(missing, LabelCsv.Columns.of("label")))
                .hasMessage(missing + " row 2: it has 2 cells but the header line names 3 columns");
    }

    @Test
    void theFileIsReadOneRowAtATime() throws IOException {
        StringBuilder text = new StringBuilder("a,b,c,label\n");
        List<Integer> rowEnds = new ArrayList<>();
        for (int row = 1; row <= 20_000; row++) {
            text.append(row).append(",0.25,-1.5,class").append(row % 3).append('\n');
            rowEnds.add(text.length());                                       // ASCII: chars are bytes
        }
        long[] consumed = {0};
        InputStream counting = new FilterInputStream(new ByteArrayInputStream(
                text.toString().getBytes(StandardCharsets.US_ASCII))) {
            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n = super.read(b, off, len);
                consumed[0] += Math.max(n, 0);
                return n;
            }
        };
        long[] furthestAhead = {0};

        try (CsvTable table = CsvTable.open(dir.resolve("rows.csv"), counting)) {
            table.forEach(row -> furthestAhead[0] = Math.max(furthestAhead[0],
                    consumed[0] - rowEnds.get((int) row.number() - 1)));
        }

        // Bytes read beyond the row being handled stay within the readers' buffers (a few 8 KiB),
        // whatever the file's size (about 500 KB here): nothing holds the rows read before.
        assertThat(consumed[0]).isEqualTo(text.length());
        assertThat(furthestAhead[0]).isLessThan(64 * 1024);
    }

    /** How the loads of a set of mutated files ended. */
    private enum Outcome { REJECTED, LOADED_IDENTICALLY, LOADED_OTHER_VALUES }

    @Test
    void everyMutationOfACsvFileEndsInAClearErrorOrACorrectLoad() throws IOException {
        StringBuilder text = new StringBuilder("alcohol,ash,label\n");
        for (int row = 1; row <= 40; row++) {
            text.append(12 + row % 5).append('.').append(row % 10).append(',').append(row % 3 + 1).append(",class_")
                    .append(row % 3).append('\n');
        }
        byte[] valid = text.toString().getBytes(StandardCharsets.UTF_8);
        List<Map<String, Double>> expected = rows(LabelCsv.training(Files.write(dir.resolve("valid.csv"), valid),
                LabelCsv.Columns.of("label")));
        List<FileMutations.Mutation> mutations = new ArrayList<>(FileMutations.all(valid, 150, 21));
        String body = text.substring(text.indexOf("\n") + 1);
        mutations.add(text("a huge number", text.toString().replace("13.3", "1e39")));
        mutations.add(text("a NaN", text.toString().replace("13.3", "NaN")));
        mutations.add(text("an extra column", text.toString().replace("\n", ",9\n")));
        mutations.add(text("a missing column", text.toString().replace(",1,", ",")));
        mutations.add(text("a duplicated header", "alcohol,alcohol,label\n" + body));
        mutations.add(text("an empty label", text.toString().replace("class_1\n", "\n")));
        mutations.add(text("one class", text.toString().replaceAll("class_\\d", "class_0")));
        mutations.add(new FileMutations.Mutation("latin-1 in a label", (text.toString() + "1,2,caf\u00e9\n")
                .getBytes(StandardCharsets.ISO_8859_1)));

        Map<Outcome, Integer> outcomes = new TreeMap<>();
        for (FileMutations.Mutation mutation : mutations) {
            Path file = Files.write(dir.resolve("mutated.csv"), mutation.bytes());
            MutableDataset<Label> loaded;
            try {
                loaded = LabelCsv.training(file, LabelCsv.Columns.of("label"));
            } catch (IllegalArgumentException e) {
                assertThat(e.getMessage()).as(mutation.description()).startsWith(file.toString());
                outcomes.merge(Outcome.REJECTED, 1, Integer::sum);
                continue;
            } catch (RuntimeException | Error e) {
                throw new AssertionError(mutation + ": unexpected " + e, e);
            }
            for (Example<Label> example : loaded) {
                String label = example.getOutput().getLabel();
                assertThat(label).as(mutation.description()).isNotBlank().doesNotContain("\uFFFD");
                example.forEach(feature -> assertThat(Float.isFinite((float) feature.getValue()))
                        .as(mutation.description()).isTrue());
            }
            outcomes.merge(rows(loaded).equals(expected) ? Outcome.LOADED_IDENTICALLY : Outcome.LOADED_OTHER_VALUES, 1,
                    Integer::sum);
        }

        System.out.println("CSV: " + mutations.size() + " mutations: " + outcomes.getOrDefault(Outcome.REJECTED, 0)
                + " rejected with a clear error naming the file, " + outcomes.getOrDefault(Outcome.LOADED_IDENTICALLY, 0)
                + " loaded identically, " + outcomes.getOrDefault(Outcome.LOADED_OTHER_VALUES, 0)
                + " loaded as valid CSV with other values (a changed digit or label)");
        assertThat(outcomes.get(Outcome.REJECTED)).isPositive();
    }

    /**
     * The mutation test of a file with a text column, through Tribuo's row processor: truncations,
     * bit flips, cells that are not numbers, empty cells, empty and header-only files each end in an
     * error naming the file, or load rows whose text is what the file holds; a huge text cell loads.
     */
    @Test
    void everyMutationOfATextFileEndsInAClearErrorOrALoadOfItsText() throws IOException {
        StringBuilder text = new StringBuilder("id,label,message,length\n");
        for (int row = 1; row <= 30; row++) {
            String message = (row % 2 == 0 ? "Win cash, now" : "See you at lunch") + " #" + row;
            text.append("m").append(row).append(',').append(row % 2 == 0 ? "spam" : "ham").append(",\"")
                    .append(message).append("\",").append(message.length()).append('\n');
        }
        LabelCsv.Columns columns = new LabelCsv.Columns("label", "message", "id", null, null, List.of(), false);
        byte[] valid = text.toString().getBytes(StandardCharsets.UTF_8);
        MutableDataset<Label> loaded = LabelCsv.training(Files.write(dir.resolve("valid.csv"), valid), columns);
        assertThat(loaded.size()).isEqualTo(30);
        Example<Label> first = loaded.getExample(0);
        assertThat(OrderedTextExtractor.text(first)).contains("See you at lunch #1");
        assertThat(values(first)).containsOnlyKeys("length", "message@see", "message@you", "message@at",
                "message@lunch", "message@#1");     // Tribuo's break-iterator words

        List<FileMutations.Mutation> mutations = new ArrayList<>(FileMutations.all(valid, 150, 22));
        String body = text.toString();
        mutations.add(text("a truncated row", body.substring(0, body.indexOf("lunch #3") + 3)));
        mutations.add(text("a row cut short", body.replace(",\"See you at lunch #5\",19", "")));
        mutations.add(text("a word for a number", body.replace(",19\n", ",nineteen\n")));
        mutations.add(text("an empty text", body.replace("\"Win cash, now #2\"", "")));
        mutations.add(text("an empty file", ""));
        mutations.add(text("only the header", "id,label,message,length\n"));
        List<String> rejected = new ArrayList<>();
        for (FileMutations.Mutation mutation : mutations) {
            Path file = Files.write(dir.resolve("mutated.csv"), mutation.bytes());
            MutableDataset<Label> data;
            try {
                data = LabelCsv.training(file, columns);
            } catch (IllegalArgumentException e) {
                assertThat(e.getMessage()).as(mutation.description()).startsWith(file.toString());
                rejected.add(mutation.description());
                continue;
            } catch (RuntimeException | Error e) {
                throw new AssertionError(mutation + ": unexpected " + e, e);
            }
            String decoded = new String(mutation.bytes(), StandardCharsets.UTF_8);
            for (Example<Label> example : data) {
                String message = OrderedTextExtractor.text(example).orElseThrow();
                assertThat(message).as(mutation.description()).isNotBlank().doesNotContain("\uFFFD");
                assertThat(decoded).as(mutation.description()).contains(message);
            }
        }
        assertThat(rejected).contains("a truncated row", "a row cut short", "a word for a number", "an empty text",
                "an empty file", "only the header");

        String huge = "word ".repeat(200_000);                                     // a 1 MB text cell
        MutableDataset<Label> big = LabelCsv.training(Files.writeString(dir.resolve("huge.csv"),
                "id,label,message,length\na,x,\"" + huge + "\",1\nb,y,short,2\n"), columns);
        assertThat(OrderedTextExtractor.text(big.getExample(0))).contains(huge);
        assertThat(values(big.getExample(0))).containsEntry("message@word", 200_000.0);
    }

    @Test
    void aTsvFileIsReadByItsExtensionOrTheSeparatorOption() throws IOException {
        Path tsv = csv("data.tsv", "a\tlabel\n1.5\tx\n2\ty\n");
        assertThat(rows(LabelCsv.training(tsv, LabelCsv.Columns.of("label"))))
                .containsExactly(Map.of("a", 1.5, "label x", 1.0), Map.of("a", 2.0, "label y", 1.0));
        Path semicolons = csv("data.txt", "a;label\n1.5;x\n2;y\n");
        assertThat(rows(LabelCsv.training(semicolons, new LabelCsv.Columns("label", null, null, ";", null, List.of(), false))))
                .containsExactly(Map.of("a", 1.5, "label x", 1.0), Map.of("a", 2.0, "label y", 1.0));
        assertThatThrownBy(() -> CsvTable.separator(semicolons, ";;"))
                .hasMessage("--separator must be one character other than a quote or a line break, or 'tab', got ';;'");
        assertThat(CsvTable.separator(semicolons, "tab")).isEqualTo('\t');
    }

    private static FileMutations.Mutation text(String description, String text) {
        return new FileMutations.Mutation(description, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Each example as feature name → value, with its label under "label". */
    private static List<Map<String, Double>> rows(MutableDataset<Label> data) {
        List<Map<String, Double>> out = new ArrayList<>();
        for (Example<Label> example : data) {
            Map<String, Double> row = values(example);
            row.put("label " + example.getOutput().getLabel(), 1.0);
            out.add(row);
        }
        return out;
    }

    private static Map<String, Double> values(Example<Label> example) {
        Map<String, Double> values = new TreeMap<>();
        example.forEach(feature -> values.put(feature.getName(), feature.getValue()));
        return values;
    }
}
