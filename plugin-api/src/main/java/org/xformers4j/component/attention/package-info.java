/** Attention mechanisms: the interface, the context a mechanism receives, and its capability declaration. */
@Export
@Version("0.1.0")
package org.xformers4j.component.attention;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
