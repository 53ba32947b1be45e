package org.xformers4j.decoding;

import com.oracle.labs.mlrg.olcut.config.Config;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.decoding.DecodingModel;
import org.xformers4j.component.decoding.DecodingStrategy;
import org.xformers4j.component.decoding.GeneratedSequence;
import org.xformers4j.component.decoding.GenerationConfig;
import org.xformers4j.component.decoding.LogitsProcessor;
import org.xformers4j.component.decoding.StoppingCriterion;
import org.xformers4j.decoding.processing.NoRepeatNGram;
import org.xformers4j.tensor.Tensor;

/**
 * The search shared by {@link BeamSearchDecoding} (one group) and
 * {@link DiverseBeamSearchDecoding} (several groups with a diversity penalty), with the semantics
 * of Hugging Face's {@code BeamSearchScorer} and {@code BeamHypotheses}, as documented on
 * {@link BeamSearchDecoding}. The configuration is read-only during {@link #generate}: one instance
 * may serve concurrent calls.
 */
abstract class Beams implements DecodingStrategy {

    @Config(description = "Number of beams kept per prompt (at most 1024: every beam is a row the model keeps a "
            + "cache for).")
    @Range(min = 1, max = 1024)
    protected int numBeams = 4;

    @Config(description = "Exponent of the length in score = sum of log-probabilities / generated length^lengthPenalty; "
            + "positive favours longer sequences, negative shorter, 0 ranks by probability.")
    @Range
    protected double lengthPenalty = 1.0;

    @Config(description = "When to stop: TRUE once numBeams hypotheses are finished, FALSE when no running beam can "
            + "beat them at the current length, NEVER when none can at any length.")
    protected BeamSearchDecoding.EarlyStopping earlyStopping = BeamSearchDecoding.EarlyStopping.FALSE;

    @Config(description = "Size of the n-grams that may occur only once in a sequence, prompt included; 0 turns "
            + "blocking off.")
    @Range(min = 0)
    protected int noRepeatNgramSize = 0;

    /** Groups the beams are split into; divides {@link #numBeams}. */
    abstract int numBeamGroups();

    /** Subtracted from a token's score once per beam of an earlier group that chose it at this step. */
    abstract double diversityPenalty();

    /**
     * The sum of the log-probabilities (less the diversity penalties, when there are groups to
     * penalise) divided by the generated length to the power {@code lengthPenalty}, said in the
     * simplest words that fit: {@value #SUM_OF_LOG_PROBABILITIES} for lengthPenalty 0 without
     * penalties, "length-normalised" for lengthPenalty 1.
     */
    @Override
    public String scoreDescription() {
        String sum = numBeamGroups() > 1 && diversityPenalty() > 0
                ? SUM_OF_LOG_PROBABILITIES + " less diversity penalties" : SUM_OF_LOG_PROBABILITIES;
        if (lengthPenalty == 0) {
            return sum;
        }
        return "length-normalised log-probability: " + sum + " / generated tokens"
                + (lengthPenalty == 1 ? "" : "^" + lengthPenalty);
    }

