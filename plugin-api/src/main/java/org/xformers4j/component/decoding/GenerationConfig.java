package org.xformers4j.component.decoding;

import java.util.List;

/**
 * How long to generate and what to apply on the way, shared by every strategy. Immutable; build
 * with {@link #builder()}.
 */
public final class GenerationConfig {

    /** No end token. */
    public static final int NO_END_TOKEN = -1;

    /**
     * The most sequences one call may return, over all prompts: results are held in memory, so an
     * argument such as {@code --num-return-sequences 2000000000} is refused rather than exhausting
     * the heap. For more samples, call again with other seeds.
     */
    public static final int MAX_RETURN_SEQUENCES = 1 << 16;

    private final int maxNewTokens;
    private final int endToken;
    private final long seed;
    private final int numReturnSequences;
    private final List<LogitsProcessor> logitsProcessors;
    private final List<StoppingCriterion> stoppingCriteria;
    private final TokenListener listener;

    private GenerationConfig(Builder b) {
        this.maxNewTokens = b.maxNewTokens;
        this.endToken = b.endToken;
        this.seed = b.seed;
        this.numReturnSequences = b.numReturnSequences;
        this.logitsProcessors = List.copyOf(b.logitsProcessors);
        this.stoppingCriteria = List.copyOf(b.stoppingCriteria);
        this.listener = b.listener;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from this config's settings, to derive a config that differs in some of them. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.maxNewTokens = maxNewTokens;
        b.endToken = endToken;
        b.seed = seed;
        b.numReturnSequences = numReturnSequences;
        b.logitsProcessors = logitsProcessors;
        b.stoppingCriteria = stoppingCriteria;
        b.listener = listener;
        return b;
    }

    /** Most tokens to add to each prompt. */
    public int maxNewTokens() {
        return maxNewTokens;
    }

    /** Token that finishes a row (kept in the output), or {@link #NO_END_TOKEN}. */
    public int endToken() {
        return endToken;
    }

    /** Seed of stochastic strategies. */
    public long seed() {
        return seed;
    }

    /** Sequences to return per prompt. */
    public int numReturnSequences() {
        return numReturnSequences;
    }

    /** Applied in order to each row's logits before choosing. */
    public List<LogitsProcessor> logitsProcessors() {
        return logitsProcessors;
    }

    /** A row is finished when any of these says so. */
    public List<StoppingCriterion> stoppingCriteria() {
        return stoppingCriteria;
    }

    /** Receives tokens as they are produced; never null. */
    public TokenListener listener() {
        return listener;
    }

    /** Builds a {@link GenerationConfig}; defaults: 20 new tokens, no end token, seed 0, one sequence. */
    public static final class Builder {
        private int maxNewTokens = 20;
        private int endToken = NO_END_TOKEN;
        private long seed;
        private int numReturnSequences = 1;
        private List<LogitsProcessor> logitsProcessors = List.of();
        private List<StoppingCriterion> stoppingCriteria = List.of();
        private TokenListener listener = (prompt, token) -> { };

        private Builder() {
        }

        public Builder maxNewTokens(int value) {
            if (value < 1) {
                throw new IllegalArgumentException("maxNewTokens must be >= 1, got " + value);
            }
            this.maxNewTokens = value;
            return this;
        }

        public Builder endToken(int token) {
            if (token < NO_END_TOKEN) {
                throw new IllegalArgumentException("endToken must be a token id >= 0 or NO_END_TOKEN, got " + token);
            }
            this.endToken = token;
            return this;
        }

        public Builder seed(long value) {
            this.seed = value;
            return this;
        }

        public Builder numReturnSequences(int value) {
            if (value < 1 || value > MAX_RETURN_SEQUENCES) {
                throw new IllegalArgumentException("numReturnSequences must be in [1, " + MAX_RETURN_SEQUENCES
                        + "], got " + value);
            }
            this.numReturnSequences = value;
            return this;
        }

        public Builder logitsProcessors(List<LogitsProcessor> processors) {
            this.logitsProcessors = List.copyOf(processors);
            return this;
        }

        public Builder stoppingCriteria(List<StoppingCriterion> criteria) {
            this.stoppingCriteria = List.copyOf(criteria);
            return this;
        }

        public Builder listener(TokenListener value) {
            if (value == null) {
                throw new IllegalArgumentException("listener must not be null");
            }
            this.listener = value;
            return this;
        }

        public GenerationConfig build() {
            return new GenerationConfig(this);
        }
    }
}
