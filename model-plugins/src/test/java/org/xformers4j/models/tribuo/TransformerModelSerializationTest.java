package org.xformers4j.models.tribuo;

import org.xformers4j.train.Optimization;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;
import org.tribuo.Example;
import org.tribuo.Model;
import org.tribuo.MutableDataset;
import org.tribuo.Output;
import org.tribuo.Prediction;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.impl.ArrayExample;
import org.tribuo.protos.core.ModelProto;
import org.tribuo.provenance.SimpleDataSourceProvenance;
import org.tribuo.regression.RegressionFactory;
import org.tribuo.regression.Regressor;
import org.tribuo.util.tokens.impl.SplitCharactersTokenizer;
import org.xformers4j.io.Checkpoint;
import org.xformers4j.models.nn.Architecture;
import org.xformers4j.models.nn.CountingRegistry;
import org.xformers4j.nn.ParameterState;
import org.xformers4j.registry.ComponentRegistry;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Tribuo protobuf round trips of {@link TransformerModel} through {@link Model#serializeToFile} and
 * {@link Model#deserializeFromFile}, for each input encoder; damaged files (refused by the checksum)
 * and crafted ones (a correct checksum over bad content: refused by the checks behind it, never
 * instantiating a class the file names or allocating what it claims).
 */
class TransformerModelSerializationTest {

    private static final LabelFactory LABELS = new LabelFactory();

    /** 120 examples of 16 uniform pixels px0…px15, labelled by whether px0 + px5 > 1. */
    private static MutableDataset<Label> images() {
        SplittableRandom rng = new SplittableRandom(5);
        String[] names = new String[16];
        for (int i = 0; i < 16; i++) {
            names[i] = "px" + i;
        }
        MutableDataset<Label> data = new MutableDataset<>(new SimpleDataSourceProvenance("images", LABELS), LABELS);
        for (int n = 0; n < 120; n++) {
            double[] x = new double[16];
            for (int i = 0; i < 16; i++) {
                x[i] = rng.nextDouble();
            }
            data.add(new ArrayExample<>(new Label(x[0] + x[5] > 1 ? "pos" : "neg"), names, x));
        }
        return data;
    }

    private static TransformerModel<Label> imageModel() {
        return TransformerTrainer.builder(new ImagePatches(4, 4, 1, 2, 1f, "px"), new LabelHead())
                .architecture(Architecture.builder().attention("full", Map.of())
                        .positional("learned", Map.of("maxLength", "4")).modelDim(16).heads(2).layers(2)
                        .reversible(true).feedForwardChunkSize(7).build())
                .epochs(3)
                .run(TransformerTrainer.runDefaults().batchSize(32).seed(1).build())
                .optimization(Optimization.builder().learningRate(3e-3f).build()).build()
                .train(images());
    }

    /** Loads {@code model} back from a file and checks that it predicts and describes itself identically. */
    private static <T extends Output<T>> TransformerModel<?> roundTrip(TransformerModel<T> model, Iterable<Example<T>> data,
                                                                      Path file) throws IOException {
        model.serializeToFile(file);
        Model<?> loaded = Model.deserializeFromFile(file);

        assertThat(loaded).isInstanceOf(TransformerModel.class);
        @SuppressWarnings("unchecked")
        TransformerModel<T> copy = (TransformerModel<T>) loaded;
        assertThat(copy.getName()).isEqualTo(model.getName());
        assertThat(copy.getProvenance()).isEqualTo(model.getProvenance());
        assertThat(copy.getFeatureIDMap()).isEqualTo(model.getFeatureIDMap());
        assertThat(copy.getOutputIDInfo()).isEqualTo(model.getOutputIDInfo());
        assertThat(copy.generatesProbabilities()).isEqualTo(model.generatesProbabilities());
        assertThat(copy.getTopFeatures(-1)).isEqualTo(model.getTopFeatures(-1));
        List<Prediction<T>> expected = model.predict(data);
        List<Prediction<T>> actual = copy.predict(data);
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < expected.size(); i++) {
            assertThat(actual.get(i).getOutput().fullEquals(expected.get(i).getOutput()))
                    .as("prediction %d: %s vs %s", i, actual.get(i).getOutput(), expected.get(i).getOutput()).isTrue();
            assertThat(actual.get(i).getOutputScores()).isEqualTo(expected.get(i).getOutputScores());
            for (Map.Entry<String, T> score : expected.get(i).getOutputScores().entrySet()) {
                assertThat(actual.get(i).getOutputScores().get(score.getKey()).fullEquals(score.getValue())).isTrue();
            }
        }
        return copy;
    }

    @Test
    void reversibleChunkedImagePatchModelWithLearnedPositionsRoundTripsThroughAFile(@TempDir Path dir)
            throws IOException {
        MutableDataset<Label> data = images();
        TransformerModel<?> copy = roundTrip(imageModel(), data, dir.resolve("images.tribuo"));
        assertThat(copy.network().encoder().config().reversible()).isTrue();
        assertThat(copy.network().encoder().config().block().feedForwardChunkSize()).isEqualTo(7);
    }

    @Test
    void linformerModelKeepsItsOneLayerwiseProjectionThroughAFile(@TempDir Path dir) throws IOException {
        MutableDataset<Label> data = images();
        // 4 patches and the CLS token: 5 positions
        TransformerModel<Label> model = TransformerTrainer.builder(new ImagePatches(4, 4, 1, 2, 1f, "px"),
                        new LabelHead())
                .architecture(Architecture.builder()
                        .attention("linformer", Map.of("k", "3", "maxLength", "5", "sharing", "LAYERWISE"))
                        .positional("learned", Map.of("maxLength", "4")).modelDim(16).heads(2).layers(3).build())
                .epochs(2)
                .run(TransformerTrainer.runDefaults().batchSize(32).seed(1).build())
                .optimization(Optimization.builder().learningRate(3e-3f).build()).build()
                .train(data);
        TransformerModel<?> copy = roundTrip(model, data, dir.resolve("linformer.tribuo"));
        assertThat(copy.network().namedParameters().keySet())
                .filteredOn(name -> name.toLowerCase(Locale.ROOT).endsWith("projection"))
                .containsExactly("encoder.blocks.attentionShared.linformerProjection");
    }

    @Test
    void featureTokenRegressionModelWithTopFeaturesRoundTrips(@TempDir Path dir) throws IOException {
        RegressionFactory factory = new RegressionFactory();
        MutableDataset<Regressor> data = new MutableDataset<>(new SimpleDataSourceProvenance("linear", factory),
                factory);
        SplittableRandom rng = new SplittableRandom(2);
        String[] names = {"a", "b", "c"};
        for (int n = 0; n < 100; n++) {
            double[] x = {rng.nextDouble(), rng.nextDouble(), rng.nextDouble()};
            data.add(new ArrayExample<>(new Regressor(new String[] {"y", "z"}, new double[] {2 * x[0] - x[1], x[2]}),
                    names, x));
        }
        TransformerModel<Regressor> trained = TransformerTrainer.builder(new FeatureTokens(), new RegressorHead())
                .architecture(Architecture.builder().attention("full", Map.of()).modelDim(16).heads(2).layers(1)
                        .build()).epochs(3)
                .run(TransformerTrainer.runDefaults().batchSize(16).seed(3).build()).build()
                .train(data);
        TransformerModel<Regressor> model = new TransformerModel<>("with-top-features", trained.getProvenance(),
                trained.getFeatureIDMap(), trained.getOutputIDInfo(), trained.generatesProbabilities(),
                trained.network(), new RegressorHead().fit(trained.getOutputIDInfo()), 16, data.getData());
        assertThat(model.getTopFeatures(-1)).isNotEmpty();

        roundTrip(model, data, dir.resolve("regression.tribuo"));
    }

    @ParameterizedTest
    @EnumSource(TextTokenizer.class)
    void textTokenModelRoundTripsWithItsVocabularyAndTokenizer(TextTokenizer tokenizer, @TempDir Path dir)
            throws IOException {
        OrderedTextExtractor<Label> extractor = new OrderedTextExtractor<>(new SplitCharactersTokenizer(), true);
        MutableDataset<Label> data = new MutableDataset<>(new SimpleDataSourceProvenance("texts", LABELS), LABELS);
        for (String text : new String[] {"good film good cast", "bad film", "good plot", "bad bad acting",
            "a good one", "a bad one", "good", "bad"}) {
            data.add(extractor.extract(new Label(text.contains("good") ? "pos" : "neg"), text));
        }
        TransformerModel<Label> model = TransformerTrainer.builder(new TextTokens(tokenizer, 8, 1, 300), new LabelHead())
                .architecture(Architecture.builder().attention("full", Map.of())
                        .positional("learned", Map.of("maxLength", "8")).modelDim(16).heads(2).layers(1).build())
                .epochs(3)
                .run(TransformerTrainer.runDefaults().batchSize(4).seed(4).build()).build().train(data);
        List<Example<Label>> unseen = new ArrayList<>(data.getData());
        unseen.add(extractor.extract(new Label("pos"), "an unseen good text"));

        roundTrip(model, unseen, dir.resolve("text.tribuo"));
    }

    @Test
    void theModelDataAreAModelX4jCheckpointHoldingTheArchitecture(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("model.tribuo");
        TransformerModel<Label> model = imageModel();
        model.serializeToFile(file);

        Checkpoint checkpoint = Checkpoint.read(CraftedModels.checkpointBytes(Files.readAllBytes(file)), "field 2");
        assertThat(checkpoint.metadata()).containsAllEntriesOf(model.network().architecture().toMetadata())
                .containsEntry("model.kind", TransformerModelSerializer.KIND)
                .containsEntry("tribuo.outputs", "2");
        assertThat(Architecture.fromMetadata(checkpoint.metadata())).isEqualTo(model.network().architecture());
        assertThat(checkpoint.modelState()).isEqualTo(model.network().stateDict());
    }

    @Test
    void aFlippedBitAnywhereInTheModelDataIsRefusedByTheChecksum(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("model.tribuo");
        imageModel().serializeToFile(file);
        byte[] bytes = Files.readAllBytes(file);
        int magic = indexOf(bytes, "X4JCKPT".getBytes());                    // the checkpoint's
        int architecture = indexOf(bytes, "architecture.modelDim".getBytes()); // its metadata
        int weights = bytes.length - 100;                                     // among the last parameters' floats
        int provenance = indexOf(bytes, "learningRate".getBytes());           // in the metadata's trainer provenance
        assertThat(magic).isPositive();
        assertThat(architecture).isPositive();
        assertThat(provenance).isPositive();

        for (int position : new int[] {magic, architecture, weights, provenance}) {
            byte[] flipped = bytes.clone();
            flipped[position] ^= 1;
            Path damaged = Files.write(dir.resolve("flipped-" + position + ".tribuo"), flipped);
            // Tribuo's ProtoUtil wraps what deserializeFromProto throws: the model's own error is the root cause.
            assertThatThrownBy(() -> Model.deserializeFromFile(damaged))
                    .rootCause().isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("SHA-256 checksum does not match");
        }

        Path truncated = Files.write(dir.resolve("truncated.tribuo"), Arrays.copyOf(bytes, bytes.length / 2));
        assertThatThrownBy(() -> Model.deserializeFromFile(truncated)).isInstanceOf(IOException.class);
    }

    @Test
    void aCraftedCheckpointWithACorrectChecksumFailsWithTheCheckpointsError(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("model.tribuo");
        imageModel().serializeToFile(file);
        byte[] bytes = Files.readAllBytes(file);

        Path badMagic = Files.write(dir.resolve("bad-magic.tribuo"), CraftedModels.withCheckpointBytes(bytes, c -> {
            c[0] = 'Y';
            return c;
        }));
        assertThatThrownBy(() -> TribuoModelFiles.load(badMagic)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("model " + badMagic + ": cannot be loaded as a " + TransformerModel.class.getName()
                        + ": TransformerModel: the model's checkpoint (field 2): not an xformers4j checkpoint (bad magic)");

        Path badCrc = Files.write(dir.resolve("bad-crc.tribuo"), CraftedModels.withCheckpointBytes(bytes, c -> {
            c[c.length / 2] ^= 1;
            return c;
        }));
        assertThatThrownBy(() -> Model.deserializeFromFile(badCrc))
                .rootCause().hasMessageContaining("the model's checkpoint (field 2): checksum mismatch");
    }

    @Test
    void aModelOfTheEarlierFormatIsRefusedNamingItsVersion(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("model.tribuo");
        imageModel().serializeToFile(file);
        Path old = Files.write(dir.resolve("old.tribuo"), ModelProto.parseFrom(Files.readAllBytes(file)).toBuilder()
                .setVersion(0).build().toByteArray());

        assertThatThrownBy(() -> TribuoModelFiles.load(old)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("model " + old)
                .hasMessageContaining("serialization version 0 was written by an earlier version of xformers4j")
                .hasMessageContaining("train the model again");
        assertThatThrownBy(() -> Model.deserializeFromFile(old)).rootCause()
                .hasMessageContaining("serialization version 0 was written by an earlier version of xformers4j");
    }

    @Test
    void missingUnknownAndMalformedEntriesAreRefusedNamingThem(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("model.tribuo");
        imageModel().serializeToFile(file);
        byte[] bytes = Files.readAllBytes(file);
        Map<String, java.util.function.Consumer<Map<String, String>>> edits = new java.util.LinkedHashMap<>();
        edits.put("no 'architecture.modelDim' entry", m -> m.remove("architecture.modelDim"));
        edits.put("unknown entry 'architecture.placement'", m -> m.put("architecture.placement", "PRE"));
        edits.put("unknown entry 'architecture2.x'", m -> m.put("architecture2.x", "1"));
        edits.put("'architecture.heads' = 'two' is not an int", m -> m.put("architecture.heads", "two"));
        edits.put("'architecture.heads' = '3': heads = 3 must divide modelDim = 16", m -> m.put("architecture.heads", "3"));
        edits.put("'architecture.dropout' = '1.5': Architecture.dropout = 1.5 is outside the valid range [0, 1)",
                m -> m.put("architecture.dropout", "1.5"));
        edits.put("attention = 'no-such-attention'", m -> m.put("architecture.attention", "no-such-attention"));
        edits.put("'tribuo.batchSize' = '0' is not a positive int", m -> m.put("tribuo.batchSize", "0"));
        edits.put("'model.kind' is 'causal-lm', expected 'tribuo-transformer'", m -> m.put("model.kind", "causal-lm"));
        for (Map.Entry<String, java.util.function.Consumer<Map<String, String>>> edit : edits.entrySet()) {
            Path crafted = Files.write(dir.resolve("crafted.tribuo"), CraftedModels.withMetadata(bytes, edit.getValue()));
            assertThatThrownBy(() -> TribuoModelFiles.load(crafted)).as(edit.getKey())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("model " + crafted + ": cannot be loaded as a "
                            + TransformerModel.class.getName() + ": TransformerModel: the model's checkpoint (field 2): ")
                    .hasMessageContaining(edit.getKey());
        }
    }

    @Test
    void aSmallFileClaimingAHugeArchitectureIsRefusedBeforeAllocating(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("model.tribuo");
        imageModel().serializeToFile(file);                                   // modelDim 16, heads 2, hidden 64
        byte[] bytes = Files.readAllBytes(file);

        // modelDim 8192 with 8 heads and hidden 32768: 2 layers of about 0.7 G floats each.
        Path huge = Files.write(dir.resolve("huge.tribuo"), CraftedModels.withMetadata(bytes, m -> {
            m.put("architecture.modelDim", "8192");
            m.put("architecture.heads", "8");
            m.put("architecture.hidden", "32768");
        }));
        assertThat(Files.size(huge)).isLessThan(100_000);

        assertThatThrownBy(() -> Model.deserializeFromFile(huge))
                .rootCause().isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("modelDim 8192, hidden 32768, 2 layers")
                .hasMessageContaining("does not match the saved weights");
    }

    @Test
    void aSmallFileWhosePositionTableOptionIsHugeIsRefusedBeforeAllocating(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("model.tribuo");
        imageModel().serializeToFile(file);                       // learned positions, maxLength "4", modelDim 16
        // a learned position table of 10^8 × 16 floats (6.4 GB) in a file of a few kilobytes
        Path crafted = Files.write(dir.resolve("huge.tribuo"), CraftedModels.withMetadata(Files.readAllBytes(file),
                m -> m.put("architecture.positionalOptions.maxLength", "100000000")));

        assertThatThrownBy(() -> TribuoModelFiles.load(crafted))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("model " + crafted)
                .hasMessageContaining("building it would allocate more than the")
                .hasMessageContaining("[100000000, 16]");
    }

    @Test
    void aProvenanceNamingAnotherClassIsRefusedBeforeOlcutInstantiatesIt(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("model.tribuo");
        imageModel().serializeToFile(file);
        byte[] bytes = Files.readAllBytes(file);
        byte[] head = LabelHead.class.getName().getBytes(StandardCharsets.UTF_8);
        byte[] other = Intruders.class.getName().getBytes(StandardCharsets.UTF_8);
        assertThat(other).hasSameSizeAs(head);                                // keeps the protobuf lengths valid

        Path crafted = Files.write(dir.resolve("crafted.tribuo"), CraftedModels.resealed(bytes, metadata -> {
            for (int at = indexOf(metadata, head); at >= 0; at = indexOf(metadata, head)) {
                System.arraycopy(other, 0, metadata, at, other.length);
            }
            return metadata;
        }, checkpoint -> checkpoint));
        Intruders.instances.set(0);

        assertThatThrownBy(() -> Model.deserializeFromFile(crafted))
                .rootCause().isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("names class " + Intruders.class.getName())
                .hasMessageContaining(LabelHead.class.getName());
        assertThat(Intruders.instances).hasValue(0);
    }

    @Test
    void aHugeSavedBatchSizeAllocatesNothingUpFront(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("model.tribuo");
        MutableDataset<Label> data = images();
        TransformerModel<Label> model = imageModel();
        model.serializeToFile(file);
        Path crafted = Files.write(dir.resolve("batch.tribuo"), CraftedModels.withMetadata(Files.readAllBytes(file),
                m -> m.put("tribuo.batchSize", Integer.toString(Integer.MAX_VALUE))));

        Model<?> loaded = Model.deserializeFromFile(crafted);
        @SuppressWarnings("unchecked")
        List<Prediction<Label>> predictions = ((Model<Label>) loaded).predict(data);
        assertThat(predictions).hasSameSizeAs(model.predict(data));
    }

    @Test
    void parametersThatDoNotFitTheArchitectureAreRejectedNamingTheParameter(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("model.tribuo");
        imageModel().serializeToFile(file);                                   // output.weight is [2, 16]
        Path swapped = Files.write(dir.resolve("swapped.tribuo"),
                CraftedModels.withCheckpoint(Files.readAllBytes(file), checkpoint -> {
                    Map<String, ParameterState> state = new java.util.LinkedHashMap<>(checkpoint.modelState());
                    ParameterState weight = state.get("output.weight");
                    assertThat(weight.shape()).containsExactly(2, 16);
                    state.put("output.weight", new ParameterState(new int[] {16, 2}, weight.values()));
                    return checkpoint.withModelState(state);
                }));

        assertThatThrownBy(() -> Model.deserializeFromFile(swapped))
                .rootCause().isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'output.weight' has shape [16, 2]");
        assertThatThrownBy(() -> TribuoModelFiles.load(swapped))
                .hasMessageContaining("the saved parameters do not fit the saved architecture")
                .hasMessageContaining("'output.weight' has shape [16, 2]");
    }

    @Test
    void theRegistryTheLoaderIsGivenCreatesTheComponents(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("model.tribuo");
        imageModel().serializeToFile(file);
        CountingRegistry registry = new CountingRegistry(ComponentRegistry.standalone());

        TribuoModelFiles.load(file, registry);

        assertThat(registry.created()).containsExactly("learned", "full", "full");   // positions, then one per block
    }

    static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
