/**
 * What more than one attention family uses: {@link org.xformers4j.attention.internal.SoftmaxAttention},
 * the base of the softmax mechanisms of {@code exact}, {@code local} and {@code hashing}, with the
 * options they share (grouped-query heads, Shazeer, 2019, "Fast Transformer Decoding: One
 * Write-Head is All You Need", and Ainslie et al., 2023, "GQA"; query-key normalisation, Henry et
 * al., 2020, "Query-Key Normalization for Transformers"; persistent memory key/values, Sukhbaatar
 * et al., 2019, "Augmenting Self-attention with Persistent Memory"); the input checks of every
 * mechanism ({@link org.xformers4j.attention.internal.AttentionInputs}); and the depth-wise
 * convolution op ({@link org.xformers4j.attention.internal.DepthwiseConvolution} with its
 * {@link org.xformers4j.attention.internal.ConvolutionTaps} layouts) that the kernel attention
 * {@code relu-linear} applies to Q, K and V (Cai et al., 2023, "EfficientViT") and the low-rank
 * {@code nystrom} optionally to V (Xiong et al., 2021, "Nyströmformer"). Not exported: private to
 * the attention bundle, so these may change with the mechanisms that use them.
 */
package org.xformers4j.attention.internal;
