/** Positional encodings: the three hooks and the capability declaration. */
@Export
@Version("0.2.0")
package org.xformers4j.component.positional;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
