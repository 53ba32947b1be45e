package org.xformers4j.models.plot;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.xformers4j.io.AtomicFiles;

/**
 * Draws attention weights as heat maps into a PNG with plain Java2D, off-screen: query rows ×
 * key columns, as in the attention figures of Vaswani et al. (2017) and Wang et al. (2020,
 * "Linformer", Figure 1) and in BertViz's model view (Vig, 2019, "A Multiscale Visualization of
 * Attention in the Transformer Model"). Every map of a picture shares one colour scale, from 0 to
 * the largest weight shown, in the perceptually uniform viridis colours (van der Walt and Smith,
 * matplotlib's default), with a colour bar as its legend. One map gets the tokens as axis labels
 * (queries down the left, keys along the bottom, written upwards; every k-th when the cells are too
 * small for each); several maps (heads, layers) are laid out as a grid of small maps, each under its
 * caption, the tokens then left out as BertViz's model view leaves them. The file is written
 * atomically.
 */
public final class AttentionHeatMap {

    /** The most tokens a map may have, so that a picture stays legible and bounded in size. */
    public static final int MAX_TOKENS = 1024;
    /** The most maps one picture holds (layers × heads). */
    public static final int MAX_MAPS = 256;

    /** Viridis at 0, 1/8, …, 1 (matplotlib's table at those points), interpolated linearly between. */
    private static final Color[] VIRIDIS = {new Color(0x440154), new Color(0x46327e), new Color(0x365c8d),
            new Color(0x277f8e), new Color(0x1fa187), new Color(0x4ac16d), new Color(0xa0da39), new Color(0xd0e11c),
            new Color(0xfde725)};
    /** The side of a single map in pixels, roughly; cells are whole pixels. */
    private static final int SINGLE_SIDE = 640;
    /** The side of each map of a grid in pixels, roughly. */
    private static final int GRID_SIDE = 200;
    private static final int MAX_CELL = 36;
    private static final int MARGIN = 24;
    private static final int GAP = 28;
    private static final int BAR_WIDTH = 18;
    private static final int LABEL_FONT = 11;
    /** The longest token label drawn; longer ones are cut. */
    private static final int LABEL_CHARACTERS = 16;
    private static final Font TITLE = new Font(Font.SANS_SERIF, Font.BOLD, 16);
    private static final Font TEXT = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
    private static final Font LABELS = new Font(Font.MONOSPACED, Font.PLAIN, LABEL_FONT);

    private AttentionHeatMap() {
    }

    /**
     * One map: the weights of {@code tokens} queries over as many keys.
     *
     * @param caption what the map shows ("layer 0, head 1"); drawn above it in a grid
     * @param tokens  the number of queries and of keys
     * @param weights [tokens · tokens], row-major: query i's weight on key j at {@code i · tokens + j}
     */
    public record Map(String caption, int tokens, float[] weights) {
        public Map {
            if (tokens < 1 || tokens > MAX_TOKENS) {
                throw new IllegalArgumentException("AttentionHeatMap: a map has 1 to " + MAX_TOKENS + " tokens, got "
                        + tokens);
            }
            if (weights == null || weights.length != tokens * tokens) {
                throw new IllegalArgumentException("AttentionHeatMap: " + caption + ": " + tokens + " tokens need "
                        + tokens * tokens + " weights, got " + (weights == null ? null : weights.length));
            }
            for (float w : weights) {
                if (!Float.isFinite(w)) {
                    throw new IllegalArgumentException("AttentionHeatMap: " + caption + ": a weight is " + w);
                }
            }
        }
    }

    /**
     * Writes the maps under {@code title} to {@code png}, atomically; see {@link #image}.
     *
     * @throws IllegalArgumentException as {@link #image} does
     * @throws IOException              if the file cannot be written
     */
    public static void write(Path png, String title, String subtitle, List<String> tokens, List<Map> maps,
                             int columns) throws IOException {
        BufferedImage image = image(title, subtitle, tokens, maps, columns);
        AtomicFiles.write(png, out -> {
            if (!ImageIO.write(image, "png", out)) {
                throw new IOException("no PNG writer in this Java runtime");
            }
        });
    }

