package org.xformers4j.models.tribuo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.tribuo.Example;
import org.tribuo.ImmutableFeatureMap;
import org.tribuo.MutableDataset;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.impl.ArrayExample;
import org.tribuo.provenance.SimpleDataSourceProvenance;
import org.tribuo.util.tokens.impl.SplitCharactersTokenizer;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.tensor.Tensor;

class InputEncodersTest {

    private static MutableDataset<Label> dataset(List<Example<Label>> examples) {
        MutableDataset<Label> data = new MutableDataset<>(new SimpleDataSourceProvenance("test", new LabelFactory()),
                new LabelFactory());
        data.addAll(examples);
        return data;
    }

    private static Example<Label> example(String[] names, double[] values) {
        return new ArrayExample<>(new Label("a"), names, values);
    }

    @Test
    void featureTokensStandardiseWithTrainingStatisticsAndTreatMissingAsZero() {
        List<Example<Label>> examples = List.of(
                example(new String[] {"x", "y"}, new double[] {1, 10}),
                example(new String[] {"x", "y"}, new double[] {3, 30}),
                example(new String[] {"x"}, new double[] {5}));      // y missing: 0
        MutableDataset<Label> data = dataset(examples);
        ImmutableFeatureMap map = new ImmutableFeatureMap(data.getFeatureMap());
        var module = (FeatureTokens.Module) new FeatureTokens().fit(map, examples, 4, new SplittableRandom(1));

        float[] x = module.standardised(examples).toFloatArray();   // [3, 2]
        int xId = map.getID("x");
        int yId = map.getID("y");
        double sdX = Math.sqrt(8.0 / 3);                            // x: 1, 3, 5
        double meanY = 40.0 / 3;
        double sdY = Math.sqrt((100 + 900) / 3.0 - meanY * meanY);  // y: 10, 30, 0
        assertThat(x[xId]).isCloseTo((float) ((1 - 3) / sdX), within(1e-5f));
        assertThat(x[2 * 2 + yId]).isCloseTo((float) ((0 - meanY) / sdY), within(1e-5f));

        EncoderModule.Tokens tokens = module.forward(examples);
        assertThat(tokens.embeddings().shape()).containsExactly(3, 2, 4);
        assertThat(tokens.paddingMask()).isNull();
        // token_j = x_j W_j + b_j
        float[] w = module.weight().toFloatArray();
        float[] b = module.bias().toFloatArray();
        float[] e = tokens.embeddings().toFloatArray();
        for (int d = 0; d < 4; d++) {
            assertThat(e[(2 * 2 + yId) * 4 + d]).isCloseTo(x[2 * 2 + yId] * w[yId * 4 + d] + b[yId * 4 + d], within(1e-5f));
        }
    }

    @Test
    void imagePatchesArrangePixelsAsPatchesByHand() {
        // A 4 x 4 image, 1 channel, pixel i has value i; names p0..p15 (not in id order: p10 < p2).
        String[] names = new String[16];
        double[] values = new double[16];
        for (int i = 0; i < 16; i++) {
            names[i] = "p" + i;
            values[i] = i;
        }
        List<Example<Label>> examples = List.of(example(names, values));
        ImmutableFeatureMap map = new ImmutableFeatureMap(dataset(examples).getFeatureMap());
        var module = (ImagePatches.Module) new ImagePatches(4, 4, 1, 2, 0.5f, "p").fit(map, examples, 3,
                new SplittableRandom(2));
        float[] patches = module.patches(examples).toFloatArray();  // [1, 4, 4]
        // Patch 0: rows 0-1, cols 0-1 -> pixels 0, 1, 4, 5; patch 1: 2, 3, 6, 7; patch 3: 10, 11, 14, 15.
        float[][] expected = {{0, 1, 4, 5}, {2, 3, 6, 7}, {8, 9, 12, 13}, {10, 11, 14, 15}};
        for (int p = 0; p < 4; p++) {
            for (int i = 0; i < 4; i++) {
                assertThat(patches[p * 4 + i]).isEqualTo(expected[p][i] * 0.5f);
            }
        }
        assertThat(module.forward(examples).embeddings().shape()).containsExactly(1, 4, 3);
        assertThat(module.maxTokens()).isEqualTo(4);
        assertThat(module.grid()).isEqualTo(new AttentionContext.Grid(0, 2, 2));
    }

