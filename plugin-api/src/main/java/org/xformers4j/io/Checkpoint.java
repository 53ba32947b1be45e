package org.xformers4j.io;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.function.Supplier;
import java.util.zip.CheckedOutputStream;
import org.xformers4j.nn.Module;
import org.xformers4j.nn.ParameterState;
import org.xformers4j.optim.NonFinite;
import org.xformers4j.optim.Optimizer;
import org.xformers4j.optim.OptimizerState;
import org.xformers4j.tensor.Tensor;

/**
 * A training checkpoint: a module's parameters, its optimiser's state and the training progress
 * (step, epoch and free-form metadata such as the seed and the number of batches drawn, from which
 * a trainer rebuilds its random state), so that training resumed from it ends with the same
 * weights as a run that was never interrupted. It plays the part of PyTorch's
 * {@code torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), ...})}
 * without unpickling: the file holds only numbers and strings, and reading it runs no code from it.
 * <pre>{@code
 * Checkpoint.save(path, model, optimizer, step, epoch, Map.of("seed", "42", "batches", "1200"));
 * ...
 * Checkpoint checkpoint = Checkpoint.load(path);
 * checkpoint.restore(freshModel, freshOptimizer);     // same architecture, same optimiser kind
 * }</pre>
 *
 * <p>{@link #save} is atomic ({@link AtomicFiles}): it writes a temporary file in the target's directory, forces it to
 * the device, then renames it over the target, so a reader finds either the previous checkpoint
 * or the complete new one, never a partial file, even if the write fails or the process dies.
 *
 * <p>The format, version 1, is big-endian (as {@link DataOutputStream} writes); a string is an
 * int byte count followed by UTF-8 bytes, and a float array is its elements as IEEE-754 bits:
 * <pre>
 *   magic        8 bytes   "X4JCKPT" then 0
 *   version      int       1
 *   step         long      optimiser steps taken by the trainer
 *   epoch        int
 *   metadata     int n, then n × (string key, string value)
 *   model        int n, then n × (string name, int rank, rank × int size, size product × float)
 *   optimizer    string kind, int stepCount, float learningRate,
 *                int n, then n × (string parameter, int step,
 *                                 int b, then b × (string buffer, int length, length × float))
 *   checksum     int       CRC-32 of every byte before it
 * </pre>
 * {@link #load} checks the magic, the version and the checksum, bounds every count and size by the
 * bytes that remain before allocating anything from it (so a small crafted file cannot claim a huge
 * allocation), and rejects duplicate names and non-finite numbers; {@link #restore} checks names and
 * shapes against the module and optimiser. Files are read whole, so they are limited to 2 GiB.
 *
 * <p>No checkpoint holds a NaN or an infinity: {@link #save} refuses non-finite parameters and
 * optimiser buffers (an Adam second moment that overflowed, say) before it writes anything, so the
 * previous file stays the last good one, and {@link #load} refuses a file holding one.
 */
public final class Checkpoint {

    private static final byte[] MAGIC = {'X', '4', 'J', 'C', 'K', 'P', 'T', 0};
    private static final int VERSION = 1;

    private final long step;
    private final int epoch;
    private final Map<String, String> metadata;
    private final Map<String, ParameterState> model;
    private final OptimizerState optimizer;

    private Checkpoint(long step, int epoch, Map<String, String> metadata, Map<String, ParameterState> model,
                       OptimizerState optimizer) {
        this.step = step;
        this.epoch = epoch;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.model = Collections.unmodifiableMap(model);
        this.optimizer = optimizer;
    }

    /** The optimiser kind written by {@link #save} when there is no optimiser (a trained model, not a run). */
    public static final String NO_OPTIMIZER = "none";

    /**
     * Writes {@code module}'s parameters, {@code optimizer}'s state and the progress to
     * {@code path}, atomically replacing any file there. With a null optimiser the file holds the
     * weights only (optimiser kind {@value #NO_OPTIMIZER}, no state), for a finished model.
     *
     * @param step     training steps taken so far, >= 0
     * @param epoch    the current epoch, >= 0
     * @param metadata whatever else the trainer needs to continue identically (seed, batches drawn, …)
     * @throws IllegalArgumentException if a counter is negative or an optimiser parameter is not in the module
     * @throws IllegalStateException    if a parameter or an optimiser buffer holds a NaN or an infinity, naming
     *                                  it; nothing is written and the file at {@code path} is unchanged
     * @throws IOException              if writing fails; the file at {@code path} is then unchanged
     */
    public static void save(Path path, Module module, Optimizer optimizer, long step, int epoch,
                            Map<String, String> metadata) throws IOException {
        Map<String, Tensor> parameters = module.namedParameters();
        OptimizerState optimizerState = checkedState(path.toString(), parameters, optimizer, step, epoch);
        AtomicFiles.write(path, file -> write(file, step, epoch, metadata, weights(parameters), optimizerState));
    }

