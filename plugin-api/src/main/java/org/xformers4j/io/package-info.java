/** Training checkpoints (model parameters, optimiser state and progress in one validated binary file) and atomic file writes. */
@Export
@Version("0.4.0")
package org.xformers4j.io;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
