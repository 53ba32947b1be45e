/** Decoding strategies: the interface, the model they drive, generation settings, logits processors and stopping criteria. */
@Export
@Version("0.3.0")
package org.xformers4j.component.decoding;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