    /**
     * The bytes of the file {@link #save} would write, for a checkpoint kept inside another file
     * (a Tribuo model's protobuf message holds one); {@link #read(byte[], String)} reads them back.
     *
     * @throws IllegalArgumentException if a counter is negative or an optimiser parameter is not in the module
     * @throws IllegalStateException    if a parameter or an optimiser buffer holds a NaN or an infinity, naming it
     */
    public static byte[] toBytes(Module module, Optimizer optimizer, long step, int epoch,
                                 Map<String, String> metadata) {
        Map<String, Tensor> parameters = module.namedParameters();
        OptimizerState optimizerState = checkedState("a checkpoint", parameters, optimizer, step, epoch);
        return bytes(out -> write(out, step, epoch, metadata, weights(parameters), optimizerState));
    }

    /**
     * This checkpoint in the format of {@link #save}, for example after its metadata was replaced
     * with {@link #withMetadata}.
     */
    public byte[] toBytes() {
        Map<String, Weight> weights = new LinkedHashMap<>();
        model.forEach((name, state) -> weights.put(name, new Weight(state.shape(), state::values)));
        return bytes(out -> write(out, step, epoch, metadata, weights, optimizer));
    }

    /** This checkpoint with {@code entries} as its metadata instead: the same weights and optimiser state. */
    public Checkpoint withMetadata(Map<String, String> entries) {
        return new Checkpoint(step, epoch, new LinkedHashMap<>(entries), model, optimizer);
    }

    /** This checkpoint with {@code state} as its parameters instead: the same metadata and optimiser state. */
    public Checkpoint withModelState(Map<String, ParameterState> state) {
        return new Checkpoint(step, epoch, metadata, new LinkedHashMap<>(state), optimizer);
    }

    /** A parameter to write: its shape, and its values, copied to the host only when written. */
    private record Weight(int[] shape, Supplier<float[]> values) {
    }

    private static Map<String, Weight> weights(Map<String, Tensor> parameters) {
        Map<String, Weight> out = new LinkedHashMap<>();
        parameters.forEach((name, tensor) -> out.put(name, new Weight(tensor.shape(), tensor::toFloatArray)));
        return out;
    }

    /** The optimiser's state, after checking the counters and that nothing to write is NaN or infinite. */
    private static OptimizerState checkedState(String what, Map<String, Tensor> parameters, Optimizer optimizer,
                                               long step, int epoch) {
        if (step < 0 || epoch < 0) {
            throw new IllegalArgumentException("Checkpoint.save: step and epoch must be >= 0, got step " + step
                    + " and epoch " + epoch);
        }
        OptimizerState optimizerState = optimizer == null ? new OptimizerState(NO_OPTIMIZER, 0, 0f, Map.of())
                : optimizer.state(parameters);
        requireFinite(what, parameters, optimizerState);
        return optimizerState;
    }

