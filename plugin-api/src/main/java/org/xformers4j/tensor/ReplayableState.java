package org.xformers4j.tensor;

/**
 * State that a forward pass advances and that a recomputation of that pass must first rewind: the
 * generator a dropout layer draws its masks from, a counter of training calls. {@link
 * ActivationCheckpoint} saves it before running a function and, in the backward pass, sets it back
 * for the recomputation and forward again afterwards, so the recomputation draws the masks the
 * forward drew (PyTorch's {@code preserve_rng_state}) and the state ends where the forward left it.
 * A {@link org.xformers4j.nn.Module} that implements it is found by
 * {@link org.xformers4j.nn.Module#replayableStates()}.
 */
public interface ReplayableState {

    /** An opaque copy of the state now, for {@link #restoreState}; later draws do not change it. */
    Object saveState();

    /**
     * Sets the state back to one {@link #saveState()} of this object returned.
     *
     * @throws IllegalArgumentException if {@code state} is not of the kind this object's {@link #saveState()} returns
     */
    void restoreState(Object state);
}
