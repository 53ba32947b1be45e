package org.xformers4j.models.nn;

/**
 * The architecture of a {@link TransformerDecoder}.
 *
 * @param block            every block's architecture, with its activation checkpointing ({@link
 *                         BlockConfig#checkpointing()}; HEAD needs attentionDropout 0)
 * @param layers           number of blocks
 * @param vocabularySize   number of token ids, the rows of the embedding table and the logits' width
 * @param tiedEmbeddings   compute the logits with the embedding table itself, logits = h Eᵀ, instead of a
 *                         separate output projection (Press and Wolf, 2017, "Using the Output Embedding to
 *                         Improve Language Models"; Vaswani et al., 2017, §3.4)
 * @param crossAttention   give every block a cross-attention sublayer over an encoder's output, for an
 *                         encoder-decoder model
 * @param attentionDropout dropout probability on the attention weights in training, in [0, 1)
 */
public record DecoderConfig(BlockConfig block, int layers, int vocabularySize, boolean tiedEmbeddings,
                            boolean crossAttention, float attentionDropout) {

    public DecoderConfig {
        if (block == null) {
            throw new IllegalArgumentException("DecoderConfig: block must not be null");
        }
        if (layers <= 0) {
            throw new IllegalArgumentException("DecoderConfig: layers must be positive, got " + layers);
        }
        if (vocabularySize <= 0) {
            throw new IllegalArgumentException("DecoderConfig: vocabularySize must be positive, got " + vocabularySize);
        }
        if (!(attentionDropout >= 0f && attentionDropout < 1f)) {
            throw new IllegalArgumentException("DecoderConfig: attentionDropout must be in [0, 1), got "
                    + attentionDropout);
        }
        EncoderConfig.checkHeadCheckpointing("DecoderConfig", block, attentionDropout);
    }
}
