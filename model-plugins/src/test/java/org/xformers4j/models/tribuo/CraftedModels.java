package org.xformers4j.models.tribuo;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import org.tribuo.protos.core.ModelDataProto;
import org.tribuo.protos.core.ModelProto;
import org.xformers4j.io.Checkpoint;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * Crafted {@code .tribuo} files for the loader's tests: a saved model's metadata or checkpoint
 * edited and sealed again with a correct checksum (and, for an edited checkpoint, a correct
 * CRC-32), as an attacker (not bit rot) would make them, so that the checks behind the checksums
 * are reached.
 */
final class CraftedModels {

    private CraftedModels() {
    }

    /** {@code file} (a saved TransformerModel) with its metadata and checkpoint bytes edited and the SHA-256 renewed. */
    static byte[] resealed(byte[] file, UnaryOperator<byte[]> metadata, UnaryOperator<byte[]> checkpoint)
            throws IOException {
        ModelProto proto = ModelProto.parseFrom(file);
        byte[][] fields = fields(proto);
        ModelDataProto editedMetadata = ModelDataProto.parseFrom(metadata.apply(fields[1].clone()));
        return proto.toBuilder()
                .setSerializedData(TransformerModelSerializer.pack(editedMetadata, checkpoint.apply(fields[2].clone())))
                .build().toByteArray();
    }

    /** The bytes of fields 1 to 3 of a saved TransformerModel's message, by field number. */
    private static byte[][] fields(ModelProto proto) throws IOException {
        byte[][] fields = new byte[4][];
        CodedInputStream in = proto.getSerializedData().getValue().newCodedInput();
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            fields[WireFormat.getTagFieldNumber(tag)] = in.readByteArray();
        }
        return fields;
    }

    /** The checkpoint ({@code model.x4j} bytes) a saved TransformerModel holds in field 2. */
    static byte[] checkpointBytes(byte[] file) throws IOException {
        return fields(ModelProto.parseFrom(file))[2];
    }

    /** {@code file} with the checkpoint's bytes edited as they are (its CRC-32 not renewed) and the SHA-256 renewed. */
    static byte[] withCheckpointBytes(byte[] file, UnaryOperator<byte[]> checkpoint) throws IOException {
        return resealed(file, UnaryOperator.identity(), checkpoint);
    }

    /** {@code file} with the checkpoint edited as a {@link Checkpoint}, written again (a correct CRC-32) and resealed. */
    static byte[] withCheckpoint(byte[] file, UnaryOperator<Checkpoint> edit) throws IOException {
        return withCheckpointBytes(file, bytes -> edit.apply(Checkpoint.read(bytes, "crafted")).toBytes());
    }

    /** {@code file} with the checkpoint's metadata edited in place (entries added, replaced or removed). */
    static byte[] withMetadata(byte[] file, Consumer<Map<String, String>> edit) throws IOException {
        return withCheckpoint(file, checkpoint -> {
            Map<String, String> metadata = new LinkedHashMap<>(checkpoint.metadata());
            edit.accept(metadata);
            return checkpoint.withMetadata(metadata);
        });
    }
}
