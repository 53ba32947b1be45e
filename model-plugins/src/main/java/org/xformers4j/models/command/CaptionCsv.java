package org.xformers4j.models.command;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.List;
import org.xformers4j.models.lm.ImageSourceEncoder;
import org.xformers4j.models.lm.Source;

/**
 * Images and their captions in a CSV (or TSV, or gzip-compressed {@code .csv.gz}) file with a header
 * line, laid out as an {@link ImageSourceEncoder} declares: pixel i of an image in the column
 * {@code pixelPrefix + i} (i = 0 … height · width · channels − 1, row-major, channels last), its
 * caption in {@code captionColumn}; other columns (an id, a label) are ignored. Read once, streaming,
 * through {@link CsvTable}, so every fault names the file, the row and the column: besides what it
 * refuses (bytes that are not UTF-8, a row with too many or too few cells, a pixel that is not a
 * finite 32-bit float), a missing pixel or caption column and an empty caption.
 */
final class CaptionCsv {

    /** One image of the file, its row (from 1 after the header line) and its caption (null when the file has none). */
    record Image(long row, Source.Pixels pixels, String caption) {
    }

    private CaptionCsv() {
    }

    /**
     * The images of {@code file} with their captions, which must be there when {@code captionsRequired}
     * (training data); otherwise a file without the caption column gives images without captions.
     *
     * @throws IllegalArgumentException naming the file (and the row and column) of the first fault
     */
    static List<Image> read(Path file, ImageSourceEncoder images, boolean captionsRequired) {
        int values = images.layout().values();
        String[] pixelColumns = new String[values];
        for (int i = 0; i < values; i++) {
            pixelColumns[i] = images.pixelPrefix() + i;
        }
        List<Image> out = new ArrayList<>();
        try (CsvTable table = CsvTable.open(file)) {
            List<String> columns = table.columns();
            Set<String> present = new HashSet<>(columns);
            List<String> missing = Arrays.stream(pixelColumns).filter(c -> !present.contains(c)).toList();
            if (!missing.isEmpty()) {
                throw new IllegalArgumentException(file + ": the header line has no column '" + missing.get(0) + "'"
                        + (missing.size() > 1 ? " (nor " + (missing.size() - 1) + " other pixel columns)" : "")
                        + "; an image of " + images.layout().height() + " × " + images.layout().width() + " × "
                        + images.layout().channels() + " values needs the columns " + pixelColumns[0] + " … "
                        + pixelColumns[values - 1] + " (the source encoder's pixelPrefix '" + images.pixelPrefix()
                        + "')");
            }
            String captionColumn = images.captionColumn();
            boolean captioned = present.contains(captionColumn);
            if (captionsRequired && !captioned) {
                throw new IllegalArgumentException(file + ": the header line has no caption column '" + captionColumn
                        + "' (the source encoder's captionColumn)");
            }
            table.forEach(row -> {
                float[] pixels = new float[values];
                for (int i = 0; i < values; i++) {
                    pixels[i] = (float) row.number(pixelColumns[i]);
                }
                out.add(new Image(row.number(), new Source.Pixels(pixels),
                        captioned ? row.text(captionColumn) : null));
            });
        }
        return out;
    }
}
