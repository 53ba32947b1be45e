/**
 * Transformer building blocks assembled from the plugin API's layers and the pluggable
 * components: the {@link org.xformers4j.models.nn.TransformerBlock} (pre-, post- or sandwich-norm
 * residual sublayers with residual dropout and stochastic depth) and the
 * {@link org.xformers4j.models.nn.TransformerEncoder} stack with CLS or mean pooling and register
 * tokens. Exported because the Tribuo trainers and models of other packages, and users' own
 * models, build on them.
 */
@Export
@Version("0.4.0")
package org.xformers4j.models.nn;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
