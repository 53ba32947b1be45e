package org.xformers4j.models.tribuo;

import org.tribuo.Example;
import org.xformers4j.models.nn.Architecture;
import org.xformers4j.models.nn.AttentionRollout;
import org.xformers4j.models.nn.TransformerEncoder;
import org.xformers4j.nn.Linear;
import org.xformers4j.nn.Module;
import org.xformers4j.tensor.Tensor;

import java.util.List;

/**
 * The whole network of a {@link TransformerModel}: examples → input encoder → transformer
 * encoder → pooled vector → linear output layer → logits [B, K] for the output head; with the
 * {@link Architecture} the transformer encoder was built from, which the model's file records.
 */
final class TransformerNetwork extends Module {

    private final Architecture architecture;
    private final EncoderModule input;
    private final TransformerEncoder encoder;
    private final Linear output;

    TransformerNetwork(Architecture architecture, EncoderModule input, TransformerEncoder encoder, Linear output) {
        this.architecture = architecture;
        this.input = registerModule("input", input);
        this.encoder = registerModule("encoder", encoder);
        this.output = registerModule("output", output);
    }

    /** The logits [B, K] of {@code batch}. */
    Tensor forward(List<? extends Example<?>> batch) {
        return output.forward(encode(batch).pooled());                                   // [B, D] → [B, K]
    }

    /** The transformer encoder's output on {@code batch}'s tokens, with their padding mask and grid. */
    TransformerEncoder.Output encode(List<? extends Example<?>> batch) {
        EncoderModule.Tokens tokens = input.forward(batch);                              // [B, T, D], [B, T]
        return encoder.forward(tokens.embeddings(), tokens.paddingMask(), input.grid());
    }

    /**
     * The attention rollout relevance of each input token of {@code batch} to the pooled vector,
     * per example [T] summing to 1 (padding 0); see {@link AttentionRollout}. Call without grad.
     */
    double[][] relevance(List<? extends Example<?>> batch) {
        EncoderModule.Tokens tokens = input.forward(batch);                              // [B, T, D], [B, T]
        return AttentionRollout.relevance(encoder, tokens.embeddings(), tokens.paddingMask(), input.grid());
    }

    Architecture architecture() {
        return architecture;
    }

    EncoderModule input() {
        return input;
    }

    TransformerEncoder encoder() {
        return encoder;
    }
}