    /**
     * {@inheritDoc}
     *
     * @return per prompt, its best {@code numReturnSequences} hypotheses (fewer only if fewer
     *         finished), highest score first
     * @throws IllegalArgumentException if there are no prompts, a prompt is empty or has a token
     *                                  outside the vocabulary, the end token is outside the
     *                                  vocabulary, or more sequences are asked for than there are beams
     * @throws IllegalStateException    if the model returns logits of the wrong shape, processed
     *                                  logits contain NaN or +infinity, or every continuation of a
     *                                  prompt is banned
     */
    @Override
    public final List<List<GeneratedSequence>> generate(DecodingModel model, int[][] prompts, GenerationConfig config) {
        Objects.requireNonNull(model, "model must not be null");
        Objects.requireNonNull(prompts, "prompts must not be null");
        Objects.requireNonNull(config, "config must not be null");
        int vocabularySize = model.vocabularySize();
        validate(prompts, config, vocabularySize);

        Search search = new Search(config, vocabularySize, numBeams / numBeamGroups());
        Group[][] groups = new Group[prompts.length][numBeamGroups()];
        for (int p = 0; p < prompts.length; p++) {
            for (int g = 0; g < groups[p].length; g++) {
                groups[p][g] = new Group(p, new Beam(prompts[p].clone(), 0, 0, p));
            }
        }
        Tensor logits = model.start(prompts);
        String source = "start";
        int rows = prompts.length;
        for (int step = 1; ; step++) {
            float[] values = checkedLogits(logits, source, rows, vocabularySize);
            List<Beam> running = new ArrayList<>();
            for (Group[] prompt : groups) {
                int[] chosen = new int[vocabularySize];
                for (Group group : prompt) {
                    search.step(group, values, chosen, step, prompts[group.prompt].length);
                    running.addAll(group.running);
                }
            }
            if (running.isEmpty() || step == config.maxNewTokens()) {
                break;
            }
            int[] tokens = new int[running.size()];
            int[] origins = new int[running.size()];
            for (int r = 0; r < tokens.length; r++) {
                Beam beam = running.get(r);
                tokens[r] = beam.sequence[beam.sequence.length - 1];
                origins[r] = beam.row;
                beam.row = r;
            }
            logits = model.advance(tokens, origins);
            source = "advance";
            rows = tokens.length;
        }

        List<List<GeneratedSequence>> out = new ArrayList<>(prompts.length);
        for (Group[] prompt : groups) {
            List<GeneratedSequence> finished = new ArrayList<>();
            for (Group group : prompt) {
                group.finishRunning(search, prompts[group.prompt].length);
                finished.addAll(group.finished);
            }
            if (finished.isEmpty()) {
                throw new IllegalStateException("prompt " + prompt[0].prompt + " has no hypothesis: the logits processors"
                        + " or n-gram blocking banned every continuation");
            }
            finished.sort(Comparator.comparingDouble(GeneratedSequence::score).reversed());
            out.add(List.copyOf(finished.subList(0, Math.min(config.numReturnSequences(), finished.size()))));
        }
        return out;
    }

    /** The checks of every strategy, and at most one returned sequence per beam. */
    private void validate(int[][] prompts, GenerationConfig config, int vocabularySize) {
        SingleHypothesisSearch.validate(prompts, config, vocabularySize);
        if (config.numReturnSequences() > numBeams) {
            throw new IllegalArgumentException(getClass().getAnnotation(ComponentInfo.class).name() + " keeps numBeams = "
                    + numBeams + " hypotheses per prompt; numReturnSequences " + config.numReturnSequences() + " is more");
        }
    }

    /** The logits as a flat row-major array, after checking they are [rows, vocabularySize]. */
    private static float[] checkedLogits(Tensor logits, String method, int rows, int vocabularySize) {
        if (logits == null) {
            throw new IllegalStateException("model." + method + " returned null logits");
        }
        int[] shape = logits.shape();
        if (shape.length != 2 || shape[0] != rows || shape[1] != vocabularySize) {
            throw new IllegalStateException("model." + method + " returned logits of shape " + Arrays.toString(shape)
                    + ", expected [" + rows + ", " + vocabularySize + "] (running beams, vocabularySize)");
        }
        return logits.toFloatArray();
    }

    /** One step of every group, with this search's configuration and the call's. */
    private final class Search {
        private final GenerationConfig config;
        private final int vocabularySize;
        private final int groupSize;
        private final LogitsProcessor ngramBlocking;

        Search(GenerationConfig config, int vocabularySize, int groupSize) {
            this.config = config;
            this.vocabularySize = vocabularySize;
            this.groupSize = groupSize;
            this.ngramBlocking = noRepeatNgramSize > 0 ? new NoRepeatNGram(noRepeatNgramSize) : null;
        }

