package org.xformers4j.models.command;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xformers4j.io.FileMutations;
import org.xformers4j.models.lm.ImageSourceEncoder;

/**
 * {@link CaptionCsv}, the image–caption files of {@code seq2seq train} and {@code seq2seq generate},
 * and the gzip-compressed and over-long-line handling of {@link CsvTable} under it: a valid file loads
 * every image in pixel order with its caption; a missing column, an empty caption, a bad pixel,
 * damaged or cut-short compressed data and a line without end are refused naming the file (and the
 * row); and the mutation tests of both, plain and compressed.
 */
class CaptionCsvTest {

    /** 2 × 2 images, one value per pixel, in 2 × 2 patches. */
    private static final ImageSourceEncoder TINY = new ImageSourceEncoder(2, 2, 1, 2, 1f, "p", "caption");
    private static final String VALID = "id,p0,p1,p2,p3,caption\n"
            + "a,0,1,2,3,one two\n"
            + "b,4,5.5,6,7,\"three, four\"\n"
            + "c,8,9,10,11,five\n";

    @TempDir
    Path dir;

    private static byte[] gzip(byte[] bytes) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(bytes);
        }
        return out.toByteArray();
    }

    private static String describe(List<CaptionCsv.Image> images) {
        StringBuilder out = new StringBuilder();
        images.forEach(i -> out.append(i.row()).append(Arrays.toString(i.pixels().values())).append(i.caption())
                .append('\n'));
        return out.toString();
    }

    @Test
    void aValidFileLoadsEveryImageInPixelOrderWithItsCaptionPlainOrCompressed() throws IOException {
        Path plain = Files.writeString(dir.resolve("images.csv"), VALID);
        Path compressed = Files.write(dir.resolve("images.csv.gz"), gzip(VALID.getBytes(StandardCharsets.UTF_8)));

        List<CaptionCsv.Image> images = CaptionCsv.read(plain, TINY, true);

        assertThat(images).hasSize(3);
        assertThat(images.get(1).row()).isEqualTo(2);
        assertThat(images.get(1).pixels().values()).containsExactly(4f, 5.5f, 6f, 7f);
        assertThat(images.get(1).caption()).isEqualTo("three, four");
        assertThat(describe(CaptionCsv.read(compressed, TINY, true))).isEqualTo(describe(images));
    }

    @Test
    void captionsMayBeLeftOutOnlyWhereTheyAreNotRequired() throws IOException {
        Path file = Files.writeString(dir.resolve("images.csv"), "p3,p2,p1,p0\n3,2,1,0\n");

        List<CaptionCsv.Image> images = CaptionCsv.read(file, TINY, false);

        assertThat(images.get(0).pixels().values()).containsExactly(0f, 1f, 2f, 3f);
        assertThat(images.get(0).caption()).isNull();
        assertThatThrownBy(() -> CaptionCsv.read(file, TINY, true))
                .hasMessage(file + ": the header line has no caption column 'caption' (the source encoder's "
                        + "captionColumn)");
    }

    @Test
    void missingPixelColumnsEmptyCaptionsAndBadPixelsAreRefusedNamingRowAndColumn() throws IOException {
        Path missing = Files.writeString(dir.resolve("missing.csv"), "p0,p1,caption\n1,2,x\n");
        assertThatThrownBy(() -> CaptionCsv.read(missing, TINY, true))
                .hasMessageStartingWith(missing + ": the header line has no column 'p2' (nor 1 other pixel columns); an "
                        + "image of 2 × 2 × 1 values needs the columns p0 … p3");
        Path empty = Files.writeString(dir.resolve("empty.csv"), VALID.replace("five", ""));
        assertThatThrownBy(() -> CaptionCsv.read(empty, TINY, true))
                .hasMessage(empty + " row 3, column 'caption': empty");
        Path huge = Files.writeString(dir.resolve("huge.csv"), VALID.replace("5.5", "1e39"));
        assertThatThrownBy(() -> CaptionCsv.read(huge, TINY, true))
                .hasMessageStartingWith(huge + " row 2, column 'p1': 1e39 is beyond the range of a 32-bit float");
    }

    @Test
    void damagedOrCutShortCompressedDataAndDataThatAreNotGzipAreRefusedNamingTheFile() throws IOException {
        byte[] compressed = gzip((VALID + VALID.substring(VALID.indexOf('\n') + 1).repeat(5000))
                .getBytes(StandardCharsets.UTF_8));
        Path cut = Files.write(dir.resolve("cut.csv.gz"), Arrays.copyOf(compressed, compressed.length / 2));
        assertThatThrownBy(() -> CaptionCsv.read(cut, TINY, true))
                .hasMessageStartingWith(cut.toString()).hasMessageContaining("the compressed data are cut short");
        Path plain = Files.writeString(dir.resolve("plain.csv.gz"), VALID);
        assertThatThrownBy(() -> CaptionCsv.read(plain, TINY, true))
                .hasMessageStartingWith(plain + ": not gzip-compressed data, as its name ending in .gz says");
        byte[] damaged = compressed.clone();
        damaged[damaged.length / 2] ^= 0x5a;
        Path bad = Files.write(dir.resolve("damaged.csv.gz"), damaged);
        assertThatThrownBy(() -> CaptionCsv.read(bad, TINY, true)).hasMessageStartingWith(bad.toString());
    }

    @Test
    void aLineLongerThanTheLimitIsRefusedBeforeItIsHeldPlainOrCompressed() throws IOException {
        byte[] endless = new byte[CsvTable.MAX_LINE_BYTES + 10];
        Arrays.fill(endless, (byte) '1');
        byte[] text = ("p0,p1,p2,p3,caption\n1,2,3,4,x\n" + new String(endless, StandardCharsets.US_ASCII))
                .getBytes(StandardCharsets.US_ASCII);
        for (Path file : List.of(Files.write(dir.resolve("long.csv"), text),
                Files.write(dir.resolve("long.csv.gz"), gzip(text)))) {
            assertThatThrownBy(() -> CaptionCsv.read(file, TINY, true))
                    .hasMessageStartingWith(file + " row ")
                    .hasMessageContaining("line 3 is longer than " + CsvTable.MAX_LINE_BYTES + " bytes");
        }
    }

    /**
     * Every mutation (truncations, bit flips, lying lengths) of a caption file, plain and compressed:
     * an IllegalArgumentException naming the file, or images of the right size with non-empty captions.
     */
    @Test
    void everyMutationOfACaptionFileEndsInAClearErrorOrACorrectLoad() throws IOException {
        byte[] valid = VALID.getBytes(StandardCharsets.UTF_8);
        List<FileMutations.Mutation> plain = FileMutations.all(valid, 120, 16);
        List<FileMutations.Mutation> compressed = new ArrayList<>(FileMutations.all(gzip(valid), 120, 17));
        int rejected = 0;
        int loaded = 0;
        for (boolean gz : new boolean[] {false, true}) {
            Path file = dir.resolve(gz ? "mutated.csv.gz" : "mutated.csv");
            for (FileMutations.Mutation mutation : gz ? compressed : plain) {
                Files.write(file, mutation.bytes());
                List<CaptionCsv.Image> images;
                try {
                    images = CaptionCsv.read(file, TINY, true);
                } catch (IllegalArgumentException e) {
                    assertThat(e.getMessage()).as(mutation.description()).startsWith(file.toString());
                    rejected++;
                    continue;
                }
                loaded++;
                for (CaptionCsv.Image image : images) {
                    assertThat(image.pixels().values()).as(mutation.description()).hasSize(4);
                    assertThat(image.caption()).as(mutation.description()).isNotBlank().doesNotContain("\uFFFD");
                }
            }
        }
        System.out.println("caption CSV: " + (plain.size() + compressed.size()) + " mutations (plain and gzip): "
                + rejected + " rejected with a clear error, " + loaded + " loaded");
        assertThat(rejected).isGreaterThan(0);
    }
}
