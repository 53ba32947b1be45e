package org.xformers4j.component.decoding;

/**
 * A {@link DecodingModel} that also shows the final hidden state of every token it is fed, for
 * strategies that compare representations, such as contrastive search (Su et al., 2022, "A
 * Contrastive Framework for Neural Text Generation", NeurIPS 2022), whose degeneration penalty is
 * the largest cosine similarity between a candidate's hidden state and those of the tokens before it.
 */
public interface HiddenStateModel extends DecodingModel {

    /** Width of each hidden state. */
    int hiddenSize();

    /**
     * The final-layer hidden states of the tokens fed by the latest {@link #start} or
     * {@link #advance} call: one array per row of that call, in row order, holding
     * [tokensFed, hiddenSize] row-major, that is the prompt after {@code start} and the one new
     * token after {@code advance}. A model that sees a limited context and cuts a longer prompt to
     * its last tokens shows the states of those tokens only, so after {@code start} a row may hold
     * fewer states than its prompt has tokens (at least one). The arrays belong to the caller.
     *
     * @throws IllegalStateException before the first {@code start}
     */
    float[][] lastHiddenStates();
}