    @Test
    void imagePatchesRejectAMismatchedFeatureMapNamingTheNumbers() {
        String[] names = new String[63];
        for (int i = 0; i < 63; i++) {
            names[i] = "p" + i;
        }
        List<Example<Label>> examples = List.of(example(names, new double[63]));
        ImmutableFeatureMap map = new ImmutableFeatureMap(dataset(examples).getFeatureMap());
        assertThatThrownBy(() -> new ImagePatches(8, 8, 1, 4, 1f, "p").fit(map, examples, 8, new SplittableRandom(3)))
                .hasMessageContaining("63 features").hasMessageContaining("= 64 pixels");
        assertThatThrownBy(() -> new ImagePatches(8, 8, 1, 3, 1f, "p"))
                .hasMessageContaining("patchSize = 3").hasMessageContaining("height = 8");
    }

    @Test
    void textTokensKeepOrderThroughTheExtractorAndPadShorterTexts() {
        var extractor = new OrderedTextExtractor<Label>(new SplitCharactersTokenizer(), true);
        List<Example<Label>> examples = new ArrayList<>();
        examples.add(extractor.extract(new Label("a"), "z y x w v u t s r q p o z"));
        examples.add(extractor.extract(new Label("b"), "Q z"));
        ImmutableFeatureMap map = new ImmutableFeatureMap(dataset(examples).getFeatureMap());
        var module = (TextTokens.Module) new TextTokens(8, 2, 100).fit(map, examples, 5, new SplittableRandom(4));
        // Only z (3 times) and q (2 times) occur twice: z gets id 2, q id 3.
        assertThat(module.vocabulary()).containsEntry("z", 2).containsEntry("q", 3).hasSize(2);
        assertThat(module.tokens(examples.get(0))).containsExactly("z y x w v u t s".split(" "));
        int[] ids = module.ids(examples);                           // [2, 8]: cut to maxLength
        assertThat(ids).containsExactly(2, 1, 1, 1, 1, 1, 1, 1,
                                        3, 2, 0, 0, 0, 0, 0, 0);
        EncoderModule.Tokens tokens = module.forward(examples);
        assertThat(tokens.embeddings().shape()).containsExactly(2, 8, 5);
        assertThat(tokens.paddingMask().toFloatArray()).containsExactly(0, 0, 0, 0, 0, 0, 0, 0,
                                                                       0, 0, 1, 1, 1, 1, 1, 1);
    }

