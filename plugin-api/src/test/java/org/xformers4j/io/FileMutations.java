package org.xformers4j.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.CRC32;

/**
 * Mutations of a valid file for the loaders' fuzz-style tests: every loader of an untrusted file
 * (model.x4j, .tribuo, vocab/merges, CSV, config XML) is fed these and must end each one with a
 * clear error or a correct load — never a hang, an {@link OutOfMemoryError} or a silent change.
 *
 * <p>The kinds: truncations (at every length for small files, at spread-out lengths otherwise),
 * single-bit flips at seeded positions, and 4-byte big-endian and little-endian integers overwritten
 * with values that make length fields lie (0, -1, 2³¹−1, 2³⁰, and the field ± 1).
 */
public final class FileMutations {

    /** One mutated input and what was done to it (for assertion messages). */
    public record Mutation(String description, byte[] bytes) {
        @Override
        public String toString() {
            return description;
        }
    }

    private static final int[] LYING_LENGTHS = {0, -1, Integer.MAX_VALUE, 1 << 30, 0x7fff_fff0};

    private FileMutations() {
    }

    /** Truncations of {@code valid} to {@code count} lengths spread over [0, length) (all of them when fewer). */
    public static List<Mutation> truncations(byte[] valid, int count) {
        List<Mutation> out = new ArrayList<>();
        int n = valid.length;
        int step = Math.max(1, n / Math.max(1, count));
        for (int length = 0; length < n; length += step) {
            out.add(new Mutation("truncated to " + length + " of " + n + " bytes", Arrays.copyOf(valid, length)));
        }
        if (n > 0 && (n - 1) % step != 0) {
            out.add(new Mutation("truncated to " + (n - 1) + " of " + n + " bytes", Arrays.copyOf(valid, n - 1)));
        }
        return out;
    }

    /** {@code count} copies of {@code valid}, each with one bit flipped at a seeded position. */
    public static List<Mutation> bitFlips(byte[] valid, int count, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<Mutation> out = new ArrayList<>();
        for (int i = 0; i < count && valid.length > 0; i++) {
            int position = rng.nextInt(valid.length);
            int bit = rng.nextInt(8);
            byte[] copy = valid.clone();
            copy[position] ^= (byte) (1 << bit);
            out.add(new Mutation("bit " + bit + " of byte " + position + " flipped", copy));
        }
        return out;
    }

    /**
     * Copies of {@code valid} with the 4 bytes at each of {@code count} seeded offsets (or at
     * every 4-aligned offset when the file is small) replaced by a lying length: 0, −1, 2³¹−1,
     * 2³⁰, 2³¹−16, in both byte orders.
     */
    public static List<Mutation> lyingLengths(byte[] valid, int count, long seed) {
        List<Mutation> out = new ArrayList<>();
        if (valid.length < 4) {
            return out;
        }
        SplittableRandom rng = new SplittableRandom(seed);
        int offsets = Math.min(count, valid.length - 3);
        for (int i = 0; i < offsets; i++) {
            int offset = valid.length - 3 <= count ? i : rng.nextInt(valid.length - 3);
            int value = LYING_LENGTHS[i % LYING_LENGTHS.length];
            for (ByteOrder order : new ByteOrder[] {ByteOrder.BIG_ENDIAN,
                    ByteOrder.LITTLE_ENDIAN}) {
                byte[] copy = valid.clone();
                ByteBuffer.wrap(copy).order(order).putInt(offset, value);
                out.add(new Mutation("int " + value + " (" + order + ") written at byte " + offset, copy));
            }
        }
        return out;
    }

    /**
     * Makes the trailing 4-byte big-endian CRC-32 of {@code bytes} (as {@code model.x4j} ends) that of
     * the bytes before it, in place: a mutation that also forges the checksum, to reach the checks
     * behind it.
     */
    public static void forgeTrailingCrc32(byte[] bytes) {
        CRC32 crc = new CRC32();
        crc.update(bytes, 0, bytes.length - 4);
        ByteBuffer.wrap(bytes).putInt(bytes.length - 4, (int) crc.getValue());
    }

    /** Truncations, bit flips and lying lengths together: about {@code 3 × count} mutations. */
    public static List<Mutation> all(byte[] valid, int count, long seed) {
        List<Mutation> out = new ArrayList<>(truncations(valid, count));
        out.addAll(bitFlips(valid, count, seed));
        out.addAll(lyingLengths(valid, count / 2, seed + 1));
        return out;
    }
}
