/**
 * Token mixers that replace the query-key dot product, linear in the sequence length: {@code
 * swiftformer} pools the queries into one global query that modulates every key, followed by a
 * learned linear transform (SwiftFormer's efficient additive attention), {@code xca} attends
 * across the channels by the softmax of their cross-covariance over the tokens (XCiT, EdgeNeXt),
 * {@code conv-modulation} modulates the values by a large-kernel depth-wise convolution of the
 * queries, along the sequence or over an image-patch grid (Conv2Former); and their provider
 * services. None computes or approximates softmax attention, and none forms token-to-token
 * weights. Exported because OLCUT creates the mechanisms by class name, as users name them in
 * configuration files.
 */
@Export
@Version("0.1.0")
package org.xformers4j.attention.mixing;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
