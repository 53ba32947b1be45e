package org.xformers4j.models.lm;

import java.util.Arrays;
import java.util.List;
import java.util.random.RandomGenerator;
import org.xformers4j.models.nn.TransformerDecoder;
import org.xformers4j.models.text.Tokenizer;
import org.xformers4j.tensor.Tensor;

/**
 * Text sources (the default of a {@link Seq2SeqTrainer}): a source is its tokens and the end token
 * {@value Seq2SeqModel#END_TOKEN}, so the encoder sees where it ends whatever the positional encoding,
 * embedded with the decoder's token embedding table (Vaswani et al., 2017, §3.4, shared embeddings);
 * the encoder reads at most the model's context length of tokens, a longer source being cut to its
 * first {@code contextLength − 1} tokens and the end token. Sources of a batch are right-padded with
 * the end token and the padding is masked. No settings.
 */
public final class TextSourceEncoder extends SourceEncoder {

    /** The kind of source saved with the model. */
    static final String KIND = "text";

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    Embedding embedding(TransformerDecoder decoder, Tokenizer tokenizer, int contextLength, RandomGenerator rng) {
        return new TextEmbedding(decoder, tokenizer, contextLength);
    }

    @Override
    public String toString() {
        return "TextSourceEncoder()";
    }

    /** The fitted text source: no parameters of its own (the table is the decoder's). */
    static final class TextEmbedding extends Embedding {
        private final TransformerDecoder decoder;
        private final Tokenizer tokenizer;
        private final int endToken;
        private final int contextLength;

        TextEmbedding(TransformerDecoder decoder, Tokenizer tokenizer, int contextLength) {
            this.decoder = decoder;
            this.tokenizer = tokenizer;
            this.endToken = tokenizer.tokenId(Seq2SeqModel.END_TOKEN).orElseThrow();
            this.contextLength = contextLength;
        }

        /** The ids the encoder reads for {@code source} before any cut: its tokens, then {@value Seq2SeqModel#END_TOKEN}. */
        int[] sourceTokens(Source source) {
            if (!(source instanceof Source.Text text)) {
                throw new IllegalArgumentException("this sequence-to-sequence model reads text, got " + source
                        + " (an image); it is captioned by a model whose source is an ImageSourceEncoder");
            }
            int[] ids = tokenizer.encode(text.text());
            int[] out = Arrays.copyOf(ids, ids.length + 1);
            out[ids.length] = endToken;
            return out;
        }

        /** {@link #sourceTokens} cut to its first {@code contextLength − 1} tokens and the end token if longer. */
        int[] fitted(Source source) {
            int[] ids = sourceTokens(source);
            if (ids.length <= contextLength) {
                return ids;
            }
            int[] cut = Arrays.copyOf(ids, contextLength);
            cut[cut.length - 1] = endToken;
            return cut;
        }

        @Override
        Input embed(List<? extends Source> sources) {
            int[][] rows = sources.stream().map(this::fitted).toArray(int[][]::new);
            int length = Arrays.stream(rows).mapToInt(s -> s.length).max().orElseThrow();
            int[][] padded = new int[rows.length][];
            float[] mask = new float[rows.length * length];
            boolean anyPadding = false;
            for (int b = 0; b < rows.length; b++) {
                padded[b] = Arrays.copyOf(rows[b], length);
                Arrays.fill(padded[b], rows[b].length, length, endToken);
                Arrays.fill(mask, b * length + rows[b].length, (b + 1) * length, 1f);
                anyPadding |= rows[b].length < length;
            }
            Tensor embedded = decoder.embed(padded);
            Tensor keyPaddingMask = anyPadding ? Tensor.of(embedded.backend(), mask, rows.length, length) : null;
            return new Input(embedded, keyPaddingMask, null);
        }

        @Override
        int tokens(Source source) {
            return sourceTokens(source).length;
        }

        @Override
        int maxTokens() {
            return contextLength;
        }
    }
}
