package org.xformers4j.models.command;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ConfigurableDescriptor;
import org.xformers4j.component.Hyperparameter;

/** The catalog of configurable classes {@code xformers4j describe} shows: the classes configurations name. */
class ConfigurableClassesTest {

    private final Map<String, ConfigurableDescriptor> byName = new ConfigurableClasses().configurables().stream()
            .collect(Collectors.toMap(ConfigurableDescriptor::name, Function.identity()));

    @Test
    void everyClassAnExampleConfigurationNamesIsDescribed() throws IOException {
        Set<String> described = byName.values().stream().map(ConfigurableDescriptor::implementation)
                .collect(Collectors.toSet());
        Set<String> named = new TreeSet<>();
        Pattern type = Pattern.compile("type=\"([^\"]+)\"");
        try (Stream<Path> files = Files.list(Path.of("../examples"))) {
            for (Path file : files.filter(f -> f.toString().endsWith(".xml")).toList()) {
                Matcher m = type.matcher(Files.readString(file));
                while (m.find()) {
                    named.add(m.group(1));
                }
            }
        }
        assertThat(named).isNotEmpty();
        assertThat(described).containsAll(named);
    }

    @Test
    void eachClassHasItsConfigFieldsWithTypesDefaultsAndDescriptions() {
        assertThat(byName).containsKeys("TransformerTrainer", "LanguageModelTrainer", "Seq2SeqTrainer", "Architecture",
                "Optimization", "RunSettings", "FeatureTokens", "ImagePatches", "TextTokens", "LabelHead",
                "RegressorHead", "MultiLabelHead");

        ConfigurableDescriptor trainer = byName.get("TransformerTrainer");
        assertThat(trainer.role()).isEqualTo("trainer");
        assertThat(trainer.hyperparameters()).extracting(Hyperparameter::name)
                .containsExactly("encoder", "head", "architecture", "epochs", "optimization", "run");
        Hyperparameter epochs = trainer.hyperparameters().get(3);
        assertThat(epochs.type()).isEqualTo("int");
        assertThat(epochs.defaultValue()).isEqualTo("10");
        assertThat(epochs.range()).isEqualTo("[1, 2147483647]");
        assertThat(epochs.description()).contains("passes over the training data");
        assertThat(trainer.hyperparameters().get(0).mandatory()).isTrue();
        assertThat(trainer.hyperparameters().get(2).defaultValue()).isEqualTo("(built-in)");

        // A text trainer's fields include those of the class it extends, superclass fields first.
        assertThat(byName.get("Seq2SeqTrainer").hyperparameters()).extracting(Hyperparameter::name)
                .startsWith("tokenizer", "vocabularySize", "architecture", "contextLength", "steps");
        assertThat(byName.get("LanguageModelTrainer").hyperparameters().get(0).choices())
                .containsExactly("BYTE", "BPE");
    }
}