    /** What a writer wrote into memory. */
    private static byte[] bytes(AtomicFiles.Writer writer) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            writer.write(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);                          // writing to memory
        }
        return bytes.toByteArray();
    }

    /** Writes a checkpoint in the format described above, its CRC-32 last. */
    private static void write(OutputStream file, long step, int epoch, Map<String, String> metadata,
                              Map<String, Weight> model, OptimizerState optimizerState) throws IOException {
        CRC32 crc = new CRC32();
        DataOutputStream out = new DataOutputStream(new CheckedOutputStream(file, crc));
        out.write(MAGIC);
        out.writeInt(VERSION);
        out.writeLong(step);
        out.writeInt(epoch);
        out.writeInt(metadata.size());
        for (Map.Entry<String, String> e : metadata.entrySet()) {
            writeString(out, e.getKey());
            writeString(out, e.getValue());
        }
        out.writeInt(model.size());
        for (Map.Entry<String, Weight> e : model.entrySet()) {
            int[] shape = e.getValue().shape();
            writeString(out, e.getKey());
            out.writeInt(shape.length);
            for (int size : shape) {
                out.writeInt(size);
            }
            writeFloats(out, e.getValue().values().get());
        }
        writeString(out, optimizerState.optimizer());
        out.writeInt(optimizerState.stepCount());
        out.writeFloat(optimizerState.learningRate());
        out.writeInt(optimizerState.parameters().size());
        for (Map.Entry<String, OptimizerState.Slot> e : optimizerState.parameters().entrySet()) {
            writeString(out, e.getKey());
            out.writeInt(e.getValue().step());
            out.writeInt(e.getValue().buffers().size());
            for (Map.Entry<String, float[]> buffer : e.getValue().buffers().entrySet()) {
                writeString(out, buffer.getKey());
                out.writeInt(buffer.getValue().length);
                writeFloats(out, buffer.getValue());
            }
        }
        out.flush();
        new DataOutputStream(file).writeInt((int) crc.getValue());
    }

    /** Refuses to save a NaN or an infinity: a checkpoint must be one training can resume from. */
    private static void requireFinite(String path, Map<String, Tensor> parameters, OptimizerState optimizerState) {
        String refused = "Checkpoint.save: refusing to write " + path + ": ";
        NonFinite.value(parameters).ifPresent(name -> {
            throw new IllegalStateException(refused + "parameter '" + name + "' holds NaN or infinite values");
        });
        optimizerState.parameters().forEach((name, slot) -> slot.buffers().forEach((buffer, values) -> {
            if (!allFinite(values)) {
                throw new IllegalStateException(refused + "optimizer buffer '" + buffer + "' of parameter '" + name
                        + "' holds NaN or infinite values (" + optimizerState.optimizer() + "'s state overflowed)");
            }
        }));
    }

    private static boolean allFinite(float[] values) {
        for (float v : values) {
            if (!Float.isFinite(v)) {
                return false;
            }
        }
        return true;
    }

    private static void writeString(DataOutputStream out, String s) throws IOException {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(bytes.length);
        out.write(bytes);
    }

    private static void writeFloats(DataOutputStream out, float[] values) throws IOException {
        ByteBuffer bytes = ByteBuffer.allocate(Math.multiplyExact(values.length, Float.BYTES));
        bytes.asFloatBuffer().put(values);
        out.write(bytes.array());
    }

    /**
     * Reads and checks the checkpoint at {@code path}.
     *
     * @throws IllegalArgumentException if the file is not a version-1 checkpoint, is truncated or
     *                                  corrupted, is inconsistent (a count or size the remaining bytes
     *                                  cannot hold, a duplicate name) or holds a NaN or an infinity; the
     *                                  message names the file and the entry
     * @throws IOException              if the file cannot be read
     */
    public static Checkpoint load(Path path) throws IOException {
        long size = Files.size(path);
        if (size > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(path + ": " + size + " bytes is more than a checkpoint may hold (2 GiB)");
        }
        return read(Files.readAllBytes(path), path.toString());
    }

    /**
     * Reads and checks a checkpoint held in memory (the bytes of a file {@link #save} wrote, or of
     * {@link #toBytes}), with every check of {@link #load}.
     *
     * @param source what the bytes are, for errors: a file name, or a file and the field that held them
     * @throws IllegalArgumentException as {@link #load} does, the message starting with {@code source}
     */
    public static Checkpoint read(byte[] bytes, String source) {
        if (bytes.length < MAGIC.length + Integer.BYTES * 2
                || !Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw new IllegalArgumentException(source + ": not an xformers4j checkpoint (bad magic)");
        }
        ByteBuffer in = ByteBuffer.wrap(bytes);
        in.position(MAGIC.length);
        int version = in.getInt();
        if (version != VERSION) {
            throw new IllegalArgumentException(source + ": checkpoint format version " + version
                    + " is not supported (this reader knows version " + VERSION + ")");
        }
        CRC32 crc = new CRC32();
        crc.update(bytes, 0, bytes.length - Integer.BYTES);
        if ((int) crc.getValue() != ByteBuffer.wrap(bytes, bytes.length - Integer.BYTES, Integer.BYTES).getInt()) {
            throw new IllegalArgumentException(source + ": checksum mismatch, the checkpoint is truncated or corrupted");
        }
        in.limit(bytes.length - Integer.BYTES);
        String entry = "header";
        try {
            long step = in.getLong();
            int epoch = in.getInt();
            if (step < 0 || epoch < 0) {
                throw new IllegalArgumentException("negative step " + step + " or epoch " + epoch);
            }
            Map<String, String> metadata = new LinkedHashMap<>();
            for (int i = 0, n = count(in, "metadata", 2 * Integer.BYTES); i < n; i++) {
                entry = "metadata entry " + i;
                putUnique(metadata, readString(in), readString(in), "metadata");
            }
            Map<String, ParameterState> model = new LinkedHashMap<>();
            for (int i = 0, n = count(in, "parameters", 2 * Integer.BYTES); i < n; i++) {
                entry = "parameter " + i;
                String name = readString(in);
                entry = "parameter '" + name + "'";
                int[] shape = new int[count(in, "rank", Integer.BYTES)];
                long numel = 1;
                for (int d = 0; d < shape.length; d++) {
                    shape[d] = count(in, "size", 0);
                    numel = Math.multiplyExact(numel, shape[d]);
                }
                putUnique(model, name, new ParameterState(shape, finite(readFloats(in, numel))), "parameter");
            }
            entry = "optimizer";
            String kind = readString(in);
            int stepCount = in.getInt();
            float learningRate = in.getFloat();
            Map<String, OptimizerState.Slot> slots = new LinkedHashMap<>();
            for (int i = 0, n = count(in, "optimizer parameters", 3 * Integer.BYTES); i < n; i++) {
                entry = "optimizer parameter " + i;
                String name = readString(in);
                entry = "optimizer state of '" + name + "'";
                int slotStep = in.getInt();
                Map<String, float[]> buffers = new LinkedHashMap<>();
                for (int b = 0, nb = count(in, "buffers", 2 * Integer.BYTES); b < nb; b++) {
                    String buffer = readString(in);
                    entry = "optimizer buffer '" + buffer + "' of '" + name + "'";
                    putUnique(buffers, buffer, finite(readFloats(in, count(in, "length", 0))), "buffer");
                }
                putUnique(slots, name, new OptimizerState.Slot(slotStep, buffers), "optimizer parameter");
            }
            OptimizerState optimizer = new OptimizerState(kind, stepCount, learningRate, slots);
            if (in.hasRemaining()) {
                throw new IllegalArgumentException(in.remaining() + " unexpected bytes after the optimizer state");
            }
            return new Checkpoint(step, epoch, metadata, model, optimizer);
        } catch (BufferUnderflowException | ArithmeticException e) {
            throw new IllegalArgumentException(source + ": " + entry + " runs past the end of the checkpoint", e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + entry + ": " + e.getMessage(), e);
        }
    }

    /**
     * Reads a count of {@code what}, each of which takes at least {@code bytesEach} bytes of the
     * file, and checks it against the bytes that remain, so nothing is allocated from a count the
     * file cannot back.
     */
    private static int count(ByteBuffer in, String what, int bytesEach) {
        int n = in.getInt();
        if (n < 0) {
            throw new IllegalArgumentException("negative " + what + " count " + n);
        }
        if ((long) n * bytesEach > in.remaining()) {
            throw new IllegalArgumentException(what + " count " + n + " needs at least " + (long) n * bytesEach
                    + " bytes, but only " + in.remaining() + " remain in the file");
        }
        return n;
    }

    private static float[] finite(float[] values) {
        if (!allFinite(values)) {
            throw new IllegalArgumentException("holds NaN or infinite values, which no checkpoint is written with");
        }
        return values;
    }

    private static String readString(ByteBuffer in) {
        byte[] bytes = new byte[checkRemaining(in, count(in, "string length", 1))];
        in.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static float[] readFloats(ByteBuffer in, long count) {
        float[] values = new float[checkRemaining(in, Math.multiplyExact(count, Float.BYTES)) / Float.BYTES];
        in.asFloatBuffer().get(values);
        in.position(in.position() + values.length * Float.BYTES);
        return values;
    }

    /** {@code bytes} as an int, after checking that many bytes remain (so no huge array is allocated). */
    private static int checkRemaining(ByteBuffer in, long bytes) {
        if (bytes > in.remaining()) {
            throw new BufferUnderflowException();
        }
        return (int) bytes;
    }

    private static <V> void putUnique(Map<String, V> map, String key, V value, String what) {
        if (map.putIfAbsent(key, value) != null) {
            throw new IllegalArgumentException("duplicate " + what + " '" + key + "'");
        }
    }

    /**
     * Loads the parameters into {@code module} (in place, as {@link Module#loadStateDict}) and the
     * optimiser state into {@code optimizer}, which must be built over that module's parameters.
     * Both are checked before either is kept: if the names, shapes or optimiser kind do not match,
     * nothing is changed and the exception names every mismatched entry.
     */
    public void restore(Module module, Optimizer optimizer) {
        Map<String, ParameterState> previous = module.stateDict();
        module.loadStateDict(model);
        try {
            optimizer.loadState(this.optimizer, module.namedParameters());
        } catch (RuntimeException e) {
            module.loadStateDict(previous);
            throw e;
        }
    }

    /** The number of training steps taken when the checkpoint was written. */
    public long step() {
        return step;
    }

    /** The epoch when the checkpoint was written. */
    public int epoch() {
        return epoch;
    }

    /** The trainer's metadata, in the order written; unmodifiable. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** The module's parameters by dotted name, in the order written; unmodifiable. */
    public Map<String, ParameterState> modelState() {
        return model;
    }

    /** The optimiser's state. */
    public OptimizerState optimizerState() {
        return optimizer;
    }
}
