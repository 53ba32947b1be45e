/**
 * Low-rank approximations of softmax attention: {@code nystrom} approximates the softmax
 * attention matrix by the Nyström method over landmark queries and keys, {@code linformer}
 * projects the keys and values along the sequence to a fixed number of positions; and their
 * provider services. Exported because OLCUT creates the mechanisms by class name, as users name them in
 * configuration files.
 */
@Export
@Version("0.1.0")
package org.xformers4j.attention.lowrank;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
