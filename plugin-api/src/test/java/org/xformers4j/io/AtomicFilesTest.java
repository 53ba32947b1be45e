package org.xformers4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {

    @TempDir
    Path dir;

    @Test
    void aFailedWriteLeavesThePreviousFileAndNoTemporaryFile() throws IOException {
        Path target = dir.resolve("model.bin");
        AtomicFiles.write(target, "old".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> AtomicFiles.write(target, out -> {
            out.write("half of the new".getBytes(StandardCharsets.UTF_8));
            throw new IOException("disk full");
        })).hasMessage("disk full");
        assertThat(Files.readString(target)).isEqualTo("old");
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(target);
        }
    }

    @Test
    void leftoversOfCrashedWritesAreRemovedByTheNextWrite() throws IOException {
        Path target = dir.resolve("model.bin");
        Path leftover = Files.writeString(dir.resolve(".model.bin.1234.tmp"), "crashed");
        Path unrelated = Files.writeString(dir.resolve(".other.bin.1234.tmp"), "someone else's");
        AtomicFiles.write(target, new byte[] {1, 2, 3});
        assertThat(leftover).doesNotExist();
        assertThat(unrelated).exists();
        assertThat(Files.readAllBytes(target)).containsExactly(1, 2, 3);
    }

    @Test
    void theFileGetsTheUmaskPermissionsOfAnOrdinaryFile() throws IOException {
        Path ordinary = Files.writeString(dir.resolve("ordinary"), "x");
        Path target = dir.resolve("model.bin");
        AtomicFiles.write(target, new byte[] {1});
        Set<PosixFilePermission> expected = Files.getPosixFilePermissions(ordinary);
        assertThat(Files.getPosixFilePermissions(target)).isEqualTo(expected);
    }

    @Test
    void aMissingDirectoryIsNamed() {
        Path target = dir.resolve("no-such-dir").resolve("model.bin");
        assertThatThrownBy(() -> AtomicFiles.write(target, new byte[] {1}))
                .isInstanceOf(IOException.class).hasMessageContaining("no-such-dir").hasMessageContaining("does not exist");
    }
}
