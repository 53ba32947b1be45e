/** Dense float32 tensors with reverse-mode automatic differentiation. */
@Export
@Version("0.4.0")
package org.xformers4j.tensor;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