        /**
         * Extends {@code group} by one token: scores its candidates, files finished hypotheses,
         * keeps the next running beams, adds their tokens to {@code chosen} and decides whether
         * the group is done.
         */
        void step(Group group, float[] logits, int[] chosen, int step, int promptLength) {
            if (group.running.isEmpty()) {
                return;
            }
            // at most 2·groupSize are kept, and there are no more than the running beams' continuations
            int capacity = (int) Math.min(2L * groupSize, (long) group.running.size() * vocabularySize);
            Candidates candidates = new Candidates(capacity);
            for (int b = 0; b < group.running.size(); b++) {
                Beam beam = group.running.get(b);
                double[] logProbabilities = logSoftmax(processed(beam, logits, step), group.prompt, step);
                for (int t = 0; t < vocabularySize; t++) {
                    if (logProbabilities[t] != Double.NEGATIVE_INFINITY) {
                        double score = beam.score + logProbabilities[t] - diversityPenalty() * chosen[t];
                        candidates.offer(b, t, score, beam.logProbability + logProbabilities[t]);
                    }
                }
            }
            List<Beam> next = new ArrayList<>(Math.min(groupSize, capacity));
            for (int rank = 0; rank < candidates.size && next.size() < groupSize; rank++) {
                Beam parent = group.running.get(candidates.beams[rank]);
                int[] sequence = Arrays.copyOf(parent.sequence, parent.sequence.length + 1);
                sequence[parent.sequence.length] = candidates.tokens[rank];
                if (finishes(sequence, step)) {
                    if (rank < groupSize) {
                        group.add(finished(sequence, promptLength, candidates.scores[rank],
                                candidates.logProbabilities[rank]));
                    }
                } else {
                    next.add(new Beam(sequence, candidates.scores[rank], candidates.logProbabilities[rank], parent.row));
                    chosen[candidates.tokens[rank]]++;
                }
            }
            boolean done = next.isEmpty() || group.isDone(candidates.scores[0], step, config.maxNewTokens());
            group.running = done ? List.of() : next;
        }

        /** The beam's logits after the configured processors and n-gram blocking, on a copy. */
        private float[] processed(Beam beam, float[] logits, int step) {
            float[] row = Arrays.copyOfRange(logits, beam.row * vocabularySize, (beam.row + 1) * vocabularySize);
            for (LogitsProcessor processor : config.logitsProcessors()) {
                processor.process(beam.sequence.clone(), step - 1, row);
            }
            if (ngramBlocking != null) {
                ngramBlocking.process(beam.sequence.clone(), step - 1, row);
            }
            return row;
        }

        private boolean finishes(int[] sequence, int generated) {
            if (sequence[sequence.length - 1] == config.endToken()) {
                return true;
            }
            for (StoppingCriterion criterion : config.stoppingCriteria()) {
                if (criterion.isDone(sequence.clone(), generated)) {
                    return true;
                }
            }
            return false;
        }

        GeneratedSequence finished(int[] sequence, int promptLength, double score, double logProbability) {
            int generated = sequence.length - promptLength;
            return new GeneratedSequence(Arrays.copyOfRange(sequence, promptLength, sequence.length), logProbability,
                    score / Math.pow(generated, lengthPenalty));
        }
    }

