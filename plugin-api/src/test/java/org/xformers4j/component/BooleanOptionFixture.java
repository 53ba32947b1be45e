package org.xformers4j.component;

import com.oracle.labs.mlrg.olcut.config.Config;
import org.xformers4j.component.positional.PositionalCapabilities;
import org.xformers4j.component.positional.PositionalEncoding;

/** A test component with one boolean hyperparameter. */
@ComponentInfo(name = "flag", summary = "Holds a flag.", reference = "None, 2026, test fixture")
@PositionalCapabilities(learnable = false, extrapolates = true)
public final class BooleanOptionFixture implements PositionalEncoding {

    @Config(description = "A flag.")
    private boolean enabled;

    private BooleanOptionFixture() {
    }

    boolean enabled() {
        return enabled;
    }

    /** Its provider. */
    public static final class Provider extends ConfigurableComponentProvider<BooleanOptionFixture> {
        public Provider() {
            super(BooleanOptionFixture.class);
        }
    }
}
