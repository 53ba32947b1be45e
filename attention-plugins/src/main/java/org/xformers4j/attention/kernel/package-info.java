/**
 * Kernel (softmax-free, linear-complexity) attention mechanisms and their provider services.
 * Exported because OLCUT creates the mechanisms by class name, as users name them in
 * configuration files.
 */
@Export
@Version("0.1.0")
package org.xformers4j.attention.kernel;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
