/**
 * Sparse softmax attention, each query against the keys of a pattern of blocks, on the compute
 * backend's fused block-sparse kernel (only the non-empty blocks are computed, forward and
 * backward): {@code block-sparse} with a named layout (Child et al., 2019, "Generating Long
 * Sequences with Sparse Transformers": fixed and strided; BigBird; Longformer's window and global
 * blocks; random blocks of a given density) or one read from a layout file, and {@code bigbird}
 * (Zaheer et al., 2020, "Big Bird: Transformers for Longer Sequences"); and their provider
 * services. Exported because OLCUT creates the mechanisms by class name, as users name them in
 * configuration files.
 */
@Export
@Version("0.1.0")
package org.xformers4j.attention.sparse;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
