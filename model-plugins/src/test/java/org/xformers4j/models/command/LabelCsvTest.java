package org.xformers4j.models.command;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tribuo.Example;
import org.tribuo.MutableDataset;
import org.tribuo.classification.Label;
import org.xformers4j.io.FileMutations;

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
