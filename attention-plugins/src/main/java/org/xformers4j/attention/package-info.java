/**
 * Attention mechanisms, one sub-package per family, each mechanism with its generated provider
 * service: {@link org.xformers4j.attention.exact} (exact softmax attention: {@code full},
 * {@code flash}), {@link org.xformers4j.attention.local} (softmax attention within a band of
 * positions or a window of the image grid: {@code local}, {@code sliding-window}, {@code swin}),
 * {@link org.xformers4j.attention.hashing} (softmax attention within hash buckets: {@code lsh}),
 * {@link org.xformers4j.attention.sparse} (softmax attention over the blocks of a layout:
 * {@code block-sparse}, {@code bigbird}), {@link org.xformers4j.attention.lowrank} (low-rank
 * approximations: {@code nystrom}, {@code linformer}),
 * {@link org.xformers4j.attention.kernel} (softmax-free kernel attentions: {@code linear},
 * {@code performer}, {@code cosformer}, {@code hydra}, {@code sima}, {@code relu-linear}) and
 * {@link org.xformers4j.attention.mixing} (token mixers that replace the query-key product:
 * {@code swiftformer}, {@code xca}, {@code conv-modulation}). The family packages are exported,
 * because OLCUT creates the mechanisms by class name, as users name them in configuration files.
 *
 * <p>What more than one family uses (the softmax options base class, the input checks, the
 * depth-wise convolution, the fused-kernel op) is in {@code org.xformers4j.attention.internal}, which is not exported.
 * This package itself holds no classes and is not exported.
 */
package org.xformers4j.attention;
