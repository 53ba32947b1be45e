package org.xformers4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.xformers4j.nn.Linear;
import org.xformers4j.nn.Module;
import org.xformers4j.nn.ParameterState;
import org.xformers4j.optim.AdamW;
import org.xformers4j.optim.LearningRateSchedule;
import org.xformers4j.optim.NonFinite;
import org.xformers4j.optim.Optimizer;
import org.xformers4j.optim.OptimizerState;
import org.xformers4j.optim.Sgd;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.Tensor;

class CheckpointTest {

    private static final int EXAMPLES = 32;
    private static final int BATCH = 8;
    private static final long DATA_SEED = 3;
    private static final LearningRateSchedule SCHEDULE = LearningRateSchedule.cosineDecay(0.05, 0.005, 4, 20);

    @TempDir
    Path dir;

    /** Fixed regression data: x [32, 4] and y [32, 3]. */
    private static final float[][] X = randomRows(EXAMPLES, 4, 1);
    private static final float[][] Y = randomRows(EXAMPLES, 3, 2);

    private static float[][] randomRows(int rows, int cols, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[][] out = new float[rows][cols];
        for (float[] row : out) {
            for (int j = 0; j < cols; j++) {
                row[j] = (float) rng.nextGaussian();
            }
        }
        return out;
    }

    /**
     * {@code steps} optimiser steps of mean squared error on batches of 8 examples drawn with
     * replacement by {@code batches}, with the learning rate from {@link #SCHEDULE}.
     */
    private static void train(Linear model, Optimizer optimizer, SplittableRandom batches, int steps) {
        for (int s = 0; s < steps; s++) {
            float[] x = new float[BATCH * 4];
            float[] y = new float[BATCH * 3];
            for (int b = 0; b < BATCH; b++) {
                int i = batches.nextInt(EXAMPLES);
                System.arraycopy(X[i], 0, x, b * 4, 4);
                System.arraycopy(Y[i], 0, y, b * 3, 3);
            }
            Functional.mseLoss(model.forward(Tensor.of(x, BATCH, 4)), Tensor.of(y, BATCH, 3)).backward();
            SCHEDULE.applyTo(optimizer);
            optimizer.step();
            optimizer.zeroGrad();
        }
    }

    /** The batch generator of a run that has already drawn {@code batchesDrawn} batches. */
    private static SplittableRandom batchesAfter(long seed, int batchesDrawn) {
        SplittableRandom rng = new SplittableRandom(seed);
        for (int i = 0; i < batchesDrawn * BATCH; i++) {
            rng.nextInt(EXAMPLES);
        }
        return rng;
    }

