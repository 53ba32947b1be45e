package org.xformers4j.decoding;

import java.util.Objects;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.decoding.DecodingCapabilities;
import org.xformers4j.component.decoding.DecodingModel;
import org.xformers4j.component.decoding.GeneratedSequence;
import org.xformers4j.component.decoding.GenerationConfig;

/**
 * Beam search: keeps the {@code numBeams} best partial sequences of every prompt and extends each
 * by every token at every step, so that a sequence whose first token is less likely but whose total
 * probability is higher survives (after "The", two beams keep "nice" and "dog" and find "The dog
 * has" at 0.36, which greedy decoding misses for "The nice woman" at 0.2). With one beam it is
 * greedy decoding.
 *
 * <p>The search follows Hugging Face's {@code BeamSearchScorer}, and is shared with
 * {@link DiverseBeamSearchDecoding}, whose beams form several groups (plain beam search has one
 * group of {@code numBeams}).
 *
 * <p><b>Groups and candidates.</b> The {@code numBeams} beams of a prompt are split into
 * {@code numBeamGroups} groups of {@code numBeams / numBeamGroups}. At every step each group, in
 * order, processes the logits of each of its beams (the configured logits processors on a copy,
 * then {@link org.xformers4j.decoding.processing.NoRepeatNGram n-gram blocking}), takes their log-softmax, adds it to the beam's running score, subtracts
 * {@code diversityPenalty × (number of beams of earlier groups of the same prompt that chose the
 * token at this step)} (Hamming diversity), and keeps the best {@code 2 × groupSize} finite
 * candidates over all its beams (ties to the lower beam, then the lower token id). N-gram blocking
 * bans tokens before the log-softmax, like any logits processor here, so the tokens left are
 * renormalised (Hugging Face bans them after it). Walking the candidates best first, one that ends
 * with the end token or satisfies a stopping criterion becomes a finished hypothesis if its rank is
 * below the group size (a stopping criterion ends a hypothesis as the end token does, where Hugging
 * Face waits until it holds for every row), and any other candidate becomes a running beam, until
 * the group has {@code groupSize} running beams. At the first step each group starts
 * from a single beam, the prompt itself, which is what Hugging Face obtains by giving every beam but
 * the first of a group the score -infinity; so the beams of a group never start identical.
 *
 * <p><b>Finished hypotheses.</b> Each group keeps its best {@code groupSize} finished hypotheses,
 * scored {@code sum / length^lengthPenalty} where the sum is the running score (log-probabilities,
 * less any diversity penalties) and the length counts the generated tokens, the end token
 * included, not the prompt: the convention of current Hugging Face releases (older ones counted the
 * prompt too, which made the ranking depend on the prompt's length). This is the length
 * normalisation of Graves (2012) generalised by the exponent of Wu et al. (2016); lengthPenalty 0
 * ranks by probability, positive values favour longer sequences and negative ones shorter.
 *
 * <p><b>Stopping.</b> A group is done when it has {@code groupSize} finished hypotheses and
 * {@code earlyStopping} is {@link EarlyStopping#TRUE TRUE}, or (for {@code FALSE}) when its worst
 * finished score is at least the best candidate's sum divided by the current length to the
 * penalty, or (for {@code NEVER}) the same bound at {@code maxNewTokens} when lengthPenalty is
 * positive; a group also ends when no candidate can continue. A done group's running beams are
 * dropped and cost the model nothing further. After {@code maxNewTokens} steps the running beams of
 * the groups not yet done join their groups' hypotheses. A prompt returns its best
 * {@code numReturnSequences} hypotheses over all groups, highest score first; its
 * {@link GeneratedSequence#logProbability() log-probability} is the sum of the chosen
 * tokens' log-probabilities after processing, without diversity penalties.
 *
 * <p><b>Model rows.</b> The running beams of all prompts, prompt by prompt and group by group, are
 * the model's rows: {@link DecodingModel#advance advance} receives each beam's new token with its
 * parent's row as origin, so the model's cache follows the beams.
 *
 * <p><b>Streaming.</b> The {@link GenerationConfig#listener() listener} is not called: a beam's
 * tokens may be abandoned at any later step, so no token is final before the search ends.
 * Streaming is for single-hypothesis strategies.
 *
 * <p>References: A. Graves, "Sequence Transduction with Recurrent Neural Networks", 2012 (beam
 * search over output sequences, length-normalised scores); Y. Wu et al., "Google's Neural Machine
 * Translation System", 2016 (the length penalty exponent); Hugging Face Transformers, "Text
 * generation strategies" ({@code num_beams}, {@code length_penalty}, {@code early_stopping},
 * {@code no_repeat_ngram_size}).
 */
@ComponentInfo(name = "beam",
        summary = "Keeps the numBeams most probable partial sequences; length penalty, early stopping, n-gram blocking.",
        reference = "Graves, 2012, Sequence Transduction with Recurrent Neural Networks; "
                + "Wu et al., 2016, Google's Neural Machine Translation System")
@DecodingCapabilities(stochastic = false, multipleHypotheses = true, greedyWhen = {"numBeams=1"})
public final class BeamSearchDecoding extends Beams {

    /** When a group of beams stops, with the meanings of Hugging Face's {@code early_stopping}. */
    public enum EarlyStopping {
        /** As soon as the group has as many finished hypotheses as beams. */
        TRUE,
        /** When no running beam can beat the worst finished hypothesis at the current length (heuristic). */
        FALSE,
        /** Only when no running beam can beat it at any length up to maxNewTokens (canonical beam search). */
        NEVER
    }

    /** For OLCUT. */
    private BeamSearchDecoding() {
    }

    /** Beam search with {@code numBeams} beams, length penalty 1, early stopping FALSE and no n-gram blocking. */
    public BeamSearchDecoding(int numBeams) {
        this(numBeams, 1.0, EarlyStopping.FALSE, 0);
    }

    /**
     * Beam search with every hyperparameter.
     *
     * @throws com.oracle.labs.mlrg.olcut.config.PropertyException if a value is out of range
     */
    public BeamSearchDecoding(int numBeams, double lengthPenalty, EarlyStopping earlyStopping, int noRepeatNgramSize) {
        this.numBeams = numBeams;
        this.lengthPenalty = lengthPenalty;
        this.earlyStopping = Objects.requireNonNull(earlyStopping, "earlyStopping must not be null");
        this.noRepeatNgramSize = noRepeatNgramSize;
        postConfig();
    }

    @Override
    int numBeamGroups() {
        return 1;
    }

    @Override
    double diversityPenalty() {
        return 0;
    }
}
