package org.xformers4j.it.karaf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;
import org.osgi.util.tracker.ServiceTracker;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.RegistryListener;

/**
 * The activator of the small bundle {@link KarafFeatureTest} installs beside the feature: it gets
 * the {@code ComponentRegistry} service the way the README shows (a {@code ServiceTracker}, no
 * launcher) and writes what the registry holds to the file named by the property
 * {@value #REPORT_PROPERTY}, again whenever a component comes or goes: one line
 * {@code backend NAME AVAILABLE DESCRIPTION} per backend, then {@code component NAME KIND} per
 * component. Each report replaces the last whole (temporary file, atomic move).
 */
public final class RegistryReport implements BundleActivator {

    /** The framework (or system) property naming the report file. */
    public static final String REPORT_PROPERTY = "xformers4j.it.report";

    private ServiceTracker<ComponentRegistry, ComponentRegistry> tracker;

    @Override
    public void start(BundleContext context) {
        Path report = Path.of(context.getProperty(REPORT_PROPERTY));
        tracker = new ServiceTracker<>(context, ComponentRegistry.class, null) {
            @Override
            public ComponentRegistry addingService(org.osgi.framework.ServiceReference<ComponentRegistry> reference) {
                ComponentRegistry registry = super.addingService(reference);
                registry.addListener(new RegistryListener() {
                    @Override
                    public void providerAdded(ComponentDescriptor descriptor) {
                        write(registry, report);
                    }

                    @Override
                    public void providerRemoved(ComponentDescriptor descriptor) {
                        write(registry, report);
                    }
                });
                write(registry, report);
                return registry;
            }
        };
        tracker.open();
    }

    @Override
    public void stop(BundleContext context) {
        tracker.close();
    }

    private static synchronized void write(ComponentRegistry registry, Path report) {
        List<String> lines = new ArrayList<>();
        for (ComputeBackend backend : registry.backends()) {
            lines.add("backend " + backend.name() + " " + backend.isAvailable() + " " + backend.description());
        }
        for (ComponentProvider<?> provider : registry.providers()) {
            lines.add("component " + provider.descriptor().name() + " " + provider.descriptor().kind());
        }
        try {
            Path temporary = report.resolveSibling(report.getFileName() + ".tmp");
            Files.write(temporary, lines, StandardCharsets.UTF_8);
            Files.move(temporary, report, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the registry report " + report, e);
        }
    }
}
