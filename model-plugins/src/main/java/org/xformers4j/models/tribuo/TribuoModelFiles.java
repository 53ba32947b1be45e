package org.xformers4j.models.tribuo;

import com.google.protobuf.InvalidProtocolBufferException;
import org.tribuo.Model;
import org.tribuo.protos.core.ModelProto;
import org.xformers4j.io.AtomicFiles;
import org.xformers4j.registry.ComponentRegistry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Tribuo model files ({@code .tribuo}: a {@link ModelProto}, as {@link Model#serializeToFile}
 * writes and {@link Model#deserializeFromFile} reads), saved so that no crash loses the previous
 * file and loaded so that every bad file ends in an {@link IllegalArgumentException} naming it and
 * saying what is wrong.
 *
 * <p>Saving goes through {@link AtomicFiles}: a temporary file beside the target, forced to disk
 * and moved over it atomically (never truncated in place, as {@code serializeToFile} does), with
 * the permissions the umask gives any new file; temporary files of earlier crashed saves are
 * removed. Loading checks the model class the file names (a Tribuo {@link Model}, looked up
 * without initialising it) before Tribuo instantiates anything, and a {@link TransformerModel}'s
 * file carries a SHA-256 checksum of its content (see {@link TransformerModelSerializer}), checked
 * on every load. A {@link TransformerModel} is read here directly rather than through Tribuo's
 * {@link Model#deserialize}, so that its components are created through the registry the caller
 * gives ({@link Model#deserialize} can pass none and falls back to {@link ComponentRegistry#standalone()}).
 */
public final class TribuoModelFiles {

    private TribuoModelFiles() {
    }

    /**
     * Checks, before anything is trained, that a model can be saved to {@code file}: its
     * directory exists and is writable, and {@code file} is not a directory.
     *
     * @throws IllegalArgumentException naming the file and what is wrong
     */
    public static void checkWritable(Path file) {
        Path directory = file.toAbsolutePath().getParent();
        if (Files.isDirectory(file)) {
            throw new IllegalArgumentException("model " + file + ": is a directory, expected a file name");
        }
        if (!Files.isDirectory(directory)) {
            throw new IllegalArgumentException("model " + file + ": the directory " + directory + " does not exist");
        }
        if (!Files.isWritable(directory)) {
            throw new IllegalArgumentException("model " + file + ": the directory " + directory + " is not writable");
        }
    }

    /**
     * Writes {@code model} to {@code file} atomically: a reader (or a crash) finds the previous
     * file or the complete new one, never a partial one.
     *
     * @throws UncheckedIOException naming the file, with the I/O error as its cause; the previous file is then intact
     */
    public static void save(Model<?> model, Path file) {
        ModelProto proto = model.serialize();
        try {
            AtomicFiles.write(file, proto::writeTo);
        } catch (IOException e) {
            throw new UncheckedIOException("model " + file + ": cannot be saved: " + e.getMessage(), e);
        }
    }

    /**
     * The model in {@code file}, of any Tribuo model class; a {@link TransformerModel}'s components
     * are created through {@link ComponentRegistry#standalone()}, the providers on the class path
     * (inside a host, use {@link #load(Path, ComponentRegistry)}).
     *
     * @throws IllegalArgumentException naming the file when it is missing, empty, not a Tribuo
     *                                  model, damaged (checksum) or malformed
     */
    public static Model<?> load(Path file) {
        return load(file, ComponentRegistry.standalone());
    }

    /**
     * The model in {@code file}, of any Tribuo model class; a {@link TransformerModel}'s components
     * (attention mechanisms, positional encoding) are created through {@code registry}.
     *
     * @throws IllegalArgumentException naming the file when it is missing, empty, not a Tribuo
     *                                  model, damaged (checksum) or malformed
     */
    public static Model<?> load(Path file, ComponentRegistry registry) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("model " + file + ": no such file");
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException("model " + file + ": cannot be read: " + e.getMessage(), e);
        }
        if (bytes.length == 0) {
            throw new IllegalArgumentException("model " + file + ": the file is empty (0 bytes), not a Tribuo model");
        }
        ModelProto proto;
        try {
            proto = ModelProto.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalArgumentException("model " + file + ": not a Tribuo model file (it does not parse as "
                    + "Tribuo's ModelProto: " + e.getMessage() + ")", e);
        }
        if (proto.getClassName().isEmpty() || !proto.hasSerializedData()) {
            throw new IllegalArgumentException("model " + file + ": not a Tribuo model file (it names no model class"
                    + " or holds no model data)");
        }
        checkModelClass(file, proto.getClassName());
        try {
            return proto.getClassName().equals(TransformerModel.class.getName())
                    ? TransformerModel.deserialize(proto, registry) : Model.deserialize(proto);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("model " + file + ": cannot be loaded as a " + proto.getClassName()
                    + ": " + modelMessage(e), e);
        }
    }

    /**
     * Refuses a file whose model class is not a Tribuo {@link Model} before Tribuo loads it, which
     * it does initialising the class: the class is looked up without running its static
     * initialiser, through the class loader Tribuo uses.
     */
    private static void checkModelClass(Path file, String className) {
        Class<?> type;
        try {
            type = Class.forName(className, false, Model.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            throw new IllegalArgumentException("model " + file + ": names the model class " + className
                    + ", which is not available here", e);
        }
        if (!Model.class.isAssignableFrom(type)) {
            throw new IllegalArgumentException("model " + file + ": names the class " + className
                    + ", which is not a Tribuo model");
        }
    }

    /**
     * What the model class's own deserialization said: Tribuo calls it reflectively and wraps what
     * it throws in an {@link InvocationTargetException} inside an exception of its own.
     */
    private static String modelMessage(RuntimeException e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof InvocationTargetException && t.getCause() != null) {
                return String.valueOf(t.getCause().getMessage());
            }
        }
        return String.valueOf(e.getMessage());
    }
}
