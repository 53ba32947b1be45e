package org.xformers4j.tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The reverse pass: orders the graph topologically and sends gradients from the root to the leaves. */
final class Autograd {

    private Autograd() {
    }

    static void backward(Tensor root, Tensor gradRoot) {
        if (!Arrays.equals(root.shape(), gradRoot.shape())) {
            throw new IllegalArgumentException("backward: gradient of shape " + Shape.str(gradRoot.shape())
                    + " for a tensor of shape " + Shape.str(root.shape()));
        }
        List<Tensor> order = topologicalOrder(root);
        Map<Tensor, Tensor> pending = new IdentityHashMap<>();
        pending.put(root, gradRoot);
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            for (Tensor t : order) {
                Tensor g = pending.remove(t);
                if (g == null) {
                    continue;
                }
                Node node = t.node();
                if (node == null) {
                    t.accumulateGrad(g);
                    continue;
                }
                Tensor[] inputGrads = node.backward.apply(g);
                for (int i = 0; i < node.inputs.length; i++) {
                    Tensor input = node.inputs[i];
                    Tensor gi = inputGrads[i];
                    if (input == null || gi == null || !input.requiresGrad()) {
                        continue;
                    }
                    if (!Arrays.equals(gi.shape(), input.shape())) {
                        throw new IllegalStateException("backward of " + node.op + " produced a gradient of shape "
                                + Shape.str(gi.shape()) + " for input " + i + " of shape " + Shape.str(input.shape()));
                    }
                    pending.merge(input, gi, Tensor::add);
                }
            }
        }
    }

    /** Tensors that require grad and reach the root, each after every tensor computed from it. */
    private static List<Tensor> topologicalOrder(Tensor root) {
        List<Tensor> postOrder = new ArrayList<>();
        Set<Tensor> visited = Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Tensor> stack = new ArrayDeque<>();
        Deque<Integer> nextChild = new ArrayDeque<>();
        stack.push(root);
        nextChild.push(0);
        visited.add(root);
        while (!stack.isEmpty()) {
            Tensor t = stack.peek();
            int child = nextChild.pop();
            Node node = t.node();
            Tensor[] inputs = node == null ? new Tensor[0] : node.inputs;
            while (child < inputs.length
                    && (inputs[child] == null || !inputs[child].requiresGrad() || visited.contains(inputs[child]))) {
                child++;
            }
            if (child < inputs.length) {
                nextChild.push(child + 1);
                Tensor in = inputs[child];
                visited.add(in);
                stack.push(in);
                nextChild.push(0);
            } else {
                stack.pop();
                postOrder.add(t);
            }
        }
        Collections.reverse(postOrder);
        return postOrder;
    }
}
