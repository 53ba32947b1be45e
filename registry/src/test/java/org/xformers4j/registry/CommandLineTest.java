package org.xformers4j.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link CommandLine}: every rule of the one command-line parser, and the message of each error. */
class CommandLineTest {

    private static final CommandLine.Syntax SYNTAX = CommandLine.syntax()
            .values("--steps", "--name", "--rate", "--save").flags("--json", "--causal").repeatable("--option");

    private static CommandLine parse(String... args) {
        return SYNTAX.parse(args);
    }

    private static void refused(CommandLine.Syntax syntax, String message, String... args) {
        assertThatThrownBy(() -> syntax.parse(args)).isInstanceOf(UsageException.class)
                .isInstanceOf(IllegalArgumentException.class).hasMessage(message);
    }

    @Test
    void aValueOptionTakesTheNextArgument() {
        CommandLine line = parse("--steps", "10", "--name", "a b");
        assertThat(line.required("--steps")).isEqualTo("10");
        assertThat(line.value("--name", "x")).isEqualTo("a b");
        assertThat(line.has("--steps")).isTrue();
        assertThat(line.has("--rate")).isFalse();
        assertThat(line.value("--rate", "0.5")).isEqualTo("0.5");
        assertThat(line.value("--rate", null)).isNull();
    }

    @Test
    void aValueOptionTakesTheTextAfterEquals() {
        CommandLine line = parse("--steps=10", "--name=a=b", "--save=");
        assertThat(line.required("--steps")).isEqualTo("10");
        assertThat(line.required("--name")).as("split at the first '='").isEqualTo("a=b");
        assertThat(line.required("--save")).isEmpty();
        assertThat(parse("--name=--json").required("--name")).as("the way to give a value starting with --")
                .isEqualTo("--json");
    }

    @Test
    void valuesAreKeptAsGiven() {
        assertThat(parse("--name", "  spaced ").required("--name")).isEqualTo("  spaced ");
        assertThat(parse("--name", "-1").required("--name")).as("one dash is a value").isEqualTo("-1");
    }

    @Test
    void aMissingValueNamesTheOption() {
        refused(SYNTAX, "--steps needs a value", "--steps");
        refused(SYNTAX, "--steps needs a value", "--steps", "--json");
        refused(SYNTAX, "--option needs a value", "--option");
    }

    @Test
    void aValueOptionGivenTwiceIsRefused() {
        refused(SYNTAX, "--steps given twice", "--steps", "1", "--steps", "2");
        refused(SYNTAX, "--steps given twice", "--steps=1", "--steps", "1");
    }

    @Test
    void unknownOptionsAndOperandsAreUnexpected() {
        refused(SYNTAX, "unexpected argument '--epochs'", "--epochs", "3");
        refused(SYNTAX, "unexpected argument '--epochs=3'", "--epochs=3");
        refused(SYNTAX, "unexpected argument 'foo'", "--json", "foo");
        refused(SYNTAX, "unexpected argument '-x'", "-x");
        refused(SYNTAX, "unexpected argument '-'", "-");
    }

    @Test
    void flagsTakeNoValueAndMayRepeat() {
        CommandLine line = parse("--json", "--json");
        assertThat(line.flag("--json")).isTrue();
        assertThat(line.flag("--causal")).isFalse();
        assertThat(line.has("--json")).isTrue();
        refused(SYNTAX, "--json takes no value, got '--json=yes'", "--json=yes");
    }

    @Test
    void aRepeatableOptionKeepsEveryValueInOrder() {
        CommandLine line = parse("--option", "b=2", "--steps", "1", "--option=a=1", "--option", "b=3");
        assertThat(line.all("--option")).containsExactly("b=2", "a=1", "b=3");
        assertThat(line.has("--option")).isTrue();
        assertThat(parse().all("--option")).isEmpty();
        assertThat(parse().has("--option")).isFalse();
    }

    @Test
    void pairsAreAMapInOrderTrimmedWithOneValuePerName() {
        assertThat(parse("--option", "k=16", "--option", " sharing = KV ", "--option", "empty=").pairs("--option"))
                .containsExactly(entry("k", "16"), entry("sharing", "KV"), entry("empty", ""));
        assertThatThrownBy(() -> parse("--option", "k").pairs("--option")).isInstanceOf(UsageException.class)
                .hasMessage("--option must be NAME=VALUE, got 'k'");
        assertThatThrownBy(() -> parse("--option", "=4").pairs("--option")).isInstanceOf(UsageException.class)
                .hasMessage("--option must be NAME=VALUE, got '=4'");
        assertThatThrownBy(() -> parse("--option", "k=4", "--option", "k=8").pairs("--option"))
                .isInstanceOf(UsageException.class).hasMessage("--option k given twice");
    }

    @Test
    void aRequiredOptionMustBeGiven() {
        assertThatThrownBy(() -> parse().required("--name")).isInstanceOf(UsageException.class)
                .hasMessage("--name is required");
        assertThatThrownBy(() -> parse().path("--save")).isInstanceOf(UsageException.class)
                .hasMessage("--save is required");
    }

