/**
 * The converters between Tribuo and the transformer models: {@link
 * org.xformers4j.models.tribuo.InputEncoder}s turn Tribuo {@link org.tribuo.Example}s into token
 * embeddings (one token per feature, image patches, ordered text tokens) and {@link
 * org.xformers4j.models.tribuo.OutputHead}s own the loss and turn logits back into Tribuo {@link
 * org.tribuo.Prediction}s ({@code Label}, {@code Regressor}, {@code MultiLabel}), as Tribuo's
 * TensorFlow interop does with its feature and output converters. Exported because users name
 * these classes in OLCUT configurations, and OLCUT instantiates them by name.
 */
@Export
@Version("0.4.0")
package org.xformers4j.models.tribuo;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
