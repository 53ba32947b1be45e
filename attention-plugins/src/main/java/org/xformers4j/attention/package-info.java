/**
 * Attention mechanisms and their provider services. Exported because OLCUT creates the
 * mechanisms by class name, as users name them in configuration files.
 */
@Export
@Version("0.3.0")
package org.xformers4j.attention;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
