package org.xformers4j.models.lm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xformers4j.component.decoding.GenerationConfig;
import org.xformers4j.decoding.GreedyDecoding;
import org.xformers4j.io.Checkpoint;
import org.xformers4j.io.FileMutations;
import org.xformers4j.models.nn.Architecture;
import org.xformers4j.models.nn.CountingRegistry;
import org.xformers4j.models.text.BytePairTokenizer;
import org.xformers4j.models.text.Tokenizer;
import org.xformers4j.registry.ComponentRegistry;

/**
 * A model directory as a whole: its files are consistent or refused (a save interrupted between
 * the tokenizer files and the weights is detected), its architecture metadata is checked against
 * the weights before anything is built, and mutated files end in a clear error or a correct load.
 */
class ModelFilesTest {

    private static final String TEXT = "the cat sat on the mat. the dog ran in the fog. ".repeat(20);
    private static final String OTHER_TEXT = "a bird sang on a branch; a fish swam in a dish! ".repeat(20);
    private static final int VOCABULARY = 266;
    private static final Architecture ARCHITECTURE = Architecture.builder().attention("flash", Map.of())
            .positional("rotary", Map.of()).modelDim(16).heads(2).hidden(32).layers(1).build();

    @TempDir
    Path dir;

    private static LanguageModel model(Tokenizer tokenizer) {
        return new LanguageModel(ARCHITECTURE, 16, tokenizer, ARCHITECTURE.decoder(ComponentRegistry.standalone(),
                tokenizer.vocabularySize(), false, new SplittableRandom(1)));
    }

    private static BytePairTokenizer bpe(String text) {
        BytePairTokenizer tokenizer = BytePairTokenizer.train(text, VOCABULARY, List.of());
        assertThat(tokenizer.vocabularySize()).isEqualTo(VOCABULARY);
        return tokenizer;
    }

    private static String greedy(TextGenerator model) {
        return model.generate("the cat", new GreedyDecoding(), GenerationConfig.builder().maxNewTokens(8).build())
                .get(0).text();
    }

    // ------------------------------------------------------------------ the directory as a whole

    @Test
    void aSaveInterruptedAfterTheTokenizerFilesIsRefusedNamingTheFileAndSavingAgainRepairsIt() throws IOException {
        LanguageModel saved = model(bpe(TEXT));
        Path directory = dir.resolve("lm");
        saved.save(directory);
        byte[] weights = Files.readAllBytes(directory.resolve(ModelFiles.WEIGHTS_FILE));

        // the crash: another model's save wrote its tokenizer files, then died before model.x4j
        bpe(OTHER_TEXT).save(directory);
        assertThat(Files.readAllBytes(directory.resolve(ModelFiles.WEIGHTS_FILE))).isEqualTo(weights);

        assertThatThrownBy(() -> TextGenerator.load(directory))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("model " + directory + ": vocab.json is not the file its model.x4j was saved with")
                .hasMessageContaining("save the model again");
        Files.write(directory.resolve("vocab.json"), ((BytePairTokenizer) saved.tokenizer()).files().get("vocab.json"));
        assertThatThrownBy(() -> TextGenerator.load(directory))
                .hasMessageContaining("merges.txt is not the file its model.x4j was saved with");

        saved.save(directory);
        TextGenerator loaded = TextGenerator.load(directory);
        assertThat(loaded.tokenizer().encode(TEXT)).containsExactly(saved.tokenizer().encode(TEXT));
        assertThat(greedy(loaded)).isEqualTo(greedy(saved));
    }

    @Test
    void aMissingTokenizerFileIsNamedWithWhatATokenizerNeeds() throws IOException {
        Path directory = dir.resolve("lm");
        model(bpe(TEXT)).save(directory);
        Files.delete(directory.resolve("merges.txt"));

        assertThatThrownBy(() -> TextGenerator.load(directory))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(directory + ": no merges.txt in it; a byte-pair tokenizer needs vocab.json and "
                        + "merges.txt");
    }

    @Test
    void aSaveThatCannotWriteSaysWhyNamingTheFile() throws IOException {
        Path file = Files.writeString(dir.resolve("taken"), "a file, not a directory");

        LanguageModel model = model(bpe(TEXT));
        assertThatThrownBy(() -> model.save(file))
                .hasMessageContaining("writing the model to " + file + " failed: " + file + ": a file is in the way");
    }

    // ------------------------------------------------------------------ architecture against weights

    /** Rewrites the weights file of {@code directory} with {@code changes} to its metadata, and a valid checksum. */
    private static void rewriteMetadata(Path directory, Map<String, String> changes) throws IOException {
        Path weights = directory.resolve(ModelFiles.WEIGHTS_FILE);
        Map<String, String> metadata = new TreeMap<>(Checkpoint.load(weights).metadata());
        metadata.putAll(changes);
        Checkpoint.save(weights, LanguageModel.load(directory).network(), null, 0, 0, metadata);
    }

