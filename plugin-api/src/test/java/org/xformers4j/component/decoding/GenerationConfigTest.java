package org.xformers4j.component.decoding;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class GenerationConfigTest {

    @Test
    void toBuilderKeepsEverySettingAndChangesOnlyWhatIsSet() {
        LogitsProcessor processor = (tokens, generated, logits) -> { };
        StoppingCriterion criterion = (tokens, generated) -> false;
        TokenListener listener = (prompt, token) -> { };
        GenerationConfig original = GenerationConfig.builder().maxNewTokens(7).seed(42).numReturnSequences(3)
                .logitsProcessors(List.of(processor)).stoppingCriteria(List.of(criterion)).listener(listener).build();

        GenerationConfig derived = original.toBuilder().endToken(5).build();

        assertThat(derived.endToken()).isEqualTo(5);
        assertThat(original.endToken()).isEqualTo(GenerationConfig.NO_END_TOKEN);
        assertThat(derived.maxNewTokens()).isEqualTo(7);
        assertThat(derived.seed()).isEqualTo(42);
        assertThat(derived.numReturnSequences()).isEqualTo(3);
        assertThat(derived.logitsProcessors()).containsExactly(processor);
        assertThat(derived.stoppingCriteria()).containsExactly(criterion);
        assertThat(derived.listener()).isSameAs(listener);
    }
}
