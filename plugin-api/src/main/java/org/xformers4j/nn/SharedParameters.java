package org.xformers4j.nn;

import java.util.Arrays;
import java.util.function.Supplier;
import org.xformers4j.tensor.Tensor;

/**
 * Parameters shared by the layers of one stack, each under a key: the first layer that asks for a
 * key creates the parameter, and every later request for that key returns the same tensor. A
 * model builder makes one store per stack (and per role, for example one for the self-attention
 * and one for the cross-attention mechanisms of a decoder), registers it as a submodule of the
 * stack, and hands it to every {@link org.xformers4j.component.attention.StackAware} mechanism of
 * that role before the mechanism is initialised.
 *
 * <p>A shared parameter is one object, registered here and nowhere else, so it is listed once by
 * {@link #namedParameters()} (under the stack's prefix, e.g. {@code blocks.attentionShared.key}),
 * saved and loaded once, and updated once per step by the optimiser; autograd sums into its
 * gradient the contribution of every layer that used it. Building the same stack again asks for
 * the same keys in the same order, so loading a saved state dict restores the sharing: the values
 * go into the one tensor every layer holds. Keys follow parameter names: non-empty, no '.'.
 */
public final class SharedParameters extends Module {

    /**
     * The parameter under {@code key}: on the first request {@code initial.get()}, which must have
     * {@code shape}, registered here (with weight decay); on later requests the same tensor.
     *
     * @throws IllegalArgumentException if the key is not a valid parameter name, the initial value
     *                                  has another shape, or an earlier request made the key with
     *                                  another shape (two layers that disagree on what they share)
     */
    public Tensor parameter(String key, int[] shape, Supplier<Tensor> initial) {
        Tensor existing = namedParameters().get(key);
        if (existing != null) {
            if (!Arrays.equals(existing.shape(), shape)) {
                throw new IllegalArgumentException("SharedParameters: '" + key + "' was created with shape "
                        + Arrays.toString(existing.shape()) + ", now requested with shape " + Arrays.toString(shape)
                        + "; the layers sharing it must agree on its shape");
            }
            return existing;
        }
        Tensor created = initial.get();
        if (!Arrays.equals(created.shape(), shape)) {
            throw new IllegalArgumentException("SharedParameters: the initial value of '" + key + "' has shape "
                    + Arrays.toString(created.shape()) + ", expected " + Arrays.toString(shape));
        }
        return registerParameter(key, created);
    }
}
