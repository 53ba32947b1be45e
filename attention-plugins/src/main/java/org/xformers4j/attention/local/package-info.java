/**
 * Local softmax attention, each query against the keys of a band of positions around it:
 * {@code local} attends within chunks of the sequence and their neighbouring chunks (Kitaev et al.,
 * 2020, "Reformer: The Efficient Transformer"), {@code sliding-window} within a window of positions
 * around, or before, each query (Beltagy et al., 2020, "Longformer: The Long-Document
 * Transformer"; Jiang et al., 2023, "Mistral 7B"); both computed block by block by one banded
 * kernel, time and memory linear in the length; {@code swin} within the (shifted) M×M windows of
 * an image-patch grid (Liu et al., 2021, "Swin Transformer: Hierarchical Vision Transformer using
 * Shifted Windows"), computed as a batch of windows; and their provider services. Exported because
 * OLCUT creates the mechanisms by class name, as users name them in configuration files.
 */
@Export
@Version("0.2.0")
package org.xformers4j.attention.local;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