    @Test
    void theFeatureMapIsTheVocabularyNotPositionsAndTheTextTravelsAsMetadata() {
        var extractor = new OrderedTextExtractor<Label>(new SplitCharactersTokenizer(), true);
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 2_000; i++) {
            text.append("w").append(i % 50).append(' ');             // 2,000 tokens of 50 distinct words
        }
        Example<Label> example = extractor.extract(new Label("a"), text + "The the");
        ImmutableFeatureMap map = new ImmutableFeatureMap(dataset(List.of(example)).getFeatureMap());
        assertThat(map.size()).isEqualTo(51);                          // the words, not (position, word) pairs
        assertThat(map.get("text@the")).isNotNull();
        assertThat(example.lookup("text@the").getValue()).isEqualTo(2.0);   // a bag of words: counts
        assertThat(example.lookup("text@w7").getValue()).isEqualTo(40.0);
        assertThat(OrderedTextExtractor.text(example)).contains(text + "The the");
        assertThat(OrderedTextExtractor.text(example(new String[] {"x"}, new double[] {1}))).isEmpty();
        assertThatThrownBy(() -> new TextTokens(8, 1, 100).fit(map, List.of(example(new String[] {"x"},
                new double[] {1})), 4, new SplittableRandom(1))).hasMessageContaining("has no text");
    }

    @Test
    void eachTokenizerSplitsInOrderAndBytePairsRoundTripThroughTheState() {
        var extractor = new OrderedTextExtractor<Label>(new SplitCharactersTokenizer(), true);
        List<Example<Label>> examples = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            examples.add(extractor.extract(new Label(i % 2 == 0 ? "a" : "b"), "Whales, whales and the whaler's " + i));
        }
        ImmutableFeatureMap map = new ImmutableFeatureMap(dataset(examples).getFeatureMap());
        Example<Label> first = examples.get(0);
        var words = (TextTokens.Module) new TextTokens(TextTokenizer.WORDS, 64, 1, 100).fit(map, examples, 4,
                new SplittableRandom(1));
        assertThat(words.tokens(first)).containsExactly("whales", ",", "whales", "and", "the", "whaler's", "0");
        var characters = (TextTokens.Module) new TextTokens(TextTokenizer.CHARACTERS, 64, 1, 100).fit(map, examples, 4,
                new SplittableRandom(1));
        assertThat(String.join("", characters.tokens(first))).isEqualTo("whales, whales and the whaler's 0");
        assertThat(characters.tokens(first)).hasSize(33);
        TextTokens bpeConfig = new TextTokens(TextTokenizer.BPE, 64, 1, 1000);
        var bpe = (TextTokens.Module) bpeConfig.fit(map, examples, 4, new SplittableRandom(1));
        List<String> pieces = bpe.tokens(first);
        assertThat(pieces.size()).isLessThan(33).isGreaterThan(1);     // merged pieces, fewer than characters
        assertThat(pieces).contains("Ġwhales");                        // GPT-2's printable form of " whales"
        assertThat(bpe.state()).containsKeys("tokenizer.vocab.json", "tokenizer.merges.txt");
        var restored = (TextTokens.Module) bpeConfig.restore(map, 4, bpe.state(), new SplittableRandom(2));
        assertThat(restored.tokens(first)).isEqualTo(pieces);
        assertThat(restored.vocabulary()).isEqualTo(bpe.vocabulary());
        Map<String, String> damaged = new TreeMap<>(bpe.state());
        damaged.put("tokenizer.merges.txt", "not merges");
        assertThatThrownBy(() -> bpeConfig.restore(map, 4, damaged, new SplittableRandom(2)))
                .hasMessageContaining("BPE tokenizer is malformed");
        Map<String, String> foreign = new TreeMap<>(words.state());
        foreign.put("tokenizer.vocab.json", "{}");
        assertThatThrownBy(() -> new TextTokens(8, 1, 100).restore(map, 4, foreign, new SplittableRandom(2)))
                .hasMessageContaining("a WORDS tokenizer has no saved state");
    }

    @Test
    void featureTokenGradientsReachTheWeightAndBias() {
        List<Example<Label>> examples = List.of(
                example(new String[] {"x", "y"}, new double[] {1, 2}),
                example(new String[] {"x", "y"}, new double[] {2, 5}));
        ImmutableFeatureMap map = new ImmutableFeatureMap(dataset(examples).getFeatureMap());
        var module = (FeatureTokens.Module) new FeatureTokens().fit(map, examples, 3, new SplittableRandom(5));
        Tensor loss = module.forward(examples).embeddings().sum();
        loss.backward();
        // d sum / d W_jd = sum_b x̃_bj = 0 (standardised), d sum / d b_jd = B.
        for (float g : module.weight().grad().toFloatArray()) {
            assertThat(g).isCloseTo(0f, within(1e-5f));
        }
        assertThat(module.bias().grad().toFloatArray()).containsOnly(2f);
    }
}