    @Test
    void integersAreCheckedAndNamed() {
        assertThat(parse("--steps", "12").integer("--steps", 3)).isEqualTo(12);
        assertThat(parse("--steps", " -4 ").integer("--steps", 3)).isEqualTo(-4);
        assertThat(parse().integer("--steps", 3)).isEqualTo(3);
        assertThatThrownBy(() -> parse("--steps", "x").integer("--steps", 3)).isInstanceOf(UsageException.class)
                .hasMessage("--steps must be an integer, got 'x'");
        assertThatThrownBy(() -> parse("--steps", "1.5").integer("--steps", 3)).isInstanceOf(UsageException.class)
                .hasMessage("--steps must be an integer, got '1.5'");
        assertThatThrownBy(() -> parse("--steps", "9999999999").integer("--steps", 3))
                .isInstanceOf(UsageException.class).hasMessage("--steps must be an integer, got '9999999999'");
    }

    @Test
    void positiveAndNonNegativeIntegersAreCheckedAndNamed() {
        assertThat(parse("--steps", "1").positiveInteger("--steps", 5)).isEqualTo(1);
        assertThat(parse().positiveInteger("--steps", 5)).isEqualTo(5);
        assertThatThrownBy(() -> parse("--steps", "0").positiveInteger("--steps", 5))
                .isInstanceOf(UsageException.class).hasMessage("--steps must be a positive integer, got '0'");
        assertThatThrownBy(() -> parse("--steps", "two").positiveInteger("--steps", 5))
                .isInstanceOf(UsageException.class).hasMessage("--steps must be a positive integer, got 'two'");
        assertThat(parse("--steps", "0").nonNegativeInteger("--steps", 5)).isZero();
        assertThatThrownBy(() -> parse("--steps", "-3").nonNegativeInteger("--steps", 5))
                .isInstanceOf(UsageException.class).hasMessage("--steps must be a non-negative integer, got '-3'");
    }

    @Test
    void numbersMustBeFinite() {
        assertThat(parse("--rate", "0.25").number("--rate", 1)).isEqualTo(0.25);
        assertThat(parse("--rate", "1e-3").number("--rate", 1)).isEqualTo(1e-3);
        assertThat(parse().number("--rate", 1)).isEqualTo(1);
        assertThatThrownBy(() -> parse("--rate", "fast").number("--rate", 1)).isInstanceOf(UsageException.class)
                .hasMessage("--rate must be a number, got 'fast'");
        assertThatThrownBy(() -> parse("--rate", "NaN").number("--rate", 1)).isInstanceOf(UsageException.class)
                .hasMessage("--rate must be a finite number, got 'NaN'");
        assertThatThrownBy(() -> parse("--rate=-Infinity").number("--rate", 1)).isInstanceOf(UsageException.class)
                .hasMessage("--rate must be a finite number, got '-Infinity'");
    }

    @Test
    void pathsAreParsedNotChecked() {
        assertThat(parse("--save", "no/such/dir").path("--save")).isEqualTo(Path.of("no/such/dir"));
        assertThat(parse().path("--save", null)).isNull();
        assertThat(parse().path("--save", Path.of("x"))).isEqualTo(Path.of("x"));
        assertThatThrownBy(() -> parse("--save", "a\0b").path("--save")).isInstanceOf(UsageException.class)
                .hasMessageStartingWith("--save must be a path, got 'a\0b' (");
    }

    @Test
    void operandsAreAcceptedUpToTheSyntaxsCount() {
        CommandLine.Syntax one = CommandLine.syntax().flags("--json").operands(1);
        assertThat(one.parse("flash", "--json").operands()).containsExactly("flash");
        assertThat(one.parse("--json").operands()).isEmpty();
        refused(one, "unexpected argument 'echo'", "flash", "echo");
        refused(one, "unexpected argument '--yaml'", "--yaml");
        CommandLine.Syntax any = CommandLine.syntax().flags("--json").operands(Integer.MAX_VALUE);
        assertThat(any.parse("b", "--json", "a", "b").operands()).containsExactly("b", "a", "b");
        refused(CommandLine.syntax(), "unexpected argument 'x'", "x");
    }

    @Test
    void parsingAListIsParsingTheArray() {
        CommandLine line = SYNTAX.parse(List.of("--steps=3", "--json"));
        assertThat(line.integer("--steps", 0)).isEqualTo(3);
        assertThat(line.flag("--json")).isTrue();
    }

    @Test
    void askingForAnUndeclaredOptionIsAMistakeInTheCommand() {
        CommandLine line = parse();
        assertThatThrownBy(() -> line.has("--epochs")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("--epochs");
        assertThatThrownBy(() -> line.required("--json")).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> line.flag("--steps")).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> line.all("--steps")).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aSyntaxRefusesMalformedOrDuplicateDeclarations() {
        assertThatThrownBy(() -> CommandLine.syntax().values("steps")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> CommandLine.syntax().values("--a=b")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> CommandLine.syntax().values("--a").flags("--a"))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("--a is declared twice");
        assertThatThrownBy(() -> CommandLine.syntax().operands(-1)).isInstanceOf(IllegalArgumentException.class);
        CommandLine.Syntax base = CommandLine.syntax().values("--a");
        base.flags("--b");
        assertThatThrownBy(() -> base.parse("--b")).as("a syntax is immutable").isInstanceOf(UsageException.class);
    }
}
