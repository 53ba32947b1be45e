package org.xformers4j.models.tribuo;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import org.tribuo.protos.core.ModelDataProto;
import org.tribuo.protos.core.ModelProto;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.function.UnaryOperator;

/**
 * Crafted {@code .tribuo} files for the loader's tests: a saved model's metadata or network blob
 * edited and sealed again with a correct checksum, as an attacker (not bit rot) would make them,
 * so that the checks behind the checksum are reached.
 */
final class CraftedModels {

    private CraftedModels() {
    }

    /** {@code file} (a saved TransformerModel) with its metadata and network bytes edited and the checksum renewed. */
    static byte[] resealed(byte[] file, UnaryOperator<byte[]> metadata, UnaryOperator<byte[]> network)
            throws IOException {
        ModelProto proto = ModelProto.parseFrom(file);
        byte[][] fields = new byte[4][];                         // by field number 1 to 3
        CodedInputStream in = proto.getSerializedData().getValue().newCodedInput();
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            fields[WireFormat.getTagFieldNumber(tag)] = in.readByteArray();
        }
        ModelDataProto editedMetadata = ModelDataProto.parseFrom(metadata.apply(fields[1].clone()));
        return proto.toBuilder()
                .setSerializedData(TransformerModelSerializer.pack(editedMetadata, network.apply(fields[2].clone())))
                .build().toByteArray();
    }

    /** {@code file} with the network blob edited and the checksum renewed. */
    static byte[] withNetwork(byte[] file, UnaryOperator<byte[]> network) throws IOException {
        return resealed(file, UnaryOperator.identity(), network);
    }

    /** The offset in a network blob of the architecture's first int, modelDim (heads, hidden follow). */
    static int architectureOffset(byte[] network) {
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(network));
            in.skipNBytes(8 + 4);                                   // magic, format version
            for (int component = 0; component < 2; component++) {  // attention, positional
                in.readUTF();
                int options = in.readInt();
                for (int i = 0; i < 2 * options; i++) {
                    in.readUTF();
                }
            }
            return network.length - in.available();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The offset in a network blob of the int batchSize, after the architecture. */
    static int batchSizeOffset(byte[] network) {
        int at = architectureOffset(network) + 3 * 4;               // modelDim, heads, hidden
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(network, at, network.length - at));
            for (int i = 0; i < 3; i++) {                           // activation, placement, norm
                in.readUTF();
            }
            in.skipNBytes(1 + 4 + 4 + 4 + 4);                       // bias, residualDropout, dropPath, chunk, layers
            in.readUTF();                                           // pooling
            in.skipNBytes(4 + 4 + 1);                               // registers, attentionDropout, reversible
            return network.length - in.available();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code bytes} with the big-endian int at {@code offset} set to {@code value}. */
    static byte[] withInt(byte[] bytes, int offset, int value) {
        ByteBuffer.wrap(bytes).putInt(offset, value);
        return bytes;
    }
}
