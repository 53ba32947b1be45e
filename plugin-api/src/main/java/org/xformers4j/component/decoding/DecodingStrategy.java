package org.xformers4j.component.decoding;

import java.util.List;
import org.xformers4j.component.Component;

/**
 * Chooses tokens step by step from a {@link DecodingModel}'s next-token logits until a stopping
 * rule holds, as Hugging Face's {@code generate} does.
 */
public interface DecodingStrategy extends Component {

    /** What {@link #scoreDescription()} says of a score that is the sequence's log-probability. */
    String SUM_OF_LOG_PROBABILITIES = "sum of log-probabilities";

    /**
     * What the {@link GeneratedSequence#score() score} of this strategy's sequences is, in words a
     * command prints beside it: {@value #SUM_OF_LOG_PROBABILITIES} (the
     * {@link GeneratedSequence#logProbability() log-probability}) unless the strategy ranks by
     * something else, such as beam search's length-normalised log-probability, which it then names.
     */
    default String scoreDescription() {
        return SUM_OF_LOG_PROBABILITIES;
    }

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
