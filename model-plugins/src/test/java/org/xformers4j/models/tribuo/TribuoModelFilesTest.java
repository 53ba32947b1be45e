package org.xformers4j.models.tribuo;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tribuo.Model;
import org.tribuo.MutableDataset;
import org.tribuo.Prediction;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.impl.ArrayExample;
import org.tribuo.protos.core.ModelProto;
import org.tribuo.provenance.SimpleDataSourceProvenance;
import org.xformers4j.io.FileMutations;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.xformers4j.models.nn.Architecture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

/**
 * {@link TribuoModelFiles}: atomic saves with ordinary permissions, checks before training, clear errors
 * naming the file for every bad file, and the mutation test of {@code .tribuo} loading: damaged
 * files (truncations, bit flips, lying lengths) and crafted ones (the same mutations of the embedded
 * checkpoint under a correct checksum) each end in a clear error or a correct load.
 */
class TribuoModelFilesTest {

    private static final LabelFactory LABELS = new LabelFactory();

    private static MutableDataset<Label> data;
    private static TransformerModel<Label> model;

    @TempDir
    Path dir;

    @BeforeAll
    static void train() {
        SplittableRandom rng = new SplittableRandom(3);
        data = new MutableDataset<>(new SimpleDataSourceProvenance("sums", LABELS), LABELS);
        String[] names = {"a", "b", "c"};
        for (int n = 0; n < 40; n++) {
            double[] x = {rng.nextDouble(), rng.nextDouble(), rng.nextDouble()};
            data.add(new ArrayExample<>(new Label(x[0] + x[1] > 1 ? "high" : "low"), names, x));
        }
        model = TransformerTrainer.builder(new FeatureTokens(), new LabelHead())
                .architecture(Architecture.builder().modelDim(8).heads(2).layers(1).build())
                .epochs(2)
                .run(TransformerTrainer.runDefaults().batchSize(8).seed(1).build()).build().train(data);
    }

    @Test
    void aSavedModelLoadsAndPredictsIdentically() {
        Path file = dir.resolve("model.tribuo");
        TribuoModelFiles.save(model, file);

        assertThat(scores(TribuoModelFiles.load(file))).isEqualTo(scores(model));
    }

