package org.xformers4j.models.tribuo;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * Checks of OLCUT {@code @Config} fields shared by the trainers' {@code postConfig()}: each throws
 * {@link PropertyException} naming the field and its value.
 */
public final class ConfigFields {

    private ConfigFields() {
    }

    /** {@code value} must be > 0. */
    public static void positive(String field, int value) {
        if (value <= 0) {
            throw new PropertyException("", field, field + " must be positive, got " + value);
        }
    }

    /** {@code value} must be a probability in [0, 1). */
    public static void probability(String field, float value) {
        if (!(value >= 0f && value < 1f)) {
            throw new PropertyException("", field, field + " must be in [0, 1), got " + value);
        }
    }

    /** A path field must be non-null and, unless empty, a valid path on this file system. */
    public static void path(String field, String value) {
        if (value == null) {
            throw new PropertyException("", field, field + " must not be null (empty for none)");
        }
        try {
            Path.of(value);
        } catch (InvalidPathException e) {
            throw new PropertyException(e, "", field, field + " = '" + value + "' is not a valid path: "
                    + e.getMessage());
        }
    }
}
