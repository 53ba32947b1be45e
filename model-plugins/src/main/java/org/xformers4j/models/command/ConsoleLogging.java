package org.xformers4j.models.command;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.xformers4j.models.tribuo.TransformerTrainer;

/**
 * For the run of a training command: {@code java.util.logging} records on the console in one line
 * ({@code WARNING: message}) instead of the JDK's two (date and logger, then the message), and the
 * epoch lines that {@link TransformerTrainer} logs at INFO for library users silenced, as the
 * command's progress shows them. {@link #close()} puts the formatters and the level back: the
 * library code itself never changes the logging configuration.
 */
final class ConsoleLogging implements AutoCloseable {

    /** {@code LEVEL: message}, and the exception's class and message when the record has one. */
    static final class OneLineFormatter extends Formatter {
        @Override
        public String format(LogRecord record) {
            Throwable thrown = record.getThrown();
            return record.getLevel().getName() + ": " + formatMessage(record)
                    + (thrown == null ? "" : " (" + thrown + ")") + System.lineSeparator();
        }
    }

    private final List<Handler> handlers = new ArrayList<>();
    private final List<Formatter> formatters = new ArrayList<>();
    private final Logger trainerLogger = Logger.getLogger(TransformerTrainer.class.getName());
    private final Level trainerLevel;

    private ConsoleLogging() {
        Formatter oneLine = new OneLineFormatter();
        for (Handler handler : Logger.getLogger("").getHandlers()) {
            if (handler instanceof ConsoleHandler) {
                handlers.add(handler);
                formatters.add(handler.getFormatter());
                handler.setFormatter(oneLine);
            }
        }
        trainerLevel = trainerLogger.getLevel();
        trainerLogger.setLevel(Level.WARNING);
    }

    /** Switches the console to one-line records until {@link #close()}. */
    static ConsoleLogging oneLine() {
        return new ConsoleLogging();
    }

    @Override
    public void close() {
        for (int i = 0; i < handlers.size(); i++) {
            handlers.get(i).setFormatter(formatters.get(i));
        }
        trainerLogger.setLevel(trainerLevel);
    }
}