    @Test
    void metadataClaimingAHugeArchitectureIsRefusedBeforeAnythingIsBuilt() throws IOException {
        Path directory = dir.resolve("lm");
        model(bpe(TEXT)).save(directory);
        rewriteMetadata(directory, Map.of("architecture.modelDim", "8192", "architecture.heads", "8",
                "architecture.hidden", "32768", "architecture.layers", "8"));

        assertThatThrownBy(() -> TextGenerator.load(directory))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("model " + directory + " does not match its architecture: 'tokenEmbedding' must be [266, "
                        + "8192] (the tokenizer's vocabulary × architecture.modelDim), but model.x4j holds [266, 16]; "
                        + "nothing was built");
    }

    @Test
    void componentOptionsClaimingAHugeTableAreRefusedBeforeItIsAllocated() throws IOException {
        Path directory = dir.resolve("lm");
        model(bpe(TEXT)).save(directory);
        // a learned position table of 10^8 × 16 floats (6.4 GB) in a file of a few kilobytes
        rewriteMetadata(directory, Map.of("architecture.positional", "learned",
                "architecture.positionalOptions.maxLength", "100000000"));

        assertThatThrownBy(() -> TextGenerator.load(directory))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("model " + directory + ": the architecture in model.x4j: building it would "
                        + "allocate more than the")
                .hasMessageContaining("[100000000, 16]");
    }

    @Test
    void metadataClaimingMoreLayersOrAWiderFeedForwardThanTheWeightsHoldIsRefused() throws IOException {
        Path directory = dir.resolve("lm");
        model(bpe(TEXT)).save(directory);
        rewriteMetadata(directory, Map.of("architecture.layers", "100000"));
        assertThatThrownBy(() -> TextGenerator.load(directory))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("does not match its architecture: architecture.modelDim = 16, hidden = 32 and "
                        + "layers = 100000 need at least 153604256 parameters, but model.x4j holds");

        model(bpe(TEXT)).save(directory);
        rewriteMetadata(directory, Map.of("architecture.hidden", "2000000000"));
        assertThatThrownBy(() -> TextGenerator.load(directory))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("hidden = 2000000000 and layers = 1 need at least");
    }

    @Test
    void missingUnknownAndMalformedArchitectureEntriesAreRefusedNamingTheEntryAndTheFile() throws IOException {
        Path directory = dir.resolve("lm");
        model(bpe(TEXT)).save(directory);
        Path weights = directory.resolve(ModelFiles.WEIGHTS_FILE);
        Map<String, String> valid = Checkpoint.load(weights).metadata();
        Map<String, String> missing = new TreeMap<>(valid);
        missing.remove("architecture.normPlacement");
        Map<String, String> unknown = new TreeMap<>(valid);
        unknown.put("architecture.placement", "PRE");
        Map<String, String> malformed = new TreeMap<>(valid);
        malformed.put("architecture.norm", "BATCH");
        Map<String, String> outOfRange = new TreeMap<>(valid);
        outOfRange.put("architecture.dropPath", "-0.5");
        Map<Map<String, String>, String> expected = Map.of(
                missing, "no 'architecture.normPlacement' entry",
                unknown, "unknown entry 'architecture.placement'",
                malformed, "'architecture.norm' = 'BATCH' is not one of",
                outOfRange, "'architecture.dropPath' = '-0.5': Architecture.dropPath = -0.5 is outside the valid range");
        org.xformers4j.nn.Module network = LanguageModel.load(directory).network();
        for (Map.Entry<Map<String, String>, String> edit : expected.entrySet()) {
            Checkpoint.save(weights, network, null, 0, 0, edit.getKey());
            assertThatThrownBy(() -> TextGenerator.load(directory)).as(edit.getValue())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("model " + weights + ": " + edit.getValue());
        }
    }

