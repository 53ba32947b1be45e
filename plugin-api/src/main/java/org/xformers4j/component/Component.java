package org.xformers4j.component;

import com.oracle.labs.mlrg.olcut.config.Configurable;
import com.oracle.labs.mlrg.olcut.config.PropertyException;

/**
 * A pluggable building block: an OLCUT {@link Configurable} whose hyperparameters are
 * {@link com.oracle.labs.mlrg.olcut.config.Config @Config} fields and whose class carries a
 * {@link ComponentInfo}. Configure it through its {@link ComponentProvider} (from string options
 * or an OLCUT configuration) so that {@link #postConfig()} validates it.
 */
public interface Component extends Configurable {

    /**
     * Validates the hyperparameters against their {@link Range} annotations; implementations with
     * further rules override this, call {@code Component.super.postConfig()} first, and throw
     * {@link PropertyException} naming the component, the field and the bad value.
     */
    @Override
    default void postConfig() {
        Hyperparameters.validate(this);
    }
}
