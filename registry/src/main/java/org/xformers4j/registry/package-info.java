/**
 * The component registry: every attention mechanism, positional encoding and decoding strategy the
 * running system can create, found through OSGi Declarative Services inside a framework and
 * through {@link java.util.ServiceLoader} on a plain class path; the base of every host command;
 * and {@link org.xformers4j.registry.ConfigFiles}, the one way to open a user's OLCUT configuration file.
 */
@Export
@Version("0.3.0")
package org.xformers4j.registry;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
