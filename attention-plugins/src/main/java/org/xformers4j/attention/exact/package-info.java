/**
 * Exact softmax attention, every query against every key: {@code full} computes scaled
 * dot-product attention with the tensor ops (Vaswani et al., 2017, "Attention Is All You Need"),
 * {@code flash} the same function in tiles with an online softmax, never storing the score matrix
 * (Dao et al., 2022, "FlashAttention: Fast and Memory-Efficient Exact Attention with
 * IO-Awareness"; Dao, 2023, "FlashAttention-2: Faster Attention with Better Parallelism and Work
 * Partitioning"); {@link org.xformers4j.attention.exact.SoftmaxAttention}, the base class of these and
 * of the local and hashing softmax mechanisms, with the options they share (grouped-query heads,
 * Ainslie et al., 2023, "GQA"; query-key normalisation, Henry et al., 2020; persistent memory
 * key/values, Sukhbaatar et al., 2019; for {@code full}, which forms the score matrix, talking heads,
 * Shazeer et al., 2020, and explicit top-k attention, Zhao et al., 2019) and the dense weights the
 * softmax mechanisms report ({@link org.xformers4j.component.attention.WeightedAttention}); and their
 * provider services. Exported because OLCUT creates the mechanisms by
 * class name, as users name them in configuration files.
 */
@Export
@Version("0.2.0")
package org.xformers4j.attention.exact;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