    @Test
    void aModelOfTheEarlierFormatIsRefusedNamingItsFormat() throws IOException {
        Path directory = dir.resolve("lm");
        model(bpe(TEXT)).save(directory);
        Path weights = directory.resolve(ModelFiles.WEIGHTS_FILE);
        Map<String, String> old = new TreeMap<>(Checkpoint.load(weights).metadata());
        old.remove(ModelFiles.FORMAT);
        old.put("architecture.placement", old.remove("architecture.normPlacement"));  // as format 1 wrote it
        Checkpoint.save(weights, LanguageModel.load(directory).network(), null, 0, 0, old);

        assertThatThrownBy(() -> TextGenerator.load(directory)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("model " + weights + " is in model format 1 (it has no 'model.format' entry): it was saved "
                        + "by an earlier version of xformers4j, and this version reads model format 2 only; train the "
                        + "model again");
    }

    @Test
    void theRegistryTheLoaderIsGivenCreatesTheComponents() {
        Path directory = dir.resolve("lm");
        model(bpe(TEXT)).save(directory);
        CountingRegistry registry = new CountingRegistry(ComponentRegistry.standalone());

        TextGenerator.load(directory, registry);

        assertThat(registry.created()).containsExactly("rotary", "flash");           // positions, then one per block
    }

    // ------------------------------------------------------------------ mutated files


    /**
     * Every mutation of model.x4j, as is and with its checksum made valid, loaded as a whole model
     * directory: an IllegalArgumentException naming the directory, or a model that generates as
     * the saved one does (or, only with a forged checksum, one that is well-formed but differs).
     */
    @Test
    void mutatedWeightsFilesAreRejectedClearlyOrLoadCorrectly() throws IOException {
        LanguageModel saved = model(bpe(TEXT));
        Path original = dir.resolve("lm");
        saved.save(original);
        String expected = greedy(saved);
        byte[] valid = Files.readAllBytes(original.resolve(ModelFiles.WEIGHTS_FILE));
        Path directory = dir.resolve("mutated");
        saved.save(directory);
        List<FileMutations.Mutation> mutations = FileMutations.all(valid, 120, 5);
        int rejected = 0;
        int identical = 0;
        int forged = 0;
        for (FileMutations.Mutation mutation : mutations) {
            for (boolean validChecksum : new boolean[] {false, true}) {
                byte[] bytes = mutation.bytes().clone();
                if (validChecksum && bytes.length >= 4) {
                    FileMutations.forgeTrailingCrc32(bytes);
                }
                Files.write(directory.resolve(ModelFiles.WEIGHTS_FILE), bytes);
                TextGenerator loaded;
                try {
                    loaded = TextGenerator.load(directory);
                } catch (IllegalArgumentException e) {
                    assertThat(e.getMessage()).as(mutation.description()).contains(directory.toString());
                    rejected++;
                    continue;
                }
                if (generates(loaded, expected) && loaded.provenance().equals(saved.provenance())) {
                    identical++;
                } else {
                    assertThat(validChecksum).as(mutation + " loaded a different model past the checksum").isTrue();
                    forged++;
                }
            }
        }
        System.out.printf("model.x4j (TextGenerator.load of a model directory): %d inputs from %d mutations (each also "
                + "with its CRC rewritten): %d rejected with a clear error, %d loaded and generated as saved, %d "
                + "well-formed with a forged CRC but other weights%n", 2 * mutations.size(), mutations.size(), rejected, identical, forged);
        assertThat(rejected).isGreaterThan(mutations.size());
    }

    /**
     * Whether {@code model} generates {@code expected}; a model whose weights were altered past a
     * forged checksum may refuse to generate (non-finite logits), clearly.
     */
    private static boolean generates(TextGenerator model, String expected) {
        try {
            return greedy(model).equals(expected);
        } catch (IllegalStateException e) {
            assertThat(e.getMessage()).contains("logits");
            return false;
        }
    }

    /**
     * Every mutation of vocab.json and merges.txt: loaded alone, a clear IOException naming the file
     * or a tokenizer; loaded as part of a model directory, always refused (the checksums in model.x4j).
     */
    @Test
    void mutatedTokenizerFilesAreRejectedClearlyAndNeverLoadSilentlyWithAModel() throws IOException {
        LanguageModel saved = model(bpe(TEXT));
        Path directory = dir.resolve("lm");
        saved.save(directory);
        for (String name : List.of(BytePairTokenizer.VOCAB_FILE, BytePairTokenizer.MERGES_FILE)) {
            byte[] valid = Files.readAllBytes(directory.resolve(name));
            List<FileMutations.Mutation> mutations = FileMutations.all(valid, 150, name.length());
            int rejected = 0;
            int identical = 0;
            int different = 0;
            for (FileMutations.Mutation mutation : mutations) {
                Files.write(directory.resolve(name), mutation.bytes());
                try {
                    BytePairTokenizer alone = BytePairTokenizer.load(directory);
                    if (alone.encode(TEXT + OTHER_TEXT).length == saved.tokenizer().encode(TEXT + OTHER_TEXT).length
                            && alone.decode(alone.encode(OTHER_TEXT)).equals(OTHER_TEXT)) {
                        identical++;
                    } else {
                        different++;
                    }
                } catch (IOException e) {
                    assertThat(e.getMessage()).as(mutation.description()).contains(directory.toString())
                            .containsAnyOf(BytePairTokenizer.VOCAB_FILE, BytePairTokenizer.MERGES_FILE);
                    rejected++;
                }
                assertThatThrownBy(() -> TextGenerator.load(directory)).as(mutation.description())
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining(directory.toString()).hasMessageContaining(name);
            }
            Files.write(directory.resolve(name), valid);
            System.out.printf("%s (BytePairTokenizer.load): %d mutations: %d rejected with a clear error, %d loaded "
                    + "a tokenizer that works alike, %d loaded a different valid tokenizer; through TextGenerator.load "
                    + "all %d refused by the checksum in model.x4j%n", name, mutations.size(), rejected, identical,
                    different, mutations.size());
        }
        assertThat(greedy(TextGenerator.load(directory))).isEqualTo(greedy(saved));
    }
}
