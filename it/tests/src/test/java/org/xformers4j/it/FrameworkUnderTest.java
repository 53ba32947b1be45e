package org.xformers4j.it;

import org.xformers4j.host.OsgiFramework;

/**
 * The OSGi framework the framework tests ({@link OsgiRegistryTest}, {@link OsgiLanguageModelTest})
 * start: the system property {@value #PROPERTY}, set by the build's surefire executions, which run
 * them once in Felix and once in Equinox, each with only its own framework on the class path (both
 * hold {@code org.apache.felix.resolver}, Equinox's copy signed).
 */
final class FrameworkUnderTest {

    static final String PROPERTY = "xformers4j.it.framework";

    private FrameworkUnderTest() {
    }

    /** The framework named by {@value #PROPERTY}. */
    static OsgiFramework get() {
        String name = System.getProperty(PROPERTY);
        if (name == null) {
            throw new IllegalStateException("set -D" + PROPERTY + " to FELIX or EQUINOX (the build's surefire executions do)");
        }
        return OsgiFramework.valueOf(name);
    }
}
