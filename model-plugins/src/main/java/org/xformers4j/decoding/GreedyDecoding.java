package org.xformers4j.decoding;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.decoding.DecodingCapabilities;
import org.xformers4j.component.decoding.DecodingModel;
import org.xformers4j.component.decoding.DecodingStrategy;
import org.xformers4j.component.decoding.GeneratedSequence;
import org.xformers4j.component.decoding.GenerationConfig;

/**
 * Greedy decoding: at every step each prompt is extended with its most probable next token, the
 * argmax of the logits after the {@link GenerationConfig#logitsProcessors() logits processors}
 * (the lowest token id on ties). This is the left-to-right decoder of Sutskever et al. with a beam
 * of size one; it is deterministic and keeps one hypothesis per prompt, so it can miss a sequence
 * whose first token is less likely but whose total probability is higher (after "The", it picks
 * "nice" at 0.5 and ends with "The nice woman" at 0.2 although "The dog has" has 0.36).
 *
 * <p>All prompts are decoded together, one row per prompt, by the loop it shares with
 * {@link SamplingDecoding}: {@link DecodingModel#start} gives one row of logits per prompt, and each
 * step {@link DecodingModel#advance advances} only the rows still active, in prompt order, so a
 * finished prompt costs the model nothing further. A row finishes when it produces the
 * {@link GenerationConfig#endToken() end token} (kept in the output), when any
 * {@link GenerationConfig#stoppingCriteria() stopping criterion} says so, or after
 * {@link GenerationConfig#maxNewTokens()} tokens. The log-probability of a sequence is the sum of
 * the chosen tokens' log-softmax of the processed logits; its score is the same value.
 *
 * <p>There are no hyperparameters and no state: one instance may serve concurrent calls.
 *
 * <p>Reference: I. Sutskever, O. Vinyals and Q. V. Le, "Sequence to Sequence Learning with Neural
 * Networks", NeurIPS 2014.
 */
@ComponentInfo(name = "greedy",
        summary = "Appends the most probable next token at every step (argmax, lowest id on ties).",
        reference = "Sutskever, Vinyals and Le, 2014, Sequence to Sequence Learning with Neural Networks")
@DecodingCapabilities(stochastic = false, multipleHypotheses = false)
public final class GreedyDecoding implements DecodingStrategy {

    /**
     * {@inheritDoc}
     *
     * @return per prompt, exactly one sequence
     * @throws IllegalArgumentException if there are no prompts, a prompt is empty or has a token
     *                                  outside the vocabulary, the end token is outside the
     *                                  vocabulary, or more than one sequence per prompt is asked for
     * @throws IllegalStateException    if the model returns logits of the wrong shape, or a row's
     *                                  processed logits contain NaN or +infinity or are all -infinity
     */
    @Override
    public List<List<GeneratedSequence>> generate(DecodingModel model, int[][] prompts, GenerationConfig config) {
        Objects.requireNonNull(model, "model must not be null");
        Objects.requireNonNull(prompts, "prompts must not be null");
        Objects.requireNonNull(config, "config must not be null");
        if (config.numReturnSequences() != 1) {
            throw new IllegalArgumentException("greedy decoding keeps one hypothesis per prompt; numReturnSequences must be 1, got "
                    + config.numReturnSequences());
        }
        SingleHypothesisSearch.validate(prompts, config, model.vocabularySize());
        GeneratedSequence[] sequences = SingleHypothesisSearch.run(model, prompts, config, (logits, argmax, row) -> argmax);
        return Arrays.stream(sequences).map(List::of).toList();
    }
}
