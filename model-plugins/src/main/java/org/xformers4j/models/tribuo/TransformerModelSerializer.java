package org.xformers4j.models.tribuo;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import com.oracle.labs.mlrg.olcut.config.ConfigurationData;
import com.oracle.labs.mlrg.olcut.config.ConfigurationManager;
import com.oracle.labs.mlrg.olcut.config.Configurable;
import com.oracle.labs.mlrg.olcut.provenance.MapProvenance;
import com.oracle.labs.mlrg.olcut.provenance.ObjectProvenance;
import com.oracle.labs.mlrg.olcut.provenance.PrimitiveProvenance;
import com.oracle.labs.mlrg.olcut.provenance.Provenance;
import com.oracle.labs.mlrg.olcut.provenance.ProvenanceUtil;
import com.oracle.labs.mlrg.olcut.util.Pair;
import org.tribuo.impl.ModelDataCarrier;
import org.tribuo.protos.core.ModelDataProto;
import org.tribuo.protos.core.ModelProto;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.models.nn.BlockConfig;
import org.xformers4j.models.nn.EncoderConfig;
import org.xformers4j.models.nn.NormKind;
import org.xformers4j.models.nn.NormPlacement;
import org.xformers4j.models.nn.TransformerEncoder;
import org.xformers4j.nn.FeedForward;
import org.xformers4j.nn.Linear;
import org.xformers4j.nn.ParameterState;
import org.xformers4j.tensor.AllocationBudget;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Tribuo protobuf serialization of a {@link TransformerModel}, without generated classes of its own.
 *
 * <p>The {@link ModelProto} holds {@link TransformerModel#CURRENT_VERSION}, the model's class name
 * and an {@link Any} with type URL {@value #TYPE_URL} whose value is a protobuf message written by
 * hand with {@link CodedOutputStream}:
 * <pre>
 * message TransformerModelProto {
 *   tribuo.core.ModelDataProto metadata = 1; // Tribuo's ModelDataCarrier: name, provenance, feature and output domains
 *   bytes network = 2;                       // the blob below
 *   bytes sha256 = 3;                        // SHA-256 of field 1's bytes, then field 2's
 * }
 * </pre>
 * The checksum lives inside the model's own message rather than in a sidecar file or a wrapper
 * around the file, so a {@code .tribuo} file stays a plain Tribuo {@link ModelProto}, loadable by
 * {@link org.tribuo.Model#deserializeFromFile} and carried along by every Tribuo path that
 * serializes the model (a file, a stream, a proto stored elsewhere), and every one of those paths
 * checks it: a single flipped bit in the metadata or the weights is refused before anything is
 * parsed, never loaded as a model that predicts differently. Bytes outside the checksummed fields
 * (Tribuo's own envelope: version, class name, type URL) are each checked on their own. A file
 * without the checksum (written before it existed) is refused too. The checksum guards against
 * damage, not against a crafted file, which can carry a correct one: the parsing below trusts
 * nothing it reads.
 * The network blob is big-endian ({@link DataOutputStream}; strings in modified UTF-8):
 * <pre>
 * magic "X4JTMDL\0", int format version (2)
 * attention:  UTF name, int n, n × (UTF key, UTF value)          — from the trainer provenance
 * positional: UTF name, int n, n × (UTF key, UTF value)
 * encoder:    int modelDim, heads, hidden; UTF activation, placement, norm; boolean bias;
 *             float residualDropout, dropPath; int feedForwardChunkSize; int layers; UTF pooling;
 *             int numRegisterTokens; float attentionDropout; boolean reversible — {@link EncoderConfig}
 * int batchSize, int numOutputs K
 * input encoder state                                             — {@link EncoderModule#writeState}
 * int n, n × (UTF feature name, double mean relevance)            — for getTopFeatures
 * int n, n × (UTF parameter name, int rank, rank × int size, size product × float value)
 * </pre>
 * The input encoder and output head objects are rebuilt with OLCUT from their configuration in the
 * trainer provenance (which Tribuo's metadata already carries), after their class names have been
 * checked against the encoders and heads of this package (OLCUT would otherwise instantiate and
 * configure whatever class the file names); the encoder then reads its fitted state, the head is
 * fitted again to the output domain (heads depend on nothing else), and the network is rebuilt
 * from the blob's architecture and loaded with the saved parameters. Before anything is allocated
 * from the architecture, the parameters it needs at the least (per block, the query and output
 * projections and the feed-forward sublayer) are checked against the bytes left for them, so a
 * small file that claims a huge architecture is refused instead of exhausting the heap; every
 * count read is bounded by the bytes that remain. Every mismatch (checksum, magic, version, class,
 * names, shapes, trailing bytes) is an {@link IllegalStateException} naming it.
 */
final class TransformerModelSerializer {

    /** The type URL of the {@link Any} in {@link ModelProto#getSerializedData()}. */
    static final String TYPE_URL = "type.xformers4j.org/xformers4j.tribuo.TransformerModelProto";

    private static final byte[] MAGIC = {'X', '4', 'J', 'T', 'M', 'D', 'L', 0};
    private static final int FORMAT_VERSION = 2;
    private static final int METADATA_FIELD = 1;
    private static final int NETWORK_FIELD = 2;
    private static final int CHECKSUM_FIELD = 3;

    /**
     * The classes the trainer provenance may name for each configured object OLCUT rebuilds: the
     * input encoders and output heads of this package, checked before OLCUT instantiates anything.
     */
    private static final Map<String, List<Class<? extends Configurable>>> ALLOWED = Map.of(
            "encoder", List.of(FeatureTokens.class, ImagePatches.class, TextTokens.class),
            "head", List.of(LabelHead.class, RegressorHead.class, MultiLabelHead.class));

    private TransformerModelSerializer() {
    }

    static ModelProto serialize(TransformerModel<?> model, ModelDataProto metadata) {
        return ModelProto.newBuilder()
                .setVersion(TransformerModel.CURRENT_VERSION)
                .setClassName(TransformerModel.class.getName())
                .setSerializedData(pack(metadata, networkBlob(model)))
                .build();
    }

    /** The {@code TransformerModelProto} {@link Any} of {@code metadata} and {@code network}, with their checksum. */
    static Any pack(ModelDataProto metadata, byte[] network) {
        try {
            byte[] metadataBytes = metadata.toByteArray();
            ByteString.Output bytes = ByteString.newOutput();
            CodedOutputStream out = CodedOutputStream.newInstance(bytes);
            out.writeByteArray(METADATA_FIELD, metadataBytes);
            out.writeByteArray(NETWORK_FIELD, network);
            out.writeByteArray(CHECKSUM_FIELD, sha256(metadataBytes, network));
            out.flush();
            return Any.newBuilder().setTypeUrl(TYPE_URL).setValue(bytes.toByteString()).build();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // writing to memory
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    static TransformerModel<?> deserialize(int version, String className, Any message) {
        if (version < 0 || version > TransformerModel.CURRENT_VERSION) {
            throw new IllegalStateException("TransformerModel: unknown serialization version " + version
                    + ", this code reads up to " + TransformerModel.CURRENT_VERSION);
        }
        if (!TYPE_URL.equals(message.getTypeUrl())) {
            throw new IllegalStateException("TransformerModel: serialized data has type URL '" + message.getTypeUrl()
                    + "', expected '" + TYPE_URL + "'");
        }
        byte[] metadataBytes = null;
        byte[] network = null;
        byte[] checksum = null;
        try {
            CodedInputStream in = message.getValue().newCodedInput();
            for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
                int field = WireFormat.getTagFieldNumber(tag);
                if (field == METADATA_FIELD) {
                    metadataBytes = in.readByteArray();
                } else if (field == NETWORK_FIELD) {
                    network = in.readByteArray();
                } else if (field == CHECKSUM_FIELD) {
                    checksum = in.readByteArray();
                } else {
                    in.skipField(tag);
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("TransformerModel: malformed serialized data: " + e.getMessage(), e);
        }
        if (metadataBytes == null || network == null || checksum == null) {
            throw new IllegalStateException("TransformerModel: serialized data lacks its " + (metadataBytes == null
                    ? "metadata (field 1)" : network == null ? "network (field 2)"
                    : "SHA-256 checksum (field 3); it is damaged or was written by an older xformers4j: train it again"));
        }
        if (!MessageDigest.isEqual(checksum, sha256(metadataBytes, network))) {
            throw new IllegalStateException("TransformerModel: the SHA-256 checksum does not match the content: the "
                    + "model data are damaged (a changed, lost or added byte)");
        }
        ModelDataCarrier carrier;
        try {
            carrier = ModelDataCarrier.deserialize(ModelDataProto.parseFrom(metadataBytes));
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("TransformerModel: malformed metadata: " + e.getMessage(), e);
        }
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(network))) {
            return read(carrier, in);
        } catch (EOFException e) {
            throw new IllegalStateException("TransformerModel: the network data end early (truncated)", e);
        } catch (IOException e) {
            throw new IllegalStateException("TransformerModel: malformed network data: " + e.getMessage(), e);
        }
    }

    private static byte[] sha256(byte[] metadata, byte[] network) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            digest.update(metadata);
            digest.update(network);
            return digest.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e); // every JVM has it
        }
    }

    private static byte[] networkBlob(TransformerModel<?> model) {
        TransformerNetwork network = model.network();
        Map<String, Provenance> trainer = model.getProvenance().getTrainerProvenance().getConfiguredParameters();
        try (ByteArrayOutputStream bytes = new ByteArrayOutputStream();
             DataOutputStream out = new DataOutputStream(bytes)) {
            out.write(MAGIC);
            out.writeInt(FORMAT_VERSION);
            writeComponent(out, trainer, "attention");
            writeComponent(out, trainer, "positional");
            EncoderConfig config = network.encoder().config();
            BlockConfig block = config.block();
            out.writeInt(block.modelDim());
            out.writeInt(block.heads());
            out.writeInt(block.hidden());
            out.writeUTF(block.activation().name());
            out.writeUTF(block.placement().name());
            out.writeUTF(block.norm().name());
            out.writeBoolean(block.bias());
            out.writeFloat(block.residualDropout());
            out.writeFloat(block.dropPath());
            out.writeInt(block.feedForwardChunkSize());
            out.writeInt(config.layers());
            out.writeUTF(config.pooling().name());
            out.writeInt(config.numRegisterTokens());
            out.writeFloat(config.attentionDropout());
            out.writeBoolean(config.reversible());
            out.writeInt(model.batchSize());
            out.writeInt(model.getOutputIDInfo().size());
            network.input().writeState(out);
            out.writeInt(model.meanRelevance().size());
            for (Map.Entry<String, Double> e : model.meanRelevance().entrySet()) {
                out.writeUTF(e.getKey());
                out.writeDouble(e.getValue());
            }
            Map<String, ParameterState> state = network.stateDict();
            out.writeInt(state.size());
            for (Map.Entry<String, ParameterState> e : state.entrySet()) {
                out.writeUTF(e.getKey());
                int[] shape = e.getValue().shape();
                out.writeInt(shape.length);
                for (int size : shape) {
                    out.writeInt(size);
                }
                for (float v : e.getValue().values()) {
                    out.writeFloat(v);
                }
            }
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // writing to memory
        }
    }

    /** The component's registry name and its options, from the trainer's configured parameters. */
    private static void writeComponent(DataOutputStream out, Map<String, Provenance> trainer, String field)
            throws IOException {
        Provenance name = trainer.get(field);
        if (!(name instanceof PrimitiveProvenance<?> primitive)) {
            throw new IllegalStateException("TransformerModel: the trainer provenance has no '" + field
                    + "' component name to serialize, got " + name);
        }
        out.writeUTF(primitive.getValue().toString());
        Map<String, String> options = new LinkedHashMap<>();
        if (trainer.get(field + "Options") instanceof MapProvenance<?> map) {
            for (Pair<String, ? extends Provenance> e : map) {
                options.put(e.getA(), ((PrimitiveProvenance<?>) e.getB()).getValue().toString());
            }
        }
        out.writeInt(options.size());
        for (Map.Entry<String, String> e : options.entrySet()) {
            out.writeUTF(e.getKey());
            out.writeUTF(e.getValue());
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static TransformerModel<?> read(ModelDataCarrier carrier, DataInputStream in) throws IOException {
        byte[] magic = new byte[MAGIC.length];
        in.readFully(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw new IllegalStateException("TransformerModel: the network data does not start with the magic "
                    + Arrays.toString(MAGIC) + ", got " + Arrays.toString(magic));
        }
        int format = in.readInt();
        if (format != FORMAT_VERSION) {
            throw new IllegalStateException("TransformerModel: network data format " + format + ", this code reads "
                    + FORMAT_VERSION);
        }
        String attention = in.readUTF();
        Map<String, String> attentionOptions = readOptions(in);
        String positional = in.readUTF();
        Map<String, String> positionalOptions = readOptions(in);
        BlockConfig block;
        EncoderConfig config;
        try {
            block = BlockConfig.builder(in.readInt(), in.readInt()).hidden(in.readInt())
                    .activation(FeedForward.Activation.valueOf(in.readUTF()))
                    .placement(NormPlacement.valueOf(in.readUTF())).norm(NormKind.valueOf(in.readUTF()))
                    .bias(in.readBoolean()).residualDropout(in.readFloat()).dropPath(in.readFloat())
                    .feedForwardChunkSize(in.readInt()).build();
            config = EncoderConfig.builder(block, in.readInt()).pooling(TransformerEncoder.Pooling.valueOf(in.readUTF()))
                    .numRegisterTokens(in.readInt()).attentionDropout(in.readFloat()).reversible(in.readBoolean())
                    .build();
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("TransformerModel: bad saved architecture: " + e.getMessage(), e);
        }
        int batchSize = in.readInt();
        int numOutputs = in.readInt();
        requireParameterBytes(config, numOutputs, in.available());

        Map<String, Provenance> trainer = carrier.provenance().getTrainerProvenance().getConfiguredParameters();
        InputEncoder encoder = configured(InputEncoder.class, trainer, "encoder");
        OutputHead head = configured(OutputHead.class, trainer, "head");
        OutputHead.Fitted fitted = head.fit(carrier.outputDomain());
        if (fitted.numOutputs() != numOutputs || carrier.outputDomain().size() != numOutputs) {
            throw new IllegalStateException("TransformerModel: saved with " + numOutputs + " outputs, but the output "
                    + "domain has " + carrier.outputDomain().size() + " and the head makes " + fitted.numOutputs());
        }
        SplittableRandom rng = new SplittableRandom(0); // initial weights, all overwritten by the saved ones
        TransformerNetwork network;
        try (AllocationBudget budget = AllocationBudget.forStoredWeights(in.available() / Float.BYTES,
                "TransformerModel: the saved architecture")) {
            EncoderModule input = encoder.restore(carrier.featureDomain(), block.modelDim(), in, rng);
            network = new TransformerNetwork(input,
                    new TransformerEncoder(config, () -> ComponentResolver.create(AttentionMechanism.class, attention,
                            attentionOptions), ComponentResolver.create(PositionalEncoding.class, positional,
                            positionalOptions), rng),
                    new Linear(block.modelDim(), numOutputs, true, rng));
        }

        int features = count(in, "mean relevance entries");
        Map<String, Double> meanRelevance = new LinkedHashMap<>();
        for (int i = 0; i < features; i++) {
            meanRelevance.put(in.readUTF(), in.readDouble());
        }
        int parameters = count(in, "parameters");
        Map<String, ParameterState> state = new LinkedHashMap<>();
        for (int i = 0; i < parameters; i++) {
            String name = in.readUTF();
            int[] shape = new int[count(in, "dimensions of '" + name + "'")];
            long size = 1;
            for (int d = 0; d < shape.length; d++) {
                shape[d] = count(in, "size " + d + " of '" + name + "'");
                size *= shape[d];
            }
            if (size > in.available() / Float.BYTES) {
                throw new IllegalStateException("TransformerModel: parameter '" + name + "' of shape "
                        + Arrays.toString(shape) + " needs " + size + " floats, only " + in.available() / Float.BYTES
                        + " remain");
            }
            float[] values = new float[(int) size];
            for (int j = 0; j < values.length; j++) {
                values[j] = in.readFloat();
            }
            state.put(name, new ParameterState(shape, values));
        }
        if (in.available() > 0) {
            throw new IllegalStateException("TransformerModel: " + in.available() + " unexpected bytes after the "
                    + "parameters");
        }
        try {
            network.loadStateDict(state);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("TransformerModel: the saved parameters do not fit the saved architecture: "
                    + e.getMessage(), e);
        }
        return new TransformerModel(carrier.name(), carrier.provenance(), carrier.featureDomain(),
                carrier.outputDomain(), carrier.generatesProbabilities(), network, fitted, batchSize, meanRelevance);
    }

    private static Map<String, String> readOptions(DataInputStream in) throws IOException {
        int n = count(in, "component options");
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            options.put(in.readUTF(), in.readUTF());
        }
        return options;
    }

    /** A non-negative count, checked against the bytes left so that garbage fails cleanly. */
    private static int count(DataInputStream in, String what) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > in.available()) {
            throw new IllegalStateException("TransformerModel: bad number of " + what + ": " + n + " with "
                    + in.available() + " bytes left");
        }
        return n;
    }

    /**
     * Refuses an architecture whose parameters cannot fit in the {@code bytes} left in the file,
     * before anything is allocated from it: each block has at least the query and output
     * projections (2 D²) and the feed-forward sublayer (2 D × hidden), besides the register
     * tokens (R × D) and the output layer (D × K), each a 4-byte float. The network built is at
     * most a few times this bound, which the exact shape check after loading then enforces.
     */
    private static void requireParameterBytes(EncoderConfig config, int numOutputs, int bytes) {
        BlockConfig block = config.block();
        double dim = block.modelDim();
        double least = config.layers() * (2 * dim * dim + 2 * dim * block.hidden())
                + config.numRegisterTokens() * dim + dim * Math.max(0, numOutputs);
        if (least * Float.BYTES > bytes) {
            throw new IllegalStateException(String.format(Locale.ROOT, "TransformerModel: the saved architecture "
                    + "(modelDim %d, hidden %d, %d layers, %d register tokens, %d outputs) needs at least %.0f "
                    + "parameters, but only %d bytes are left for them: the architecture does not match the saved "
                    + "weights", block.modelDim(), block.hidden(), config.layers(), config.numRegisterTokens(),
                    numOutputs, least, bytes));
        }
    }

    /**
     * The encoder or head object configured in the trainer provenance's {@code field}, rebuilt by
     * OLCUT once every class its configuration names is one of {@link #ALLOWED}.
     */
    private static <C extends Configurable> C configured(Class<C> type, Map<String, Provenance> trainer, String field) {
        if (!(trainer.get(field) instanceof ObjectProvenance provenance)) {
            throw new IllegalStateException("TransformerModel: the trainer provenance has no configured '" + field
                    + "', got " + trainer.get(field));
        }
        List<ConfigurationData> data;
        try {
            data = ProvenanceUtil.extractConfiguration(provenance);
        } catch (RuntimeException e) {
            throw new IllegalStateException("TransformerModel: the trainer provenance's '" + field
                    + "' is not a configuration: " + e.getMessage(), e);
        }
        List<String> allowed = ALLOWED.get(field).stream().map(Class::getName).toList();
        for (ConfigurationData component : data) {
            if (!allowed.contains(component.getClassName())) {
                throw new IllegalStateException("TransformerModel: the trainer provenance's '" + field + "' names "
                        + "class " + component.getClassName() + ", which is not one of the " + type.getSimpleName()
                        + "s a model can be loaded with (" + String.join(", ", allowed) + ")");
            }
        }
        if (data.isEmpty()) {
            throw new IllegalStateException("TransformerModel: the trainer provenance's '" + field
                    + "' holds no configuration");
        }
        try {
            ConfigurationManager manager = new ConfigurationManager();
            manager.addConfiguration(data);
            return type.cast(manager.lookup(data.get(0).getName()));
        } catch (RuntimeException e) {
            throw new IllegalStateException("TransformerModel: the trainer provenance's '" + field
                    + "' cannot be configured: " + e.getMessage(), e);
        }
    }
}
