/**
 * Positional encodings and their provider services. Exported because OLCUT creates the
 * encodings by class name, as users name them in configuration files.
 */
@Export
@Version("0.1.0")
package org.xformers4j.positional;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
