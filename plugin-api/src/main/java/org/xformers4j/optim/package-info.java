/** Optimisers, gradient clipping and learning-rate schedules. */
@Export
@Version("0.3.0")
package org.xformers4j.optim;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
