/**
 * Attention mechanisms: the interface, the context a mechanism receives, its capability
 * declaration, the feature map a kernel attention declares ({@link org.xformers4j.component.attention.KernelFeatureMap})
 * and the recurrent decoding of one that keeps a fixed-size state ({@link org.xformers4j.component.attention.RecurrentAttention}).
 */
@Export
@Version("0.3.0")
package org.xformers4j.component.attention;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