    @Test
    void savingReplacesTheFileAtomicallyWithOrdinaryPermissionsAndRemovesLeftovers() throws IOException {
        Path file = Files.writeString(dir.resolve("model.tribuo"), "an older model");
        Path leftover = Files.writeString(dir.resolve(".model.tribuo.0f3c.tmp"), "a crashed save");
        Path ordinary = Files.writeString(dir.resolve("ordinary.txt"), "written as any file is");

        TribuoModelFiles.save(model, file);

        assertThat(scores(TribuoModelFiles.load(file))).isEqualTo(scores(model));
        assertThat(leftover).doesNotExist();
        assertThat(permissions(file)).isEqualTo(permissions(ordinary));
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("model.tribuo",
                    "ordinary.txt");
        }
    }

    @Test
    void aSaveThatCannotHappenNamesTheFileAndKeepsItsCause() {
        Path file = dir.resolve("missing").resolve("model.tribuo");

        assertThatThrownBy(() -> TribuoModelFiles.save(model, file))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("model " + file + ": cannot be saved")
                .hasCauseInstanceOf(IOException.class);
        assertThatThrownBy(() -> TribuoModelFiles.checkWritable(file))
                .hasMessageContaining("model " + file + ": the directory " + dir.resolve("missing") + " does not exist");
        assertThatThrownBy(() -> TribuoModelFiles.checkWritable(dir))
                .hasMessageContaining("model " + dir + ": is a directory");
    }

    @Test
    void emptyForeignAndDamagedFilesAreRefusedNamingTheFile() throws IOException {
        Path empty = Files.write(dir.resolve("empty.tribuo"), new byte[0]);
        Path text = Files.writeString(dir.resolve("text.tribuo"), "label,a,b\nx,1,2\n");
        Path file = dir.resolve("model.tribuo");
        TribuoModelFiles.save(model, file);
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 2] ^= 4;
        Path flipped = Files.write(dir.resolve("flipped.tribuo"), bytes);

        assertThatThrownBy(() -> TribuoModelFiles.load(dir.resolve("none.tribuo")))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("model " + dir.resolve("none.tribuo")
                        + ": no such file");
        assertThatThrownBy(() -> TribuoModelFiles.load(empty))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("model " + empty + ": the file is empty (0 bytes), not a Tribuo model");
        assertThatThrownBy(() -> TribuoModelFiles.load(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("model " + text + ": not a Tribuo model file");
        assertThatThrownBy(() -> TribuoModelFiles.load(flipped))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("model " + flipped + ": cannot be loaded as a " + TransformerModel.class.getName())
                .hasMessageContaining("SHA-256 checksum does not match");
    }

    @Test
    void aFileNamingAClassThatIsNotAModelIsRefusedWithoutInitialisingIt() throws IOException {
        byte[] valid = Files.readAllBytes(save());
        Path other = Files.write(dir.resolve("other.tribuo"), ModelProto.parseFrom(valid).toBuilder()
                .setClassName(StaticSideEffect.class.getName()).build().toByteArray());
        Path missing = Files.write(dir.resolve("missing.tribuo"), ModelProto.parseFrom(valid).toBuilder()
                .setClassName("org.example.NoSuchModel").build().toByteArray());

        assertThatThrownBy(() -> TribuoModelFiles.load(other))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("model " + other + ": names the class " + StaticSideEffect.class.getName()
                        + ", which is not a Tribuo model");
        assertThat(INITIALISED.get()).as("its static initialiser ran").isFalse();
        assertThatThrownBy(() -> TribuoModelFiles.load(missing))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("model " + missing + ": names the model class org.example.NoSuchModel, which is not "
                        + "available here");
    }

    /** Set by {@link StaticSideEffect}'s static initialiser (reading a field of that class would run it). */
    private static final AtomicBoolean INITIALISED = new AtomicBoolean();

    /** A class whose static initialiser leaves a trace, which loading a model file must never run. */
    static final class StaticSideEffect {
        static {
            INITIALISED.set(true);
        }
    }

    private Path save() {
        Path file = dir.resolve("model.tribuo");
        TribuoModelFiles.save(model, file);
        return file;
    }

    /** How the loads of a set of mutated files ended. */
    private enum Outcome { REJECTED, LOADED_IDENTICALLY, LOADED_CRAFTED }

    @Test
    void everyMutationOfATribuoFileEndsInAClearErrorOrACorrectLoad() throws IOException {
        Path original = dir.resolve("model.tribuo");
        TribuoModelFiles.save(model, original);
        byte[] valid = Files.readAllBytes(original);
        List<Map<String, Double>> expected = scores(model);

        Map<Outcome, Integer> damaged = new EnumMap<>(Outcome.class);
        for (FileMutations.Mutation mutation : FileMutations.all(valid, 150, 11)) {
            Outcome outcome = load(mutation, expected);
            assertThat(outcome).as("%s: a damaged file must not load as a different model", mutation)
                    .isNotEqualTo(Outcome.LOADED_CRAFTED);
            damaged.merge(outcome, 1, Integer::sum);
        }
        // Crafted: the embedded model.x4j checkpoint mutated and sealed with a correct SHA-256, once as
        // it is (its CRC-32 then refuses most) and once with its CRC-32 forged too, so that the
        // checkpoint's parser and the model's checks behind it meet every mutation; a load may then
        // be a different (valid) model.
        Map<Outcome, Integer> crafted = new EnumMap<>(Outcome.class);
        for (FileMutations.Mutation mutation : FileMutations.all(CraftedModels.checkpointBytes(valid), 150, 12)) {
            for (boolean forgedCrc : new boolean[] {false, true}) {
                byte[] checkpoint = mutation.bytes().clone();
                if (forgedCrc && checkpoint.length >= 4) {
                    FileMutations.forgeTrailingCrc32(checkpoint);
                }
                byte[] file = CraftedModels.withCheckpointBytes(valid, bytes -> checkpoint);
                crafted.merge(load(new FileMutations.Mutation(mutation.description() + " (checkpoint, resealed"
                        + (forgedCrc ? ", CRC-32 forged)" : ")"), file), expected), 1, Integer::sum);
            }
        }

        System.out.println(".tribuo: " + total(damaged) + " damaged files: " + damaged.getOrDefault(Outcome.REJECTED, 0)
                + " rejected with a clear error, " + damaged.getOrDefault(Outcome.LOADED_IDENTICALLY, 0)
                + " loaded identically; " + total(crafted) + " crafted files (correct checksum): "
                + crafted.getOrDefault(Outcome.REJECTED, 0) + " rejected with a clear error, "
                + crafted.getOrDefault(Outcome.LOADED_IDENTICALLY, 0) + " loaded identically, "
                + crafted.getOrDefault(Outcome.LOADED_CRAFTED, 0) + " loaded as a different valid model");
        assertThat(damaged.get(Outcome.REJECTED)).isPositive();
        assertThat(crafted.get(Outcome.REJECTED)).isPositive();
    }

    /** Loads a mutated file: a clear error naming it, or a model that predicts (the same as the original, or not). */
    private Outcome load(FileMutations.Mutation mutation, List<Map<String, Double>> expected) throws IOException {
        Path file = Files.write(dir.resolve("mutated.tribuo"), mutation.bytes());
        Model<?> loaded;
        try {
            loaded = TribuoModelFiles.load(file);
        } catch (IllegalArgumentException e) {
            assertThat(e.getMessage()).as(mutation.description()).startsWith("model " + file + ": ")
                    .doesNotEndWith(": ").doesNotEndWith(": null");
            return Outcome.REJECTED;
        } catch (RuntimeException | Error e) {
            throw new AssertionError(mutation + ": unexpected " + e, e);
        }
        List<Map<String, Double>> scores;
        try {
            scores = scores(loaded);
        } catch (RuntimeException e) {
            return fail(mutation + ": loaded, then failed to predict: " + e, e);
        }
        return scores.equals(expected) ? Outcome.LOADED_IDENTICALLY : Outcome.LOADED_CRAFTED;
    }

    private static int total(Map<Outcome, Integer> outcomes) {
        return outcomes.values().stream().mapToInt(Integer::intValue).sum();
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Double>> scores(Model<?> model) {
        List<Map<String, Double>> out = new ArrayList<>();
        for (Prediction<Label> p : ((Model<Label>) model).predict(data)) {
            Map<String, Double> byLabel = new java.util.TreeMap<>();
            p.getOutputScores().forEach((label, score) -> byLabel.put(label, score.getScore()));
            out.add(byLabel);
        }
        return out;
    }

    private static Set<PosixFilePermission> permissions(Path file) throws IOException {
        return Files.getPosixFilePermissions(file);
    }
}
