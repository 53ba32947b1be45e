/** Neural-network layers with named parameters: linear, embedding, normalisation, dropout, feed-forward. */
@Export
@Version("0.2.0")
package org.xformers4j.nn;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
