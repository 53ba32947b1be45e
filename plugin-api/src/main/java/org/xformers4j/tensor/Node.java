package org.xformers4j.tensor;

/** One recorded operation of the autograd graph: its inputs and how to send a gradient back to them. */
final class Node {

    final String op;
    final Tensor[] inputs;
    final Backward backward;

    Node(String op, Tensor[] inputs, Backward backward) {
        this.op = op;
        this.inputs = inputs;
        this.backward = backward;
    }

    /** Maps the gradient of an op's output to the gradients of its inputs. */
    @FunctionalInterface
    interface Backward {
        /**
         * Gradients for each input, in order; an entry may be null where the input does not
         * require a gradient. Runs with grad recording off.
         */
        Tensor[] apply(Tensor gradOutput);
    }
}
