/** The component SPI: the three kinds of pluggable component, their descriptors derived from OLCUT {@code @Config} fields, and provider services. */
@Export
@Version("0.3.0")
package org.xformers4j.component;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
