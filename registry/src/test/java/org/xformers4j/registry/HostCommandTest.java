package org.xformers4j.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link HostCommand#apply}: {@code --help} and {@code -h} print the usage instead of running the command. */
class HostCommandTest {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final List<String[]> runs = new ArrayList<>();
    private PrintStream systemOut;

    private final HostCommand command = new HostCommand() {
        @Override
        public int run(String[] args, PrintStream o, PrintStream e) {
            runs.add(args);
            return USAGE;
        }

        @Override
        protected String usage() {
            return "usage: xformers4j example --flag";
        }
    };

    @BeforeEach
    void captureStandardOutput() {
        systemOut = System.out;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void restoreStandardOutput() {
        System.setOut(systemOut);
    }

    @Test
    void helpPrintsTheUsageAndSucceedsWithoutRunning() {
        assertThat(command.apply(new String[] {"--help"})).isEqualTo(HostCommand.OK);
        assertThat(command.apply(new String[] {"train", "-h"})).isEqualTo(HostCommand.OK);

        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("usage: xformers4j example --flag\n".repeat(2));
        assertThat(runs).isEmpty();
    }

    @Test
    void otherArgumentsRunTheCommand() {
        assertThat(command.apply(new String[] {"--flag"})).isEqualTo(HostCommand.USAGE);

        assertThat(runs).hasSize(1);
        assertThat(runs.get(0)).containsExactly("--flag");
        assertThat(out.toString(StandardCharsets.UTF_8)).isEmpty();
    }
}
