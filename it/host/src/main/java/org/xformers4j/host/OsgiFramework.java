package org.xformers4j.host;

import java.util.Map;
import java.util.ServiceLoader;
import org.osgi.framework.launch.FrameworkFactory;

/**
 * The OSGi frameworks {@link OsgiHost} can embed: Apache Felix (the launcher's, in it/host's class
 * path) and Eclipse Equinox (on the integration tests' class path), each found through
 * {@code ServiceLoader<FrameworkFactory>} by its factory class, with the framework properties only
 * it reads.
 */
public enum OsgiFramework {

    /** Apache Felix ({@code org.apache.felix:org.apache.felix.framework}); its log goes to {@code java.util.logging}. */
    FELIX("org.apache.felix.framework.FrameworkFactory", "org.apache.felix:org.apache.felix.framework") {
        @Override
        Map<String, Object> ownProperties() {
            return Map.of("felix.log.logger", new OsgiHost.JulLogger());
        }
    },
    /** Eclipse Equinox ({@code org.eclipse.platform:org.eclipse.osgi}). */
    EQUINOX("org.eclipse.osgi.launch.EquinoxFactory", "org.eclipse.platform:org.eclipse.osgi") {
        @Override
        Map<String, Object> ownProperties() {
            return Map.of();
        }
    };

    private final String factoryClass;
    private final String artifact;

    OsgiFramework(String factoryClass, String artifact) {
        this.factoryClass = factoryClass;
        this.artifact = artifact;
    }

    /**
     * This framework's factory from the class path.
     *
     * @throws IllegalStateException if the framework is not on the class path (naming its artifact)
     */
    FrameworkFactory factory() {
        return ServiceLoader.load(FrameworkFactory.class, OsgiFramework.class.getClassLoader()).stream()
                .filter(provider -> provider.type().getName().equals(factoryClass))
                .map(ServiceLoader.Provider::get).findFirst()
                .orElseThrow(() -> new IllegalStateException("no " + this + " framework on the class path (" + artifact + ")"));
    }

    /** The framework properties only this framework reads (object values where it accepts them). */
    abstract Map<String, Object> ownProperties();
}
