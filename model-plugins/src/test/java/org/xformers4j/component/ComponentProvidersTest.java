package org.xformers4j.component;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The bundle's registrations: DS descriptions, ServiceLoader entries and components agree. */
class ComponentProvidersTest {

    @Test
    void everyComponentIsRegisteredForOsgiAndForServiceLoaderAlike() throws IOException {
        assertThat(ProviderRegistrations.of(Path.of("target/classes")).assertConsistent().values())
                .contains("greedy", "beam", "sample").doesNotHaveDuplicates();
    }
}
