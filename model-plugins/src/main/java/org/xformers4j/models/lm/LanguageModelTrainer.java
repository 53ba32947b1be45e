package org.xformers4j.models.lm;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.xformers4j.models.nn.TransformerDecoder;
import org.xformers4j.models.text.Tokenizer;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.Tensor;
import org.xformers4j.train.Evaluation;
import org.xformers4j.train.Point;
import org.xformers4j.train.TrainingListener;
import org.xformers4j.train.TrainingTask;

/**
 * Trains a decoder-only {@link LanguageModel} from scratch on a text (Radford et al., 2018): the
 * text's last {@link #validationFraction} is held out, the rest is tokenized, and each step
 * predicts every next token of {@code run.batchSize} windows of {@link #contextLength} + 1 tokens at
 * offsets drawn uniformly from the training tokens, minimising the mean cross-entropy. Progress
 * reports the training loss, tokens per second and the held-out loss with its bits per character;
 * checkpoints, resume, the time budget and the guard against non-finite losses are those of
 * {@link TrainingLoop}. Configure it with OLCUT (see {@code examples/char-lm.xml}) or {@link #builder()}.
 */
public final class LanguageModelTrainer extends TextModelTrainer {

    /** For OLCUT; see {@link #builder()}. */
    private LanguageModelTrainer() {
    }

    /** A builder starting from the defaults of every field. */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    protected List<String> specialTokens() {
        return List.of();
    }

    /**
     * Trains on {@code text}.
     *
     * @param progress receives each point of the learning curve as it is measured
     * @throws IllegalArgumentException if the training or validation part of the text is shorter than
     *                                  one window of {@link #contextLength} + 1 tokens
     */
    public Result<LanguageModel> train(String text, Consumer<Point> progress) {
        return train(text, List.of(TrainingListener.ofPoints(progress)), Map.of());
    }

    /**
     * Trains on {@code text}, watched by {@code listeners} (progress, metrics) for this run only, in
     * their order, after the loop's own, adding {@code runProvenance} to the model's {@link
     * TextGenerator#provenance() provenance} (such as the configuration a command trained it with).
     *
     * @throws IllegalArgumentException if the training or validation part of the text is shorter than
     *                                  one window of {@link #contextLength} + 1 tokens
     */
    public Result<LanguageModel> train(String text, List<? extends TrainingListener> listeners,
                                       Map<String, String> runProvenance) {
        int split = text.offsetByCodePoints(0,
                (int) (text.codePointCount(0, text.length()) * (1 - run.validationFraction())));
        String trainText = text.substring(0, split);
        String validationText = text.substring(split);
        Tokenizer tokenizer = tokenizerFor(trainText);
        int[] train = tokenizer.encode(trainText);
        int[] validation = tokenizer.encode(validationText);
        if (train.length < contextLength + 1 || validation.length < 2) {
            throw new IllegalArgumentException("the text is too short: its training part has " + train.length
                    + " tokens and its validation part " + validation.length + ", but a window needs contextLength + 1 = "
                    + (contextLength + 1) + " tokens for training and 2 for validation");
        }
        SplittableRandom rng = new SplittableRandom(run.seed());
        TransformerDecoder decoder = architecture.decoder(registry(), tokenizer.vocabularySize(), false, rng);
        LanguageModel model = new LanguageModel(architecture, contextLength, tokenizer, decoder);
        long batchSeed = rng.nextLong();
        Map<String, String> identity = identity(text);
        TrainingTask task = new TrainingTask() {
            @Override
            public Batch batch(long step, int part, int parts) {
                return nextTokenLoss(decoder, train, batchRandom(batchSeed, step), partRange(part, parts));
            }

            @Override
            public Evaluation evaluate() {
                return model.evaluate(validation, evaluationWindows);
            }

            @Override
            public Map<String, String> identity() {
                return identity;
            }

            @Override
            public boolean usesDropout() {
                return trainsWithDropout();
            }
        };
        List<Point> curve = loop(listeners).run(decoder, task).curve();
        return new Result<>(model.withProvenance(provenance(identity, curve, runProvenance)), curve);
    }

    /**
     * The next-token loss of windows [range[0], range[1]) of the step's batch of {@code run.batchSize()}
     * windows at random offsets of {@code tokens}, drawn by {@code rng} (all of them, so each part sees
     * the windows one pass over the whole batch would).
     */
    private TrainingTask.Batch nextTokenLoss(TransformerDecoder decoder, int[] tokens, SplittableRandom rng,
                                             int[] range) {
        int windows = range[1] - range[0];
        int[][] inputs = new int[windows][];
        int[] targets = new int[windows * contextLength];
        for (int b = 0; b < range[1]; b++) {
            int offset = rng.nextInt(tokens.length - contextLength);
            if (b >= range[0]) {
                inputs[b - range[0]] = Arrays.copyOfRange(tokens, offset, offset + contextLength);
                System.arraycopy(tokens, offset + 1, targets, (b - range[0]) * contextLength, contextLength);
            }
        }
        Tensor logits = decoder.forward(inputs, null);                          // [B, L, V]
        Tensor loss = Functional.crossEntropy(logits.reshape(windows * contextLength, -1), targets);
        return new TrainingTask.Batch(loss, targets.length);
    }

    /** Builds a {@link LanguageModelTrainer} from code; each setter names the {@code @Config} field it sets. */
    public static final class Builder extends TextModelTrainer.Builder<LanguageModelTrainer, Builder> {
        private Builder() {
            super(new LanguageModelTrainer());
        }
    }
}
