/** Training checkpoints: model parameters, optimiser state and progress in one validated binary file. */
@Export
@Version("0.2.0")
package org.xformers4j.io;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
