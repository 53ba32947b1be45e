package org.xformers4j.decoding;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.xformers4j.decoding.TableLanguageModel.EOS;
import static org.xformers4j.decoding.TableLanguageModel.ids;
import static org.xformers4j.decoding.TableLanguageModel.words;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.ComponentKind;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.Hyperparameter;
import org.xformers4j.component.decoding.GeneratedSequence;
import org.xformers4j.component.decoding.GenerationConfig;
import org.xformers4j.decoding.BeamSearchDecoding.EarlyStopping;

class DiverseBeamSearchDecodingTest {

    private static GenerationConfig untilEos(int numReturnSequences) {
        return GenerationConfig.builder().endToken(EOS).numReturnSequences(numReturnSequences).build();
    }

    private static List<String> texts(List<GeneratedSequence> sequences) {
        return sequences.stream().map(s -> words(s.tokens())).toList();
    }

    @Test
    void withoutPenaltyGroupsOfOneBeamAllRepeatGreedyDecoding() {
        List<GeneratedSequence> out = new DiverseBeamSearchDecoding(3, 3, 0.0)
                .generate(new TableLanguageModel(), new int[][] {ids("The")}, untilEos(3)).get(0);

        assertThat(texts(out)).containsExactly("nice woman <eos>", "nice woman <eos>", "nice woman <eos>");
        assertThat(out).allSatisfy(s -> assertThat(s.logProbability()).isCloseTo(Math.log(0.2), within(1e-6)));
    }

    @Test
    void thePenaltySendsTheSecondGroupElsewhere() {
        TableLanguageModel model = new TableLanguageModel();
        List<GeneratedSequence> out = new DiverseBeamSearchDecoding(2, 2, 0.5)
                .generate(model, new int[][] {ids("The")}, untilEos(2)).get(0);

        // Group 0 takes "nice" (ln 0.5 = -0.69); for group 1 "nice" costs -0.69 - 0.5 < "dog" at ln 0.4 = -0.92.
        assertThat(texts(out)).containsExactly("dog has <eos>", "nice woman <eos>");
        assertThat(Math.exp(out.get(0).logProbability())).isCloseTo(0.36, within(1e-6));
        assertThat(out.get(0).score()).isCloseTo(Math.log(0.36) / 3, within(1e-6));
        // One row per group; group 0's beam is row 0 at every step, group 1's row 1 after the first.
        assertThat(model.origins()).containsExactly(new int[] {0, 0}, new int[] {0, 1});
    }

    @Test
    void thePenaltyEntersTheScoreButNotTheLogProbability() {
        List<GeneratedSequence> out = new DiverseBeamSearchDecoding(2, 2, 0.2)
                .generate(new TableLanguageModel(), new int[][] {ids("The")}, untilEos(2)).get(0);

        // Group 1: "nice" at -0.69 - 0.2 still beats "dog" at -0.92, then "woman" at ln 0.4 - 0.2 beats "house"
        // at ln 0.3; <eos> is free since group 0 finished rather than chose it as a running beam.
        assertThat(texts(out)).containsExactly("nice woman <eos>", "nice woman <eos>");
        assertThat(out.get(0).score()).isCloseTo(Math.log(0.2) / 3, within(1e-6));
        assertThat(out.get(1).score()).isCloseTo((Math.log(0.2) - 0.4) / 3, within(1e-6));
        assertThat(out.get(1).logProbability()).isCloseTo(Math.log(0.2), within(1e-6));
    }

    @Test
    void oneGroupIsBeamSearch() {
        int[][] prompts = {ids("The"), ids("The dog"), ids("The nice")};
        for (int beams = 1; beams <= 4; beams++) {
            GenerationConfig config = untilEos(beams);
            assertThat(new DiverseBeamSearchDecoding(beams, 1, 5.0, 0.5, EarlyStopping.NEVER, 2)
                    .generate(new TableLanguageModel(), prompts, config))
                    .as("%d beams", beams)
                    .isEqualTo(new BeamSearchDecoding(beams, 0.5, EarlyStopping.NEVER, 2)
                            .generate(new TableLanguageModel(), prompts, config));
        }
    }