    /**
     * The picture of {@code maps}: one map with the tokens as axis labels, or several in a grid of
     * {@code columns} maps a row.
     *
     * @param title    the first line, in bold
     * @param subtitle the second line, or null
     * @param tokens   the label of each query and key, as many as every map has tokens
     * @param maps     1 to {@value #MAX_MAPS} maps of the same number of tokens
     * @param columns  maps a row, at least 1
     * @throws IllegalArgumentException for no maps, too many, maps of different sizes or labels of another count
     */
    public static BufferedImage image(String title, String subtitle, List<String> tokens, List<Map> maps,
                                      int columns) {
        if (maps.isEmpty() || maps.size() > MAX_MAPS) {
            throw new IllegalArgumentException("AttentionHeatMap: a picture shows 1 to " + MAX_MAPS + " maps, got "
                    + maps.size());
        }
        int n = maps.get(0).tokens();
        if (maps.stream().anyMatch(m -> m.tokens() != n) || tokens.size() != n) {
            throw new IllegalArgumentException("AttentionHeatMap: every map and the labels must have the same number "
                    + "of tokens, got " + maps.stream().map(m -> Integer.toString(m.tokens())).distinct().toList()
                    + " and " + tokens.size() + " labels");
        }
        if (columns < 1) {
            throw new IllegalArgumentException("AttentionHeatMap: columns must be at least 1, got " + columns);
        }
        float max = 0f;
        for (Map map : maps) {
            for (float w : map.weights()) {
                max = Math.max(max, w);
            }
        }
        float top = max > 0f ? max : 1f;
        return maps.size() == 1 ? single(title, subtitle, tokens, maps.get(0), top)
                : grid(title, subtitle, maps, Math.min(columns, maps.size()), top);
    }

    /** One map with its tokens along both axes and the colour bar to its right. */
    private static BufferedImage single(String title, String subtitle, List<String> tokens, Map map, float top) {
        int n = map.tokens();
        int cell = Math.max(1, Math.min(MAX_CELL, SINGLE_SIDE / n));
        int side = cell * n;
        int step = (int) Math.ceil((LABEL_FONT + 1.0) / cell);          // label every step-th token
        int labelWidth = labelWidth(tokens);
        int left = MARGIN + 20 + labelWidth + 6;                         // the axis name, the labels, a gap
        int header = header(subtitle);
        int width = Math.max(left + side + GAP + BAR_WIDTH + 60 + MARGIN, headingWidth(title, subtitle));
        int height = header + side + 6 + labelWidth + 24 + MARGIN;
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = canvas(image);
        heading(g, title, subtitle);
        paint(g, map, left, header, cell, top);

        g.setFont(LABELS);
        g.setColor(Color.DARK_GRAY);
        FontMetrics fm = g.getFontMetrics();
        for (int i = 0; i < n; i += step) {
            String label = shortened(tokens.get(i));
            int centre = header + i * cell + cell / 2 + fm.getAscent() / 2 - 1;
            g.drawString(label, left - 6 - fm.stringWidth(label), centre);             // query i, right-aligned
            AffineTransform saved = g.getTransform();                                   // key i, upwards
            g.translate(left + i * cell + cell / 2 + fm.getAscent() / 2 - 1, header + side + 6 + fm.stringWidth(label));
            g.rotate(-Math.PI / 2);
            g.drawString(label, 0, 0);
            g.setTransform(saved);
        }
        g.setFont(TEXT);
        g.setColor(Color.BLACK);
        FontMetrics text = g.getFontMetrics();
        String keys = "key (attended to)";
        g.drawString(keys, left + (side - text.stringWidth(keys)) / 2, height - MARGIN);
        AffineTransform saved = g.getTransform();
        g.translate(MARGIN + text.getAscent(), header + (side + text.stringWidth("query")) / 2);
        g.rotate(-Math.PI / 2);
        g.drawString("query", 0, 0);
        g.setTransform(saved);
        colourBar(g, left + side + GAP, header, side, top);
        g.dispose();
        return image;
    }

    /** The maps in a grid of {@code columns}, each under its caption, and one colour bar for all. */
    private static BufferedImage grid(String title, String subtitle, List<Map> maps, int columns, float top) {
        int n = maps.get(0).tokens();
        int cell = Math.max(1, Math.min(MAX_CELL / 2, GRID_SIDE / n));
        int side = cell * n;
        int rows = (maps.size() + columns - 1) / columns;
        int caption = 18;
        int header = header(subtitle);
        int panelWidth = Math.max(side, 90);
        int width = Math.max(MARGIN + columns * panelWidth + (columns - 1) * GAP / 2 + GAP + BAR_WIDTH + 60 + MARGIN,
                headingWidth(title, subtitle));
        int height = header + rows * (caption + side) + (rows - 1) * GAP / 2 + MARGIN;
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = canvas(image);
        heading(g, title, subtitle);
        g.setFont(TEXT);
        for (int m = 0; m < maps.size(); m++) {
            int x = MARGIN + (m % columns) * (panelWidth + GAP / 2);
            int y = header + (m / columns) * (caption + side + GAP / 2);
            g.setColor(Color.BLACK);
            g.drawString(maps.get(m).caption(), x, y + 13);
            paint(g, maps.get(m), x, y + caption, cell, top);
        }
        int barHeight = Math.min(height - header - MARGIN, Math.max(side, 160));
        colourBar(g, MARGIN + columns * panelWidth + (columns - 1) * GAP / 2 + GAP, header + caption, barHeight, top);
        g.dispose();
        return image;
    }