    static Stream<Arguments> optimizers() {
        Function<Linear, Optimizer> adamW = m -> new AdamW(m, 0.05f, 0.9f, 0.999f, 1e-8f, 0.1f);
        Function<Linear, Optimizer> sgd = m -> new Sgd(m, 0.05f, 0.9f, 0f, false, 0.01f);
        Function<Linear, Optimizer> nesterov = m -> new Sgd(m, 0.05f, 0.9f, 0f, true, 0f);
        return Stream.of(Arguments.of("AdamW", adamW), Arguments.of("SGD with momentum", sgd),
                Arguments.of("SGD with Nesterov momentum", nesterov));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("optimizers")
    void resumingFromACheckpointEndsWithTheWeightsOfAnUninterruptedRun(String name,
            Function<Linear, Optimizer> optimizerOf) throws IOException {
        Linear straight = new Linear(4, 3, true, new SplittableRandom(7));
        train(straight, optimizerOf.apply(straight), new SplittableRandom(DATA_SEED), 20);

        Linear first = new Linear(4, 3, true, new SplittableRandom(7));
        Optimizer firstOptimizer = optimizerOf.apply(first);
        train(first, firstOptimizer, new SplittableRandom(DATA_SEED), 10);
        Path path = dir.resolve("step-10.ckpt");
        Checkpoint.save(path, first, firstOptimizer, 10, 0, Map.of("seed", Long.toString(DATA_SEED), "batches", "10"));

        Linear resumed = new Linear(4, 3, true, new SplittableRandom(99));
        Optimizer resumedOptimizer = optimizerOf.apply(resumed);
        Checkpoint checkpoint = Checkpoint.load(path);
        checkpoint.restore(resumed, resumedOptimizer);
        assertThat(resumedOptimizer.stepCount()).isEqualTo(10);
        train(resumed, resumedOptimizer, batchesAfter(Long.parseLong(checkpoint.metadata().get("seed")),
                Integer.parseInt(checkpoint.metadata().get("batches"))), 10);

        assertThat(resumed.stateDict()).isEqualTo(straight.stateDict());
        assertThat(resumed.weight().toFloatArray()).isNotEqualTo(first.weight().toFloatArray());
    }

    @Test
    void roundTripRestoresBitIdenticalWeightsOptimizerBuffersAndProgress() throws IOException {
        Linear model = new Linear(4, 3, true, new SplittableRandom(5));
        AdamW optimizer = new AdamW(model, 0.01f);
        train(model, optimizer, new SplittableRandom(DATA_SEED), 3);
        optimizer.setLearningRate(0.0123f);
        Path path = dir.resolve("model.ckpt");
        Checkpoint.save(path, model, optimizer, 3, 1, Map.of("seed", "3", "note", "héllo"));

        Linear restored = new Linear(4, 3, true, new SplittableRandom(6));
        AdamW restoredOptimizer = new AdamW(restored, 0.5f);
        Checkpoint checkpoint = Checkpoint.load(path);
        checkpoint.restore(restored, restoredOptimizer);

        assertThat(checkpoint.step()).isEqualTo(3);
        assertThat(checkpoint.epoch()).isEqualTo(1);
        assertThat(checkpoint.metadata()).containsExactlyInAnyOrderEntriesOf(Map.of("seed", "3", "note", "héllo"));
        assertThat(restored.stateDict()).isEqualTo(model.stateDict());
        assertThat(restoredOptimizer.stepCount()).isEqualTo(3);
        assertThat(restoredOptimizer.learningRate()).isEqualTo(0.0123f);
        OptimizerState expected = optimizer.state(model.namedParameters());
        OptimizerState actual = restoredOptimizer.state(restored.namedParameters());
        assertThat(actual.optimizer()).isEqualTo("AdamW");
        assertThat(actual.parameters()).containsOnlyKeys("weight", "bias");
        for (String parameter : List.of("weight", "bias")) {
            OptimizerState.Slot want = expected.parameters().get(parameter);
            OptimizerState.Slot got = actual.parameters().get(parameter);
            assertThat(got.step()).isEqualTo(3);
            assertThat(got.buffers()).containsOnlyKeys("exp_avg", "exp_avg_sq");
            assertThat(got.buffer("exp_avg")).isEqualTo(want.buffer("exp_avg")).isNotEqualTo(new float[want
                    .buffer("exp_avg").length]);
            assertThat(got.buffer("exp_avg_sq")).isEqualTo(want.buffer("exp_avg_sq"));
        }
    }

    @Test
    void anOptimizerThatHasNotSteppedRoundTripsWithoutBuffers() throws IOException {
        Linear model = new Linear(4, 3, true, new SplittableRandom(5));
        Path path = dir.resolve("fresh.ckpt");
        Checkpoint.save(path, model, new Sgd(model, 0.1f, 0.9f, 0f, false, 0f), 0, 0, Map.of());

        Checkpoint checkpoint = Checkpoint.load(path);

        assertThat(checkpoint.optimizerState().parameters().values())
                .allSatisfy(slot -> assertThat(slot.buffers()).isEmpty());
        Linear restored = new Linear(4, 3, true, new SplittableRandom(6));
        checkpoint.restore(restored, new Sgd(restored, 0.1f, 0.9f, 0f, false, 0f));
        assertThat(restored.stateDict()).isEqualTo(model.stateDict());
    }

    /** A module whose single parameter is called {@code w} instead of Linear's {@code weight}. */
    private static final class Renamed extends Module {
        Renamed() {
            registerParameter("w", Tensor.zeros(3, 4));
        }
    }

    private Path savedLinear(int out) throws IOException {
        Linear model = new Linear(4, out, true, new SplittableRandom(1));
        AdamW optimizer = new AdamW(model, 0.01f);
        oneStep(model, optimizer);
        Path path = dir.resolve("linear-" + out + ".ckpt");
        Checkpoint.save(path, model, optimizer, 1, 0, Map.of());
        return path;
    }

    /** One optimiser step on the sum of squared outputs for a fixed random batch. */
    private static void oneStep(Linear model, Optimizer optimizer) {
        SplittableRandom rng = new SplittableRandom(2);
        model.forward(Tensor.randn(rng, 2, 4)).pow(2f).sum().backward();
        optimizer.step();
        optimizer.zeroGrad();
    }

    @Test
    void aCheckpointOfAnotherShapeIsRejectedNamingTheEntryAndChangesNothing() throws IOException {
        Checkpoint checkpoint = Checkpoint.load(savedLinear(5));
        Linear target = new Linear(4, 3, true, new SplittableRandom(8));
        AdamW optimizer = new AdamW(target, 0.01f);
        oneStep(target, optimizer);
        Map<String, ParameterState> before = target.stateDict();
        OptimizerState optimizerBefore = optimizer.state(target.namedParameters());

        assertThatThrownBy(() -> checkpoint.restore(target, optimizer))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'weight' has shape [5, 4] but the parameter has shape [3, 4]")
                .hasMessageContaining("nothing was loaded");

        assertThat(target.stateDict()).isEqualTo(before);
        assertUnchanged(optimizer, target, optimizerBefore);
    }

    @Test
    void unknownParameterNamesAreRejected() throws IOException {
        Checkpoint checkpoint = Checkpoint.load(savedLinear(3));
        Renamed target = new Renamed();

        assertThatThrownBy(() -> checkpoint.restore(target, new AdamW(target, 0.01f)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("missing 'w'")
                .hasMessageContaining("unexpected 'weight'")
                .hasMessageContaining("unexpected 'bias'");
        assertThat(target.stateDict().get("w").values()).containsOnly(0f);
    }

    @Test
    void anOptimizerStateOfAnotherKindIsRejectedAndTheModuleIsLeftAsItWas() throws IOException {
        Checkpoint checkpoint = Checkpoint.load(savedLinear(3));
        Linear target = new Linear(4, 3, true, new SplittableRandom(8));
        Sgd optimizer = new Sgd(target, 0.1f, 0.9f, 0f, false, 0f);
        oneStep(target, optimizer);
        Map<String, ParameterState> before = target.stateDict();
        OptimizerState optimizerBefore = optimizer.state(target.namedParameters());

        assertThatThrownBy(() -> checkpoint.restore(target, optimizer))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Sgd.loadState: the state was saved by AdamW")
                .hasMessageContaining("'weight' has buffers [exp_avg, exp_avg_sq], expected [momentum_buffer] or none");

        assertThat(target.stateDict()).isEqualTo(before);
        assertUnchanged(optimizer, target, optimizerBefore);
    }

    private static void assertUnchanged(Optimizer optimizer, Module module, OptimizerState before) {
        OptimizerState after = optimizer.state(module.namedParameters());
        assertThat(after.stepCount()).isEqualTo(before.stepCount());
        assertThat(after.learningRate()).isEqualTo(before.learningRate());
        before.parameters().forEach((name, slot) -> slot.buffers().forEach((buffer, values) ->
                assertThat(after.parameters().get(name).buffer(buffer)).as(name + " " + buffer).isEqualTo(values)));
    }

    @Test
    void aFileWithoutTheMagicIsRejected() throws IOException {
        Path path = dir.resolve("text.ckpt");
        Files.writeString(path, "weight = [1, 2, 3]\n");

        assertThatThrownBy(() -> Checkpoint.load(path))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(path + ": not an xformers4j checkpoint (bad magic)");
    }

    @Test
    void anotherFormatVersionIsRejected() throws IOException {
        Path path = savedLinear(3);
        byte[] bytes = Files.readAllBytes(path);
        bytes[11] = 2;
        Files.write(path, bytes);

        assertThatThrownBy(() -> Checkpoint.load(path))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("checkpoint format version 2 is not supported");
    }

    @Test
    void truncatedAndCorruptedFilesFailTheChecksum() throws IOException {
        Path path = savedLinear(3);
        byte[] bytes = Files.readAllBytes(path);
        Path truncated = dir.resolve("truncated.ckpt");
        Files.write(truncated, Arrays.copyOf(bytes, bytes.length / 2));
        Path flipped = dir.resolve("flipped.ckpt");
        bytes[bytes.length / 2] ^= 0x10;
        Files.write(flipped, bytes);

        for (Path bad : List.of(truncated, flipped)) {
            assertThatThrownBy(() -> Checkpoint.load(bad))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage(bad + ": checksum mismatch, the checkpoint is truncated or corrupted");
        }
    }

    @Test
    void aShapeLargerThanItsDataIsRejectedEvenWithAValidChecksum() throws IOException {
        Path path = savedLinear(3);
        byte[] bytes = Files.readAllBytes(path);
        // magic 8, version 4, step 8, epoch 4, metadata count 4 (no entries), parameter count 4,
        // then "weight" (length 4, 6 bytes) and its rank 4: its first size follows.
        int firstSize = 8 + 4 + 8 + 4 + 4 + 4 + 4 + 6 + 4;
        assertThat(ByteBuffer.wrap(bytes, firstSize, 4).getInt()).isEqualTo(3);
        ByteBuffer.wrap(bytes).putInt(firstSize, 1_000_000);
        FileMutations.forgeTrailingCrc32(bytes);
        Files.write(path, bytes);

        assertThatThrownBy(() -> Checkpoint.load(path))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(path + ": parameter 'weight' runs past the end of the checkpoint");
    }

    @Test
    void duplicateNamesAreRejected() throws IOException {
        TwoParameters model = new TwoParameters();
        Path path = dir.resolve("pair.ckpt");
        Checkpoint.save(path, model, new Sgd(model, 0.1f), 0, 0, Map.of());
        byte[] bytes = Files.readAllBytes(path);
        int tail = new String(bytes, StandardCharsets.ISO_8859_1).indexOf("tail");
        System.arraycopy("head".getBytes(StandardCharsets.US_ASCII), 0, bytes, tail, 4);
        FileMutations.forgeTrailingCrc32(bytes);
        Files.write(path, bytes);

        assertThatThrownBy(() -> Checkpoint.load(path))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(path + ": parameter 'head': duplicate parameter 'head'");
    }


    /** Two parameters with names of equal length; closing the second makes saving fail half-way. */
    private static final class TwoParameters extends Module {
        final Tensor head = registerParameter("head", Tensor.ones(2, 2));
        final Tensor tail = registerParameter("tail", Tensor.ones(3));
    }

    @Test
    void aFailedSaveLeavesThePreviousCheckpointIntactAndNoTemporaryFile() throws IOException {
        TwoParameters model = new TwoParameters();
        Sgd optimizer = new Sgd(model, 0.1f);
        Path path = dir.resolve("latest.ckpt");
        Checkpoint.save(path, model, optimizer, 5, 0, Map.of("batches", "5"));
        byte[] good = Files.readAllBytes(path);

        model.tail.close();

        assertThatThrownBy(() -> Checkpoint.save(path, model, optimizer, 6, 0, Map.of("batches", "6")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("used after close()");
        assertThat(Files.readAllBytes(path)).isEqualTo(good);
        assertThat(Checkpoint.load(path).metadata()).containsEntry("batches", "5");
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files).containsExactly(path);
        }
    }

    @Test
    void saveReplacesAnExistingCheckpoint() throws IOException {
        Linear model = new Linear(4, 3, true, new SplittableRandom(1));
        AdamW optimizer = new AdamW(model, 0.01f);
        Path path = dir.resolve("latest.ckpt");
        Checkpoint.save(path, model, optimizer, 0, 0, Map.of());
        oneStep(model, optimizer);

        Checkpoint.save(path, model, optimizer, 1, 0, Map.of());

        Checkpoint checkpoint = Checkpoint.load(path);
        assertThat(checkpoint.step()).isEqualTo(1);
        assertThat(checkpoint.modelState()).isEqualTo(model.stateDict());
        assertThat(checkpoint.optimizerState().stepCount()).isEqualTo(1);
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files).containsExactly(path);
        }
    }

    @Test
    void saveRefusesANonFiniteParameterNamingItAndKeepsTheLastGoodFile() throws IOException {
        TwoParameters model = new TwoParameters();
        Sgd optimizer = new Sgd(model, 0.1f);
        Path path = dir.resolve("latest.ckpt");
        Checkpoint.save(path, model, optimizer, 5, 0, Map.of("batches", "5"));
        byte[] good = Files.readAllBytes(path);

        Map<String, ParameterState> diverged = new LinkedHashMap<>(model.stateDict());
        diverged.put("tail", new ParameterState(new int[] {3}, new float[] {1f, Float.NaN, 2f}));
        model.loadStateDict(diverged);

        assertThatThrownBy(() -> Checkpoint.save(path, model, optimizer, 6, 0, Map.of("batches", "6")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("Checkpoint.save: refusing to write " + path + ": parameter 'tail' holds NaN or infinite "
                        + "values");
        assertThat(Files.readAllBytes(path)).isEqualTo(good);
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files).containsExactly(path);
        }
    }

    @Test
    void saveRefusesAnOptimizerBufferThatOverflowedWhileTheWeightsAreFinite() throws IOException {
        Linear model = new Linear(4, 3, true, new SplittableRandom(1));
        AdamW optimizer = new AdamW(model, 0.01f);
        Path path = dir.resolve("latest.ckpt");
        Checkpoint.save(path, model, optimizer, 0, 0, Map.of());
        byte[] good = Files.readAllBytes(path);
        // targets of 1e25: finite gradients of about 1e24, whose squares overflow Adam's second moment
        Functional.mseLoss(model.forward(Tensor.ones(2, 4)), Tensor.full(1e25f, 2, 3)).backward();
        optimizer.step();
        assertThat(NonFinite.value(model.namedParameters())).isEmpty();

        assertThatThrownBy(() -> Checkpoint.save(path, model, optimizer, 1, 0, Map.of()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("refusing to write " + path)
                .hasMessageContaining("optimizer buffer 'exp_avg_sq' of parameter 'weight' holds NaN or infinite values");
        assertThat(Files.readAllBytes(path)).isEqualTo(good);
    }

    @Test
    void aNonFiniteNumberInAFileIsRefusedEvenWithAValidChecksum() throws IOException {
        Path path = savedLinear(3);
        byte[] bytes = Files.readAllBytes(path);
        int firstWeight = 8 + 4 + 8 + 4 + 4 + 4 + 4 + 6 + 4 + 2 * 4;
        ByteBuffer.wrap(bytes).putFloat(firstWeight, Float.POSITIVE_INFINITY);
        FileMutations.forgeTrailingCrc32(bytes);
        Files.write(path, bytes);

        assertThatThrownBy(() -> Checkpoint.load(path))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(path + ": parameter 'weight': holds NaN or infinite values, which no checkpoint is written "
                        + "with");
    }

    @Test
    void aHugeRankIsRefusedBeforeAnythingIsAllocatedFromIt() throws IOException {
        Path path = savedLinear(3);
        byte[] bytes = Files.readAllBytes(path);
        int rank = 8 + 4 + 8 + 4 + 4 + 4 + 4 + 6;
        assertThat(ByteBuffer.wrap(bytes, rank, 4).getInt()).isEqualTo(2);
        ByteBuffer.wrap(bytes).putInt(rank, Integer.MAX_VALUE);
        FileMutations.forgeTrailingCrc32(bytes);
        Files.write(path, bytes);

        assertThatThrownBy(() -> Checkpoint.load(path))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(path + ": parameter 'weight': rank count 2147483647 needs at least 8589934588 "
                        + "bytes, but only ");
    }

    /**
     * Every mutation of a valid checkpoint, as read from disk and again with its checksum made
     * valid (so the parser's own bounds are exercised, not just the CRC), ends in an
     * IllegalArgumentException naming the file or loads to exactly the saved state.
     */
    @Test
    void mutatedCheckpointsAreRejectedClearlyOrLoadIdentically() throws IOException {
        Path path = savedLinear(3);
        byte[] valid = Files.readAllBytes(path);
        Checkpoint original = Checkpoint.load(path);
        int rejected = 0;
        int identical = 0;
        int changedValues = 0;
        List<FileMutations.Mutation> mutations = FileMutations.all(valid, 200, 11);
        for (FileMutations.Mutation mutation : mutations) {
            for (boolean validChecksum : new boolean[] {false, true}) {
                byte[] bytes = mutation.bytes().clone();
                if (validChecksum && bytes.length >= 4) {
                    FileMutations.forgeTrailingCrc32(bytes);
                }
                Path file = dir.resolve("mutated.ckpt");
                Files.write(file, bytes);
                Checkpoint loaded;
                try {
                    loaded = Checkpoint.load(file);
                } catch (IllegalArgumentException e) {
                    assertThat(e.getMessage()).as(mutation.description()).startsWith(file.toString());
                    rejected++;
                    continue;
                }
                assertThat(validChecksum || Arrays.equals(bytes, valid)).as(mutation + " passed the checksum").isTrue();
                if (sameState(loaded, original)) {
                    identical++;
                } else {
                    // a valid checksum written over altered data: the format can only check structure
                    assertThat(validChecksum).as(mutation.description()).isTrue();
                    changedValues++;
                }
            }
        }
        System.out.printf("model.x4j (Checkpoint.load): %d inputs from %d mutations (each also with its CRC rewritten): "
                + "%d rejected with a clear error, %d loaded identically, %d well-formed with a forged CRC%n",
                2 * mutations.size(), mutations.size(), rejected, identical, changedValues);
        assertThat(rejected).isGreaterThan(mutations.size());
    }

    @Test
    void theBytesOfACheckpointInMemoryAreThoseOfItsFileAndReadBackUnderTheirSourceName() throws IOException {
        Linear model = new Linear(4, 3, true, new SplittableRandom(5));
        AdamW optimizer = new AdamW(model, 0.01f);
        train(model, optimizer, new SplittableRandom(DATA_SEED), 2);
        Path path = dir.resolve("model.ckpt");
        Checkpoint.save(path, model, optimizer, 2, 1, Map.of("seed", "3"));
        byte[] bytes = Checkpoint.toBytes(model, optimizer, 2, 1, Map.of("seed", "3"));

        assertThat(bytes).isEqualTo(Files.readAllBytes(path));
        Checkpoint read = Checkpoint.read(bytes, "model.tribuo, field 2");
        assertThat(sameState(read, Checkpoint.load(path))).isTrue();
        assertThat(read.toBytes()).isEqualTo(bytes);
        Checkpoint edited = Checkpoint.read(read.withMetadata(Map.of("seed", "4")).toBytes(), "edited");
        assertThat(edited.metadata()).containsExactlyEntriesOf(Map.of("seed", "4"));
        assertThat(edited.modelState()).isEqualTo(read.modelState());

        byte[] damaged = bytes.clone();
        damaged[damaged.length / 2] ^= 1;
        assertThatThrownBy(() -> Checkpoint.read(damaged, "model.tribuo, field 2"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("model.tribuo, field 2: checksum mismatch, the checkpoint is truncated or corrupted");
        assertThatThrownBy(() -> Checkpoint.read(new byte[3], "model.tribuo, field 2"))
                .hasMessage("model.tribuo, field 2: not an xformers4j checkpoint (bad magic)");
    }

    private static boolean sameState(Checkpoint a, Checkpoint b) {
        return a.step() == b.step() && a.epoch() == b.epoch() && a.metadata().equals(b.metadata())
                && a.modelState().equals(b.modelState())
                && a.optimizerState().optimizer().equals(b.optimizerState().optimizer())
                && a.optimizerState().parameters().keySet().equals(b.optimizerState().parameters().keySet());
    }
}