    @Test
    void eachGroupKeepsItsOwnHypothesesAndThePromptReturnsTheBestOverAll() {
        // Two groups of two beams: group 0 finds "dog has <eos>" and "nice woman <eos>". Group 1, penalised
        // by 10 for "nice" and "dog", runs "car" and the penalised "nice"; then "car <eos>" finishes and,
        // penalised for "woman", "nice" goes on with "house" and "guy" (tied, "house" kept first).
        List<GeneratedSequence> out = new DiverseBeamSearchDecoding(4, 2, 10.0)
                .generate(new TableLanguageModel(), new int[][] {ids("The")}, untilEos(4)).get(0);

        assertThat(texts(out)).containsExactly("dog has <eos>", "nice woman <eos>", "car <eos>", "nice house <eos>");
        assertThat(out.get(2).score()).isCloseTo(Math.log(0.1) / 2, within(1e-6));
        assertThat(out.get(3).score()).isCloseTo((Math.log(0.15) - 10) / 3, within(1e-6));
    }

    @Test
    void theProviderDescribesAndValidatesTheGroups() {
        ComponentDescriptor d = new DiverseBeamSearchDecodingProvider().descriptor();

        assertThat(d.name()).isEqualTo("diverse-beam");
        assertThat(d.kind()).isEqualTo(ComponentKind.DECODING);
        assertThat(d.reference()).contains("Vijayakumar").contains("2018");
        assertThat(d.hyperparameters()).extracting(Hyperparameter::name).containsExactly("numBeams", "lengthPenalty",
                "earlyStopping", "noRepeatNgramSize", "numBeamGroups", "diversityPenalty");
        assertThat(d.capabilityMap()).containsExactly(
                Map.entry("greedyWhen", List.of("numBeams=1", "numBeamGroups=1")),
                Map.entry("multipleHypotheses", true), Map.entry("stochastic", false));

        DiverseBeamSearchDecoding configured = new DiverseBeamSearchDecodingProvider()
                .create(Map.of("numBeams", "2", "numBeamGroups", "2", "diversityPenalty", "0.5"));
        assertThat(texts(configured.generate(new TableLanguageModel(), new int[][] {ids("The")}, untilEos(2)).get(0)))
                .containsExactly("dog has <eos>", "nice woman <eos>");

        assertThatThrownBy(() -> new DiverseBeamSearchDecodingProvider().create(Map.of("numBeams", "4", "numBeamGroups", "3")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("diverse-beam.numBeamGroups = 3 does not divide numBeams = 4");
        assertThatThrownBy(() -> new DiverseBeamSearchDecoding(4, 0, 1.0))
                .isInstanceOf(PropertyException.class).hasMessageContaining("diverse-beam.numBeamGroups = 0 is outside");
        assertThatThrownBy(() -> new DiverseBeamSearchDecoding(4, 2, -1.0))
                .isInstanceOf(PropertyException.class).hasMessageContaining("diverse-beam.diversityPenalty = -1.0 is outside");
        assertThatThrownBy(() -> new DiverseBeamSearchDecoding(2, 2, 1.0)
                .generate(new TableLanguageModel(), new int[][] {ids("The")}, untilEos(3)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("diverse-beam keeps numBeams = 2 hypotheses per prompt; numReturnSequences 3 is more");
    }

    @Test
    void serviceLoaderFindsTheProvider() {
        assertThat(ServiceLoader.load(ComponentProvider.class).stream().map(ServiceLoader.Provider::get))
                .anySatisfy(p -> {
                    assertThat(p).isInstanceOf(DiverseBeamSearchDecodingProvider.class);
                    assertThat(p.descriptor().name()).isEqualTo("diverse-beam");
                });
    }
}
