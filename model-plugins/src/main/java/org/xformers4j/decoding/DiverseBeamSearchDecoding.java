package org.xformers4j.decoding;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.Objects;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.decoding.DecodingCapabilities;
import org.xformers4j.decoding.BeamSearchDecoding.EarlyStopping;

/**
 * Diverse beam search: the {@code numBeams} beams of a prompt are split into
 * {@code numBeamGroups} groups searched one after the other at every step, and a group's candidate
 * scores are lowered by {@code diversityPenalty} for each beam of an earlier group that chose the
 * same token at this step (Hamming diversity), so that the groups explore different continuations
 * instead of near-duplicates of the single best one. Within a group the search is
 * {@link BeamSearchDecoding beam search} with the same length penalty, early stopping and n-gram
 * blocking; each group keeps {@code numBeams / numBeamGroups} finished hypotheses and a prompt
 * returns the best over all groups. With one group, or a zero penalty and one beam per group (every
 * group then repeats greedy decoding), there is no diversity.
 *
 * <p>The penalty enters the ranking score, as in the paper's diversity-augmented objective and in
 * Hugging Face's {@code group_beam_search}, but not the reported
 * {@link org.xformers4j.component.decoding.GeneratedSequence#logProbability() log-probability}.
 * {@link BeamSearchDecoding} documents the search.
 *
 * <p>Reference: A. K. Vijayakumar et al., "Diverse Beam Search for Improved Description of Complex
 * Scenes", AAAI 2018; Hugging Face Transformers, "Text generation strategies"
 * ({@code num_beam_groups}, {@code diversity_penalty}).
 */
@ComponentInfo(name = "diverse-beam",
        summary = "Beam search in groups; a group is penalised for tokens that earlier groups chose at the same step.",
        reference = "Vijayakumar et al., 2018, Diverse Beam Search for Improved Description of Complex Scenes")
@DecodingCapabilities(stochastic = false, multipleHypotheses = true,
        greedyWhen = {"numBeams=1", "numBeamGroups=1"})
public final class DiverseBeamSearchDecoding extends Beams {

    private static final String NAME = "diverse-beam";

    @Config(description = "Number of groups the beams are split into; must divide numBeams.")
    @Range(min = 1)
    private int numBeamGroups = 2;

    @Config(description = "Subtracted from a token's score once per beam of an earlier group that chose it at the "
            + "same step (Hamming diversity).")
    @Range(min = 0)
    private double diversityPenalty = 0.5;

    /** For OLCUT. */
    private DiverseBeamSearchDecoding() {
    }

    /**
     * Diverse beam search with length penalty 1, early stopping FALSE and no n-gram blocking.
     *
     * @throws PropertyException if a value is out of range or numBeamGroups does not divide numBeams
     */
    public DiverseBeamSearchDecoding(int numBeams, int numBeamGroups, double diversityPenalty) {
        this(numBeams, numBeamGroups, diversityPenalty, 1.0, EarlyStopping.FALSE, 0);
    }

    /**
     * Diverse beam search with every hyperparameter.
     *
     * @throws PropertyException if a value is out of range or numBeamGroups does not divide numBeams
     */
    public DiverseBeamSearchDecoding(int numBeams, int numBeamGroups, double diversityPenalty, double lengthPenalty,
                                     EarlyStopping earlyStopping, int noRepeatNgramSize) {
        this.numBeams = numBeams;
        this.numBeamGroups = numBeamGroups;
        this.diversityPenalty = diversityPenalty;
        this.lengthPenalty = lengthPenalty;
        this.earlyStopping = Objects.requireNonNull(earlyStopping, "earlyStopping must not be null");
        this.noRepeatNgramSize = noRepeatNgramSize;
        postConfig();
    }

    @Override
    public void postConfig() {
        super.postConfig();
        if (numBeams % numBeamGroups != 0) {
            throw new PropertyException(NAME, "numBeamGroups", NAME + ".numBeamGroups = " + numBeamGroups
                    + " does not divide numBeams = " + numBeams);
        }
    }

    @Override
    int numBeamGroups() {
        return numBeamGroups;
    }

    @Override
    double diversityPenalty() {
        return diversityPenalty;
    }
}
