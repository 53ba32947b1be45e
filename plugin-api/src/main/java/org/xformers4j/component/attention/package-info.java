/**
 * Attention mechanisms: the interface, the context a mechanism receives, its capability
 * declaration, and the feature map a kernel attention declares ({@link org.xformers4j.component.attention.KernelFeatureMap}).
 */
@Export
@Version("0.3.0")
package org.xformers4j.component.attention;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
