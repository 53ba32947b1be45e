package org.xformers4j.models.plot;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Line2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import javax.imageio.ImageIO;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.LegendTitle;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.xformers4j.io.AtomicFiles;
import org.xformers4j.train.MetricsLog;

/**
 * Draws the learning curves of one or more runs into a PNG with JFreeChart, off-screen: one panel
 * per measure, sharing the step axis — the training and held-out loss (training dashed, held-out
 * solid; optionally on a log scale), each held-out metric (bits per character, …), the learning
 * rate and the throughput — and one colour per run, named in the legend when there are several.
 * A measure no run has gets no panel. The file is written atomically.
 */
public final class CurveChart {

    /** The most runs one chart overlays (the distinct colours). */
    public static final int MAX_RUNS = 10;

    private static final int WIDTH = 1000;
    /** The height of one panel, in pixels. */
    static final int PANEL_HEIGHT = 260;
    private static final int MARGIN_HEIGHT = 130;
    /** Runs of at most this many points show a marker at each. */
    private static final int MARKED_POINTS = 60;

    /** Tableau's ten colours (matplotlib's default cycle): distinct, and readable on white. */
    private static final Color[] COLOURS = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c),
            new Color(0xd62728), new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f),
            new Color(0xbcbd22), new Color(0x17becf)};
    private static final BasicStroke SOLID = new BasicStroke(2f);
    private static final BasicStroke DASHED = new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f,
            new float[] {7f, 5f}, 0f);

    private CurveChart() {
    }

    /** One series drawn in a panel: its key in the records, its legend label and its stroke. */
    private record Line(String key, String label, BasicStroke stroke) {
    }

    /** One panel: its axis label and its lines; the first panel's lines are the legend's. */
    private record Panel(String axis, List<Line> lines, boolean logScale) {
    }

    /**
     * Writes the chart of {@code runs} under {@code title} to {@code png}, atomically, with the loss
     * on a log scale when {@code logLoss}.
     *
     * @throws IllegalArgumentException for no runs, more than {@value #MAX_RUNS}, or runs without a loss
     * @throws IOException              if the file cannot be written
     */
    public static void write(Path png, String title, List<Curves> runs, boolean logLoss) throws IOException {
        BufferedImage image = image(title, runs, logLoss);
        AtomicFiles.write(png, out -> {
            if (!ImageIO.write(image, "png", out)) {
                throw new IOException("no PNG writer in this Java runtime");
            }
        });
    }

    /** The chart of {@code runs} as an image. */
    static BufferedImage image(String title, List<Curves> runs, boolean logLoss) {
        if (runs.isEmpty() || runs.size() > MAX_RUNS) {
            throw new IllegalArgumentException("a chart shows 1 to " + MAX_RUNS + " runs, got " + runs.size());
        }
        NumberAxis steps = new NumberAxis("step");
        steps.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        steps.setAutoRangeIncludesZero(false);
        CombinedDomainXYPlot plot = new CombinedDomainXYPlot(steps);
        plot.setGap(12);
        List<Panel> panels = panels(runs, logLoss);
        for (int p = 0; p < panels.size(); p++) {
            plot.add(panel(panels.get(p), runs, p == 0));
        }
        JFreeChart chart = new JFreeChart(title, new Font(Font.SANS_SERIF, Font.BOLD, 18), plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        chart.setAntiAlias(true);
        chart.setTextAntiAlias(true);
        LegendTitle legend = chart.getLegend();
        legend.setPosition(RectangleEdge.BOTTOM);
        legend.setItemFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        chart.addSubtitle(new TextTitle(subtitle(runs), new Font(Font.SANS_SERIF, Font.PLAIN, 12)));
        return chart.createBufferedImage(WIDTH, MARGIN_HEIGHT + PANEL_HEIGHT * panels.size());
    }

    /** The panels some run has data for: the losses, each held-out metric, the learning rate, the throughput. */
    private static List<Panel> panels(List<Curves> runs, boolean logLoss) {
        TreeSet<String> keys = new TreeSet<>();
        runs.forEach(run -> run.series().stream().filter(key -> hasData(run, key)).forEach(keys::add));
        if (!keys.contains(MetricsLog.LOSS) && !keys.contains(MetricsLog.VALIDATION_LOSS)) {
            throw new IllegalArgumentException("no run has a '" + MetricsLog.LOSS + "' or '"
                    + MetricsLog.VALIDATION_LOSS + "' value to draw");
        }
        List<Panel> panels = new ArrayList<>();
        List<Line> losses = new ArrayList<>();
        if (keys.contains(MetricsLog.LOSS)) {
            losses.add(new Line(MetricsLog.LOSS, "training loss", DASHED));
        }
        if (keys.contains(MetricsLog.VALIDATION_LOSS)) {
            losses.add(new Line(MetricsLog.VALIDATION_LOSS, "validation loss", SOLID));
        }
        panels.add(new Panel(logLoss ? "loss (log scale)" : "loss", losses, logLoss));
        for (String key : keys) {
            if (key.startsWith(MetricsLog.VALIDATION_PREFIX) && !key.equals(MetricsLog.VALIDATION_LOSS)) {
                String measure = key.substring(MetricsLog.VALIDATION_PREFIX.length()).replace('_', ' ');
                panels.add(new Panel(measure, List.of(new Line(key, "validation " + measure, SOLID)), false));
            }
        }
        if (keys.contains(MetricsLog.LEARNING_RATE)) {
            panels.add(new Panel("learning rate", List.of(new Line(MetricsLog.LEARNING_RATE, "learning rate", SOLID)),
                    false));
        }
        if (keys.contains(MetricsLog.ITEMS_PER_SECOND)) {
            panels.add(new Panel("items (tokens, examples) / s", List.of(new Line(MetricsLog.ITEMS_PER_SECOND,
                    "items per second", SOLID)), false));
        }
        return panels;
    }

    /**
     * The plot of one panel: a series per run and line, coloured by run (by line for a single run),
     * in the legend when {@code inLegend} (the loss panel's lines say what the colours and dashes mean).
     */
    private static XYPlot panel(Panel panel, List<Curves> runs, boolean inLegend) {
        XYSeriesCollection data = new XYSeriesCollection();
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
        renderer.setLegendLine(new Line2D.Double(-18, 0, 18, 0));      // long enough to show the dashes
        for (int r = 0; r < runs.size(); r++) {
            Curves run = runs.get(r);
            double[] steps = run.steps();
            for (int l = 0; l < panel.lines().size(); l++) {
                Line line = panel.lines().get(l);
                if (!hasData(run, line.key())) {
                    continue;
                }
                XYSeries series = new XYSeries((runs.size() > 1 ? run.name() + ": " : "") + line.label(), false, true);
                double[] values = run.values(line.key());
                for (int i = 0; i < steps.length; i++) {
                    if (!Double.isNaN(values[i]) && (!panel.logScale() || values[i] > 0)) {
                        series.add(steps[i], values[i]);
                    }
                }
                int index = data.getSeriesCount();
                data.addSeries(series);
                renderer.setSeriesPaint(index, COLOURS[runs.size() > 1 ? r : l]);
                renderer.setSeriesVisibleInLegend(index, inLegend);
                renderer.setSeriesStroke(index, line.stroke());
                renderer.setSeriesShapesVisible(index, series.getItemCount() <= MARKED_POINTS);
                renderer.setSeriesShape(index, new Ellipse2D.Double(-3, -3, 6, 6));
            }
        }
        XYPlot plot = new XYPlot(data, null, axis(panel), renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(0xdddddd));
        plot.setRangeGridlinePaint(new Color(0xdddddd));
        plot.setDomainGridlinesVisible(true);
        plot.setRangeGridlinesVisible(true);
        plot.setOutlinePaint(new Color(0x999999));
        return plot;
    }

    private static ValueAxis axis(Panel panel) {
        Font label = new Font(Font.SANS_SERIF, Font.PLAIN, 14);
        if (panel.logScale()) {
            // ticks labelled as plain numbers (by default LogAxis writes 10^0.68)
            LogAxis axis = new LogAxis(panel.axis());
            axis.setLabelFont(label);
            axis.setSmallestValue(1e-9);
            axis.setNumberFormatOverride(new DecimalFormat("0.###", DecimalFormatSymbols.getInstance(Locale.ROOT)));
            return axis;
        }
        NumberAxis axis = new NumberAxis(panel.axis());
        axis.setLabelFont(label);
        axis.setAutoRangeIncludesZero(false);
        return axis;
    }

    /** The runs' sizes: {@code m.jsonl: 20 points, steps 100 to 2000}. */
    private static String subtitle(List<Curves> runs) {
        List<String> parts = new ArrayList<>();
        for (Curves run : runs) {
            double[] steps = run.steps();
            parts.add(String.format(Locale.ROOT, "%s: %d point%s, steps %.0f to %.0f", run.name(), run.size(),
                    run.size() == 1 ? "" : "s", steps[0], steps[steps.length - 1]));
        }
        return String.join("   ", parts);
    }

    private static boolean hasData(Curves run, String key) {
        for (double value : run.values(key)) {
            if (!Double.isNaN(value)) {
                return true;
            }
        }
        return false;
    }
}
