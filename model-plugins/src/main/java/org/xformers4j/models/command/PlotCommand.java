package org.xformers4j.models.command;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;
import org.osgi.service.component.annotations.Component;
import org.xformers4j.models.plot.CurveChart;
import org.xformers4j.models.plot.Curves;
import org.xformers4j.models.plot.MetricsFile;
import org.xformers4j.registry.CommandLine;
import org.xformers4j.registry.HostCommand;
import org.xformers4j.registry.UsageException;

/**
 * {@code xformers4j plot METRICS.jsonl… --out FILE.png [--title TEXT] [--log-loss]}: draws the
 * learning curves of the metrics files that {@code --metrics} wrote ({@link MetricsFile}, read as
 * untrusted input) into one PNG ({@link CurveChart}), one colour per file, the legend naming each
 * by its file name (its path as given when two files share a name), with the loss on a log scale
 * with {@code --log-loss}. A file being written by a run still training can be plotted.
 */
@Component(service = Function.class, property = {
        HostCommand.NAME_PROPERTY + "=plot",
        HostCommand.SUMMARY_PROPERTY + "=Draws the learning curves of --metrics files into one PNG"})
public final class PlotCommand extends Command {

    private static final CommandLine.Syntax SYNTAX = CommandLine.syntax().values("--out", "--title")
            .flags("--log-loss").operands(Integer.MAX_VALUE);

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) {
        CommandLine line;
        Path png;
        List<String> files;
        List<String> names;
        try {
            line = SYNTAX.parse(args);
            png = line.path("--out");
            files = line.operands();
            if (files.isEmpty() || files.size() > CurveChart.MAX_RUNS) {
                throw new UsageException("give 1 to " + CurveChart.MAX_RUNS + " metrics files, got " + files.size());
            }
            names = names(files);
            if (!png.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png")) {
                throw new UsageException("--out must name a .png file, got '" + png + "'");
            }
        } catch (UsageException e) {
            return usageError(err, "plot: " + e.getMessage());
        }
        List<Curves> runs = new ArrayList<>();
        int points = 0;
        try {
            for (int i = 0; i < files.size(); i++) {
                Curves curves = MetricsFile.read(Path.of(files.get(i)), names.get(i));
                runs.add(curves);
                points += curves.size();
            }
            CurveChart.write(png, line.value("--title", "Learning curves"), runs, line.flag("--log-loss"));
        } catch (IOException e) {
            return failure(err, "plot: cannot write " + png + ": " + messages(e));
        } catch (RuntimeException e) {
            return failure(err, "plot: " + messages(e));
        }
        out.printf(Locale.ROOT, "plotted %d run%s (%d points) to %s%n", runs.size(), runs.size() == 1 ? "" : "s",
                points, png);
        return OK;
    }

    /**
     * Each file's legend name: its file name, or the path as given when another file has the same name.
     *
     * @throws UsageException for a file given twice or a name that is not a path
     */
    private static List<String> names(List<String> files) {
        Set<String> seen = new HashSet<>();
        Set<String> repeated = new HashSet<>();
        List<String> fileNames = new ArrayList<>();
        for (String file : files) {
            Path path;
            try {
                path = Path.of(file);
            } catch (InvalidPathException e) {
                throw new UsageException("'" + file + "' is not a file name: " + e.getMessage());
            }
            if (path.getFileName() == null || files.indexOf(file) != files.lastIndexOf(file)) {
                throw new UsageException("'" + file + "' is " + (path.getFileName() == null ? "not a file" : "given twice"));
            }
            String name = path.getFileName().toString();
            if (!seen.add(name)) {
                repeated.add(name);
            }
            fileNames.add(name);
        }
        List<String> names = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            names.add(repeated.contains(fileNames.get(i)) ? files.get(i) : fileNames.get(i));
        }
        return names;
    }

    @Override
    protected String usage() {
        return "usage: xformers4j plot METRICS.jsonl... --out FILE.png [--title TEXT] [--log-loss]";
    }
}