    /** The map's cells at (x, y), each {@code cell} pixels square, coloured on the scale [0, top], in a grey frame. */
    private static void paint(Graphics2D g, Map map, int x, int y, int cell, float top) {
        int n = map.tokens();
        float[] w = map.weights();
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                g.setColor(colour(w[i * n + j] / top));
                g.fillRect(x + j * cell, y + i * cell, cell, cell);
            }
        }
        g.setColor(Color.GRAY);
        g.setStroke(new BasicStroke(1f));
        g.drawRect(x - 1, y - 1, n * cell + 1, n * cell + 1);
    }

    /** The vertical colour bar at (x, y) of {@code height} pixels, 0 at the bottom, {@code top} at the top, with 5 ticks. */
    private static void colourBar(Graphics2D g, int x, int y, int height, float top) {
        for (int p = 0; p < height; p++) {
            g.setColor(colour(1f - (float) p / Math.max(1, height - 1)));
            g.fillRect(x, y + p, BAR_WIDTH, 1);
        }
        g.setColor(Color.GRAY);
        g.drawRect(x - 1, y - 1, BAR_WIDTH + 1, height + 1);
        g.setFont(TEXT);
        g.setColor(Color.BLACK);
        FontMetrics fm = g.getFontMetrics();
        for (int t = 0; t <= 4; t++) {
            int py = y + (height - 1) - Math.round((height - 1) * t / 4f);
            g.drawLine(x + BAR_WIDTH, py, x + BAR_WIDTH + 4, py);
            g.drawString(tick(top * t / 4f, top), x + BAR_WIDTH + 7, py + fm.getAscent() / 2 - 1);
        }
        String name = "weight";
        g.drawString(name, x, y - 8);
    }

    /** A tick value with as many decimals as the scale's top needs. */
    private static String tick(float value, float top) {
        int decimals = top >= 1f ? 2 : Math.min(6, 2 - (int) Math.floor(Math.log10(top)));
        return String.format(Locale.ROOT, "%." + decimals + "f", value);
    }

    /** The viridis colour of {@code t} in [0, 1] (clamped). */
    static Color colour(float t) {
        float u = Math.max(0f, Math.min(1f, t)) * (VIRIDIS.length - 1);
        int i = Math.min(VIRIDIS.length - 2, (int) u);
        float f = u - i;
        Color a = VIRIDIS[i];
        Color b = VIRIDIS[i + 1];
        return new Color(Math.round(a.getRed() + f * (b.getRed() - a.getRed())),
                Math.round(a.getGreen() + f * (b.getGreen() - a.getGreen())),
                Math.round(a.getBlue() + f * (b.getBlue() - a.getBlue())));
    }

    private static int header(String subtitle) {
        return MARGIN + 22 + (subtitle == null ? 0 : 18) + 22;
    }

    private static void heading(Graphics2D g, String title, String subtitle) {
        g.setColor(Color.BLACK);
        g.setFont(TITLE);
        g.drawString(title, MARGIN, MARGIN + 14);
        if (subtitle != null) {
            g.setFont(TEXT);
            g.drawString(subtitle, MARGIN, MARGIN + 34);
        }
    }

    /** The widest token label in the label font, at least the width of "0". */
    private static int labelWidth(List<String> tokens) {
        FontMetrics fm = metrics(LABELS);
        int widest = fm.stringWidth("0");
        for (String token : tokens) {
            widest = Math.max(widest, fm.stringWidth(shortened(token)));
        }
        return widest;
    }

    /** The width the title and subtitle need, with the margins. */
    private static int headingWidth(String title, String subtitle) {
        return 2 * MARGIN + Math.max(metrics(TITLE).stringWidth(title),
                subtitle == null ? 0 : metrics(TEXT).stringWidth(subtitle));
    }

    private static FontMetrics metrics(Font font) {
        Graphics2D g = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB).createGraphics();
        try {
            return g.getFontMetrics(font);
        } finally {
            g.dispose();
        }
    }

    /** {@code label}, cut to {@value #LABEL_CHARACTERS} characters with an ellipsis. */
    private static String shortened(String label) {
        return label.length() <= LABEL_CHARACTERS ? label : label.substring(0, LABEL_CHARACTERS - 1) + "…";
    }

    /** A white, anti-aliased canvas over the whole image. */
    private static Graphics2D canvas(BufferedImage image) {
        Graphics2D g = image.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, image.getWidth(), image.getHeight());
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        return g;
    }
}
