package org.xformers4j.component.decoding;

import java.util.List;
import org.xformers4j.component.Component;

/**
 * Chooses tokens step by step from a {@link DecodingModel}'s next-token logits until a stopping
 * rule holds, as Hugging Face's {@code generate} does.
 */
public interface DecodingStrategy extends Component {

    /**
     * Continues every prompt.
     *
     * @param model   the model, driven with {@link DecodingModel#start} then {@link DecodingModel#advance}
     * @param prompts token ids, one non-empty array per prompt
     * @param config  limits, end token, seed, logits processors, stopping criteria, listener
     * @return per prompt, up to {@link GenerationConfig#numReturnSequences()} sequences, best first
     */
    List<List<GeneratedSequence>> generate(DecodingModel model, int[][] prompts, GenerationConfig config);
}
