/**
 * Hashing attention, softmax attention among the positions that a locality-sensitive hash puts
 * in the same bucket: {@code lsh}, Reformer's shared query-key attention over sorted, chunked
 * buckets (Kitaev, Kaiser and Levskaya, 2020, "Reformer: The Efficient Transformer"), hashing by
 * random rotations (Andoni et al., 2015, "Practical and Optimal LSH for Angular Distance"); and
 * its provider service. Exported because OLCUT creates the mechanisms by class name, as users name
 * them in configuration files.
 */
@Export
@Version("0.1.0")
package org.xformers4j.attention.hashing;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
