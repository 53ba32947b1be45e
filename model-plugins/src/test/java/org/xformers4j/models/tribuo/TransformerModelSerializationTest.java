package org.xformers4j.models.tribuo;

import org.xformers4j.train.Optimization;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tribuo.Example;
import org.tribuo.Model;
import org.tribuo.MutableDataset;
import org.tribuo.Output;
import org.tribuo.Prediction;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.impl.ArrayExample;
import org.tribuo.provenance.SimpleDataSourceProvenance;
import org.tribuo.regression.RegressionFactory;
import org.tribuo.regression.Regressor;
import org.tribuo.util.tokens.impl.SplitCharactersTokenizer;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
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
                .attention("full", Map.of()).positional("learned", Map.of("maxLength", "4"))
                .modelDim(16).heads(2).layers(2).reversible(true).feedForwardChunkSize(7)
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
                .attention("linformer", Map.of("k", "3", "maxLength", "5", "sharing", "LAYERWISE"))
                .positional("learned", Map.of("maxLength", "4"))
                .modelDim(16).heads(2).layers(3).epochs(2)
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
                .attention("full", Map.of()).modelDim(16).heads(2).layers(1).epochs(3)
                .run(TransformerTrainer.runDefaults().batchSize(16).seed(3).build()).build()
                .train(data);
        TransformerModel<Regressor> model = new TransformerModel<>("with-top-features", trained.getProvenance(),
                trained.getFeatureIDMap(), trained.getOutputIDInfo(), trained.generatesProbabilities(),
                trained.network(), new RegressorHead().fit(trained.getOutputIDInfo()), 16, data.getData());
        assertThat(model.getTopFeatures(-1)).isNotEmpty();

        roundTrip(model, data, dir.resolve("regression.tribuo"));
    }

    @Test
    void textTokenModelRoundTripsWithItsVocabulary(@TempDir Path dir) throws IOException {
        OrderedTextExtractor<Label> extractor = new OrderedTextExtractor<>(new SplitCharactersTokenizer(), true);
        MutableDataset<Label> data = new MutableDataset<>(new SimpleDataSourceProvenance("texts", LABELS), LABELS);
        for (String text : new String[] {"good film good cast", "bad film", "good plot", "bad bad acting",
            "a good one", "a bad one", "good", "bad"}) {
            data.add(extractor.extract(new Label(text.contains("good") ? "pos" : "neg"), text));
        }
        TransformerModel<Label> model = TransformerTrainer.builder(new TextTokens(8, 1, 100), new LabelHead())
                .attention("full", Map.of()).positional("learned", Map.of("maxLength", "8"))
                .modelDim(16).heads(2).layers(1).epochs(3)
                .run(TransformerTrainer.runDefaults().batchSize(4).seed(4).build()).build().train(data);
        List<Example<Label>> unseen = new ArrayList<>(data.getData());
        unseen.add(extractor.extract(new Label("pos"), "an unseen good text"));

        roundTrip(model, unseen, dir.resolve("text.tribuo"));
    }

    @Test
    void aFlippedBitAnywhereInTheModelDataIsRefusedByTheChecksum(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("model.tribuo");
        imageModel().serializeToFile(file);
        byte[] bytes = Files.readAllBytes(file);
        int magic = indexOf(bytes, "X4JTMDL".getBytes());
        int weights = bytes.length - 100;                                     // among the last parameter's floats
        int provenance = indexOf(bytes, "learningRate".getBytes());           // in the metadata's trainer provenance
        assertThat(magic).isPositive();
        assertThat(provenance).isPositive();

        for (int position : new int[] {magic, weights, provenance}) {
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
    void craftedNetworkDataWithACorrectChecksumFailsWithAClearError(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("model.tribuo");
        imageModel().serializeToFile(file);
        byte[] bytes = Files.readAllBytes(file);

        Path badMagic = Files.write(dir.resolve("bad-magic.tribuo"), CraftedModels.withNetwork(bytes, network -> {
            network[0] = 'Y';
            return network;
        }));
        assertThatThrownBy(() -> Model.deserializeFromFile(badMagic))
                .rootCause().isInstanceOf(IllegalStateException.class).hasMessageContaining("does not start with the magic");

        Path badVersion = Files.write(dir.resolve("bad-version.tribuo"),
                CraftedModels.withNetwork(bytes, network -> CraftedModels.withInt(network, 8, 7)));
        assertThatThrownBy(() -> Model.deserializeFromFile(badVersion))
                .rootCause().isInstanceOf(IllegalStateException.class).hasMessageContaining("network data format 7");
    }

    @Test
    void aSmallFileClaimingAHugeArchitectureIsRefusedBeforeAllocating(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("model.tribuo");
        imageModel().serializeToFile(file);                                   // modelDim 16, heads 2, hidden 64
        byte[] bytes = Files.readAllBytes(file);

        // modelDim 8192 with 8 heads and hidden 32768: 2 layers of about 0.7 G floats each.
        Path huge = Files.write(dir.resolve("huge.tribuo"), CraftedModels.withNetwork(bytes, network -> {
            int at = CraftedModels.architectureOffset(network);
            CraftedModels.withInt(network, at, 8192);
            CraftedModels.withInt(network, at + 4, 8);
            return CraftedModels.withInt(network, at + 8, 32768);
        }));
        assertThat(Files.size(huge)).isLessThan(100_000);

        assertThatThrownBy(() -> Model.deserializeFromFile(huge))
                .rootCause().isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("modelDim 8192, hidden 32768, 2 layers")
                .hasMessageContaining("does not match the saved weights");
    }

    @Test
    void aSmallFileWhosePositionTableOptionIsHugeIsRefusedBeforeAllocating(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("model.tribuo");
        imageModel().serializeToFile(file);                       // learned positions, maxLength "4", modelDim 16
        byte[] bytes = Files.readAllBytes(file);
        byte[] four = {0, 9, 'm', 'a', 'x', 'L', 'e', 'n', 'g', 't', 'h', 0, 1, '4'};
        byte[] huge = {0, 9, 'm', 'a', 'x', 'L', 'e', 'n', 'g', 't', 'h', 0, 9, '1', '0', '0', '0', '0', '0', '0', '0', '0'};
        // a learned position table of 10^8 × 16 floats (6.4 GB) in a file of a few kilobytes
        Path crafted = Files.write(dir.resolve("huge.tribuo"), CraftedModels.withNetwork(bytes,
                network -> splice(network, four, huge)));

        assertThatThrownBy(() -> TribuoModelFiles.load(crafted))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("model " + crafted)
                .hasMessageContaining("building it would allocate more than the")
                .hasMessageContaining("[100000000, 16]");
    }

    /** {@code bytes} with the one occurrence of {@code from} replaced by {@code to}. */
    private static byte[] splice(byte[] bytes, byte[] from, byte[] to) {
        int at = -1;
        for (int i = 0; i + from.length <= bytes.length && at < 0; i++) {
            if (Arrays.equals(bytes, i, i + from.length, from, 0, from.length)) {
                at = i;
            }
        }
        assertThat(at).as("option found").isNotNegative();
        byte[] out = new byte[bytes.length - from.length + to.length];
        System.arraycopy(bytes, 0, out, 0, at);
        System.arraycopy(to, 0, out, at, to.length);
        System.arraycopy(bytes, at + from.length, out, at + to.length, bytes.length - at - from.length);
        return out;
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
        }, network -> network));
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
        // The blob's int batchSize follows the architecture (see TransformerModelSerializer).
        Path crafted = Files.write(dir.resolve("batch.tribuo"), CraftedModels.withNetwork(Files.readAllBytes(file),
                network -> CraftedModels.withInt(network, CraftedModels.batchSizeOffset(network), Integer.MAX_VALUE)));

        Model<?> loaded = Model.deserializeFromFile(crafted);
        @SuppressWarnings("unchecked")
        List<Prediction<Label>> predictions = ((Model<Label>) loaded).predict(data);
        assertThat(predictions).hasSameSizeAs(model.predict(data));
    }

    @Test
    void parametersThatDoNotFitTheArchitectureAreRejectedNamingTheParameter(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("model.tribuo");
        imageModel().serializeToFile(file);                                   // output.weight is [2, 16]
        byte[] name = ("\0\15" + "output.weight").getBytes();                // writeUTF: 2-byte length, then the name
        Path swapped = Files.write(dir.resolve("swapped.tribuo"),
                CraftedModels.withNetwork(Files.readAllBytes(file), bytes -> {
                    int rank = indexOf(bytes, name) + name.length;            // then int rank, int sizes
                    assertThat(Arrays.copyOfRange(bytes, rank, rank + 12))
                            .containsExactly(0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 16);
                    bytes[rank + 7] = 16;                                     // [16, 2]: as many values
                    bytes[rank + 11] = 2;
                    return bytes;
                }));

        assertThatThrownBy(() -> Model.deserializeFromFile(swapped))
                .rootCause().isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'output.weight' has shape [16, 2]");
        assertThatThrownBy(() -> Model.deserializeFromFile(swapped)).cause().cause()
                .hasMessageContaining("do not fit the saved architecture")
                .hasMessageContaining("'output.weight' has shape [16, 2]");
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
