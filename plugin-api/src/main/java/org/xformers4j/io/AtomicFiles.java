package org.xformers4j.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.UUID;

/**
 * Writes a file so that a crash at any moment loses nothing already saved: the bytes go to a
 * temporary file in the target's directory, are forced to the device, and the temporary file is
 * then renamed over the target in one atomic move. A reader finds either the previous file or the
 * complete new one, never a partial file, whether the write fails, the disk fills or the process
 * is killed.
 *
 * <p>The temporary file is created with the default permissions (governed by the umask, as a plain
 * {@code new FileOutputStream} would be), so a model written here is as readable as any other file
 * the user writes. Its name, {@code .NAME.UUID.tmp}, lets {@link #removeLeftovers} clean up after
 * an earlier crash.
 */
public final class AtomicFiles {

    /** Writes a file's bytes to an open stream. */
    @FunctionalInterface
    public interface Writer {
        /** Writes the whole content to {@code out} (buffered; not to be closed by the writer). */
        void write(OutputStream out) throws IOException;
    }

    private static final String SUFFIX = ".tmp";

    private AtomicFiles() {
    }

    /**
     * Writes {@code target} atomically with {@code writer}; temporary files of earlier crashed
     * writes to the same target are removed first.
     *
     * @throws IOException if the directory does not exist or writing fails; {@code target} is then unchanged
     */
    public static void write(Path target, Writer writer) throws IOException {
        Path absolute = target.toAbsolutePath();
        Path directory = absolute.getParent();
        if (!Files.isDirectory(directory)) {
            throw new IOException("cannot write " + target + ": directory " + directory + " does not exist");
        }
        removeLeftovers(absolute);
        Path temp = directory.resolve(prefix(absolute) + UUID.randomUUID() + SUFFIX);
        try {
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                OutputStream out = new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16);
                writer.write(out);
                out.flush();
                channel.force(true);
            }
            Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /** Writes {@code bytes} to {@code target} atomically. */
    public static void write(Path target, byte[] bytes) throws IOException {
        write(target, out -> out.write(bytes));
    }

    /**
     * Removes the temporary files that crashed atomic writes to {@code target} left behind
     * ({@code .NAME.*.tmp} beside it).
     */
    public static void removeLeftovers(Path target) throws IOException {
        Path absolute = target.toAbsolutePath();
        String prefix = prefix(absolute);
        try (DirectoryStream<Path> siblings = Files.newDirectoryStream(absolute.getParent(),
                entry -> entry.getFileName().toString().startsWith(prefix)
                        && entry.getFileName().toString().endsWith(SUFFIX))) {
            for (Path leftover : siblings) {
                Files.deleteIfExists(leftover);
            }
        }
    }

    private static String prefix(Path absolute) {
        return "." + absolute.getFileName() + ".";
    }
}
