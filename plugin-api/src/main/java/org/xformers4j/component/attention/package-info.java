/**
 * Attention mechanisms: the interface, the context a mechanism receives, its capability
 * declaration, the feature map a kernel attention declares ({@link org.xformers4j.component.attention.KernelFeatureMap}),
 * the recurrent decoding of one that keeps a fixed-size state ({@link org.xformers4j.component.attention.RecurrentAttention}),
 * the hook through which a model builder places a mechanism in a stack of layers with shared
 * parameters ({@link org.xformers4j.component.attention.StackAware}), the weights a mechanism can
 * report ({@link org.xformers4j.component.attention.WeightedAttention}) and the pattern of pairs a
 * sparse one compares ({@link org.xformers4j.component.attention.PatternedAttention}), and the arithmetic a
 * mechanism does ({@link org.xformers4j.component.attention.FlopCount}).
 */
@Export
@Version("0.5.0")
package org.xformers4j.component.attention;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
