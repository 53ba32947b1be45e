/**
 * What more than one attention family uses and no mechanism's signature shows: the input checks of every
 * mechanism, and the refusal of a bias and attention dropout by those that form no scores
 * ({@link org.xformers4j.attention.internal.AttentionInputs}); and the depth-wise
 * convolution op ({@link org.xformers4j.attention.internal.DepthwiseConvolution} with its
 * {@link org.xformers4j.attention.internal.ConvolutionTaps} layouts) that the kernel attention
 * {@code relu-linear} applies to Q, K and V (Cai et al., 2023, "EfficientViT"), the low-rank
 * {@code nystrom} optionally to V (Xiong et al., 2021, "Nyströmformer") and the token mixer
 * {@code conv-modulation} to K (Hou et al., 2022, "Conv2Former"). Not exported: private to
 * the attention bundle, so these may change with the mechanisms that use them.
 */
package org.xformers4j.attention.internal;
