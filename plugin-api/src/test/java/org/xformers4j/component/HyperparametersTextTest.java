package org.xformers4j.component;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.Configurable;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * {@link Hyperparameters#toText} and {@link Hyperparameters#fromText}: any {@code @Config} class
 * written as flat text entries reads back equal, and every bad entry (missing, unknown,
 * malformed, out of range) is refused naming it.
 */
class HyperparametersTextTest {

    enum Shape { ROUND, SQUARE }

    /** Every kind of field the text form holds. */
    static final class Fixture implements Configurable {
        @Config
        @Range(min = 1)
        int width = 3;
        @Config
        @Range(min = 0, max = 1, maxInclusive = false)
        float rate = 0.5f;
        @Config
        long seed = 7;
        @Config
        double scale = 1.5;
        @Config
        boolean on = true;
        @Config
        String name = "x";
        @Config
        Shape shape = Shape.ROUND;
        @Config
        Map<String, String> options = new HashMap<>();

        private Fixture() {
        }

        @Override
        public void postConfig() {
            Hyperparameters.validate(this);
        }
    }

    private static Fixture fixture() {
        Fixture f = new Fixture();
        f.width = 12;
        f.rate = 0.1f + 1e-8f;
        f.seed = Long.MIN_VALUE;
        f.scale = Math.PI;
        f.on = false;
        f.name = "héllo.world";
        f.shape = Shape.SQUARE;
        f.options.put("maxLength", "16");
        f.options.put("a.dotted.key", "v");
        return f;
    }

    @Test
    void everyFieldIsWrittenUnderThePrefixAndReadsBackExactly() {
        Map<String, String> text = Hyperparameters.toText(fixture(), "p.");
        assertThat(text).containsExactlyEntriesOf(new TreeMap<>(Map.of("p.width", "12",
                "p.rate", Float.toString(0.1f + 1e-8f), "p.seed", Long.toString(Long.MIN_VALUE),
                "p.scale", Double.toString(Math.PI), "p.on", "false", "p.name", "héllo.world", "p.shape", "SQUARE",
                "p.options.maxLength", "16", "p.options.a.dotted.key", "v")));

        Map<String, String> withOthers = new HashMap<>(text);
        withOthers.put("other.entry", "ignored");
        Fixture read = Hyperparameters.fromText(Fixture.class, withOthers, "p.");
        assertThat(Hyperparameters.toText(read, "p.")).isEqualTo(text);
        assertThat(read.rate).isEqualTo(0.1f + 1e-8f);
        assertThat(read.options).containsExactlyInAnyOrderEntriesOf(Map.of("maxLength", "16", "a.dotted.key", "v"));
    }

    @Test
    void missingUnknownAndMalformedEntriesAreRefusedNamingThem() {
        Map<String, String> valid = Hyperparameters.toText(fixture(), "p.");
        assertThatThrownBy(() -> Hyperparameters.fromText(Fixture.class, without(valid, "p.width"), "p."))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("no 'p.width' entry");
        assertThatThrownBy(() -> Hyperparameters.fromText(Fixture.class, with(valid, "p.placement", "PRE"), "p."))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("unknown entry 'p.placement'")
                .hasMessageContaining("p.width").hasMessageContaining("p.options.<key>");
        assertThatThrownBy(() -> Hyperparameters.fromText(Fixture.class, with(valid, "p.width", "12x"), "p."))
                .hasMessage("'p.width' = '12x' is not an int");
        assertThatThrownBy(() -> Hyperparameters.fromText(Fixture.class, with(valid, "p.seed", "1.5"), "p."))
                .hasMessage("'p.seed' = '1.5' is not a long");
        assertThatThrownBy(() -> Hyperparameters.fromText(Fixture.class, with(valid, "p.on", "yes"), "p."))
                .hasMessage("'p.on' = 'yes' is not a boolean (true or false)");
        assertThatThrownBy(() -> Hyperparameters.fromText(Fixture.class, with(valid, "p.shape", "square"), "p."))
                .hasMessage("'p.shape' = 'square' is not one of ROUND | SQUARE");
        assertThatThrownBy(() -> Hyperparameters.fromText(Fixture.class, with(valid, "p.width", "0"), "p."))
                .hasMessage("'p.width' = '0': Fixture.width = 0 is outside the valid range [1, +inf)");
        assertThatThrownBy(() -> Hyperparameters.fromText(Fixture.class, with(valid, "p.rate", "NaN"), "p."))
                .hasMessageStartingWith("'p.rate' = 'NaN': Fixture.rate = NaN is outside");
    }

    @Test
    void validateRefusesANullField() {
        Fixture f = fixture();
        f.name = null;
        assertThatThrownBy(() -> Hyperparameters.validate(f)).isInstanceOf(PropertyException.class)
                .hasMessageContaining("Fixture.name must be set, got null");
    }

    private static Map<String, String> with(Map<String, String> entries, String key, String value) {
        Map<String, String> out = new HashMap<>(entries);
        out.put(key, value);
        return out;
    }

    private static Map<String, String> without(Map<String, String> entries, String key) {
        Map<String, String> out = new HashMap<>(entries);
        out.remove(key);
        return out;
    }
}