    /** log softmax in double with the maximum subtracted; rejects NaN and +infinity; all -infinity stays so. */
    private static double[] logSoftmax(float[] logits, int prompt, int step) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < logits.length; i++) {
            if (Float.isNaN(logits[i]) || logits[i] == Float.POSITIVE_INFINITY) {
                throw new IllegalStateException("logits of prompt " + prompt + " for new token " + step + " are "
                        + logits[i] + " at token " + i + "; they must be finite or -infinity");
            }
            max = Math.max(max, logits[i]);
        }
        double[] out = new double[logits.length];
        if (max == Float.NEGATIVE_INFINITY) {
            Arrays.fill(out, Double.NEGATIVE_INFINITY);
            return out;
        }
        double sum = 0;
        for (float x : logits) {
            sum += Math.exp((double) x - max);
        }
        double logSum = Math.log(sum);
        for (int i = 0; i < logits.length; i++) {
            out[i] = ((double) logits[i] - max) - logSum;
        }
        return out;
    }

    /** A running hypothesis: the prompt and its tokens so far, its scores, and its model row. */
    private static final class Beam {
        final int[] sequence;
        final double score;
        final double logProbability;
        int row;

        Beam(int[] sequence, double score, double logProbability, int row) {
            this.sequence = sequence;
            this.score = score;
            this.logProbability = logProbability;
            this.row = row;
        }
    }

    /** The best candidates of a group, best first; ties keep the order offered (lower beam, lower token). */
    private static final class Candidates {
        final int[] beams;
        final int[] tokens;
        final double[] scores;
        final double[] logProbabilities;
        int size;

        Candidates(int capacity) {
            beams = new int[capacity];
            tokens = new int[capacity];
            scores = new double[capacity];
            logProbabilities = new double[capacity];
        }

        void offer(int beam, int token, double score, double logProbability) {
            int capacity = scores.length;
            if (size == capacity && score <= scores[capacity - 1]) {
                return;
            }
            int at = Math.min(size, capacity - 1);
            while (at > 0 && scores[at - 1] < score) {
                at--;
            }
            int moved = Math.min(size, capacity - 1) - at;
            System.arraycopy(beams, at, beams, at + 1, moved);
            System.arraycopy(tokens, at, tokens, at + 1, moved);
            System.arraycopy(scores, at, scores, at + 1, moved);
            System.arraycopy(logProbabilities, at, logProbabilities, at + 1, moved);
            beams[at] = beam;
            tokens[at] = token;
            scores[at] = score;
            logProbabilities[at] = logProbability;
            size = Math.min(size + 1, capacity);
        }
    }

    /**
     * A group of beams of one prompt, with its finished hypotheses (Hugging Face's
     * {@code BeamHypotheses}); once done, it has no running beams.
     */
    private final class Group {
        final int prompt;
        List<Beam> running;
        final List<GeneratedSequence> finished = new ArrayList<>();
        double worstScore = Double.POSITIVE_INFINITY;

        Group(int prompt, Beam start) {
            this.prompt = prompt;
            this.running = List.of(start);
        }

        private int capacity() {
            return numBeams / numBeamGroups();
        }

        /** Keeps {@code hypothesis} if there is room or it beats the worst, which it then replaces. */
        void add(GeneratedSequence hypothesis) {
            if (finished.size() == capacity() && hypothesis.score() <= worstScore) {
                return;
            }
            finished.add(hypothesis);
            if (finished.size() > capacity()) {
                int worst = 0;
                for (int i = 1; i < finished.size(); i++) {
                    if (finished.get(i).score() < finished.get(worst).score()) {
                        worst = i;
                    }
                }
                finished.remove(worst);
            }
            worstScore = finished.stream().mapToDouble(GeneratedSequence::score).min().orElseThrow();
        }

        /** Whether no running beam can still beat the finished ones, by {@link #earlyStopping}. */
        boolean isDone(double bestSum, int generated, int maxNewTokens) {
            if (finished.size() < capacity()) {
                return false;
            }
            return switch (earlyStopping) {
                case TRUE -> true;
                case FALSE -> worstScore >= bestSum / Math.pow(generated, lengthPenalty);
                case NEVER -> worstScore >= bestSum / Math.pow(lengthPenalty > 0 ? maxNewTokens : generated, lengthPenalty);
            };
        }

        /** At the end of the search, files the running beams of a group that is not done as hypotheses. */
        void finishRunning(Search search, int promptLength) {
            for (Beam beam : running) {
                add(search.finished(beam.sequence, promptLength, beam.score, beam.logProbability));
            }
            running = List.of();
        }
    }
}
