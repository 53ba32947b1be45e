/** The compute backend SPI: the kernels tensor ops need, implemented once per device, and backend selection. */
@Export
@Version("0.5.0")
package org.xformers4j.compute;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
