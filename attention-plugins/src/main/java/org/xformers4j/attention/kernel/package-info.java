/**
 * Kernel attention mechanisms, softmax-free and linear in the sequence length: {@code linear}
 * replaces the softmax similarity by a feature-map kernel {@code φ(q)·φ(k)}, {@code performer} by
 * random features whose kernel estimates the softmax one (FAVOR+), {@code cosformer} by ReLU
 * features re-weighted by the distance of query and key, {@code relu-linear} by ReLU features on
 * several scales of depth-wise convolved queries, keys and values (EfficientViT), {@code hydra}
 * and {@code sima} by normalised queries and keys; and their provider services. Exported because OLCUT
 * creates the mechanisms by class name, as users name them in
 * configuration files.
 */
@Export
@Version("0.1.0")
package org.xformers4j.attention.kernel;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
