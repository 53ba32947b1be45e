/**
 * Decoding strategies: how a language model's next-token logits become generated text. Exported
 * because users name these classes in OLCUT configurations, and OLCUT instantiates them by name.
 */
@Export
@Version("0.1.0")
package org.xformers4j.decoding;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
