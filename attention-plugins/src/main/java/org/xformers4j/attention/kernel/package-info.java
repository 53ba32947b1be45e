/**
 * Kernel attention mechanisms, which replace the softmax similarity by a feature-map kernel
 * {@code φ(q)·φ(k)} and so attend in time linear in the sequence length, and their provider
 * services. Exported because OLCUT creates the mechanisms by class name, as users name them in
 * configuration files.
 */
@Export
@Version("0.1.0")
package org.xformers4j.attention.kernel;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
