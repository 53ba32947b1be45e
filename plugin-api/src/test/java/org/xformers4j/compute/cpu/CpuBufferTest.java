package org.xformers4j.compute.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.xformers4j.compute.Buffer;

class CpuBufferTest {

    private final CpuBackend backend = new CpuBackend(new Parallel(1), Sgemm.best());

    @Test
    void theHostArrayIsTheBuffersOwnSoWritesAreSeenWithoutACopy() {
        Buffer buffer = backend.upload(new float[] {1f, 2f, 3f});
        float[] host = buffer.hostArray().orElseThrow();
        host[1] = 7f;
        assertThat(backend.download(buffer, 3)).containsExactly(1f, 7f, 3f);
        assertThat(buffer.hostArray().orElseThrow()).isSameAs(host);
    }

    @Test
    void aClosedBufferHasNoHostArray() {
        Buffer buffer = backend.allocate(4);
        buffer.close();
        assertThatThrownBy(buffer::hostArray).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("used after close()");
    }
}
