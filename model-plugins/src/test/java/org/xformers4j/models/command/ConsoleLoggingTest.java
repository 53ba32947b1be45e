package org.xformers4j.models.command;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import org.junit.jupiter.api.Test;
import org.xformers4j.models.tribuo.TransformerTrainer;

/** One-line console logging for a command's run, and everything put back afterwards. */
class ConsoleLoggingTest {

    @Test
    void aRecordIsOneLine() {
        LogRecord record = new LogRecord(Level.WARNING, "the {0} is slow");
        record.setParameters(new Object[] {"backend"});
        record.setThrown(new IllegalStateException("no SIMD"));
        assertThat(new ConsoleLogging.OneLineFormatter().format(record))
                .isEqualTo("WARNING: the backend is slow (java.lang.IllegalStateException: no SIMD)" + System.lineSeparator());
    }

    @Test
    void theConsoleIsOneLineAndTheTrainersEpochLinesSilentUntilClosed() {
        Logger root = Logger.getLogger("");
        ConsoleHandler console = new ConsoleHandler();
        Formatter original = new SimpleFormatter();
        console.setFormatter(original);
        root.addHandler(console);
        Logger trainer = Logger.getLogger(TransformerTrainer.class.getName());
        Level level = trainer.getLevel();
        try {
            try (ConsoleLogging logging = ConsoleLogging.oneLine()) {
                assertThat(console.getFormatter()).isInstanceOf(ConsoleLogging.OneLineFormatter.class);
                assertThat(trainer.isLoggable(Level.INFO)).isFalse();
                assertThat(trainer.isLoggable(Level.WARNING)).isTrue();
            }
            assertThat(console.getFormatter()).isSameAs(original);
            assertThat(trainer.getLevel()).isEqualTo(level);
        } finally {
            root.removeHandler(console);
        }
    }
}
