package org.xformers4j.models.tribuo;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import com.oracle.labs.mlrg.olcut.config.ConfigurationData;
import com.oracle.labs.mlrg.olcut.config.ConfigurationManager;
import com.oracle.labs.mlrg.olcut.config.Configurable;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import com.oracle.labs.mlrg.olcut.provenance.ObjectProvenance;
import com.oracle.labs.mlrg.olcut.provenance.Provenance;
import com.oracle.labs.mlrg.olcut.provenance.ProvenanceUtil;
import org.tribuo.impl.ModelDataCarrier;
import org.tribuo.protos.core.ModelDataProto;
import org.tribuo.protos.core.ModelProto;
import org.xformers4j.io.Checkpoint;
import org.xformers4j.models.nn.Architecture;
import org.xformers4j.nn.Linear;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.tensor.AllocationBudget;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Tribuo protobuf serialization of a {@link TransformerModel}, without generated classes of its own.
 *
 * <p>The {@link ModelProto} holds {@link TransformerModel#CURRENT_VERSION}, the model's class name
 * and an {@link Any} with type URL {@value #TYPE_URL} whose value is a protobuf message written by
 * hand with {@link CodedOutputStream}:
 * <pre>
 * message TransformerModelProto {
 *   tribuo.core.ModelDataProto metadata = 1; // Tribuo's ModelDataCarrier: name, provenance, feature and output domains
 *   bytes checkpoint = 2;                    // a model.x4j checkpoint: the weights and the entries below
 *   bytes sha256 = 3;                        // SHA-256 of field 1's bytes, then field 2's
 * }
 * </pre>
 * The checksum lives inside the model's own message rather than in a sidecar file or a wrapper
 * around the file, so a {@code .tribuo} file stays a plain Tribuo {@link ModelProto}, loadable by
 * {@link org.tribuo.Model#deserializeFromFile} and carried along by every Tribuo path that
 * serializes the model (a file, a stream, a proto stored elsewhere), and every one of those paths
 * checks it: a single flipped bit in the metadata or the weights is refused before anything is
 * parsed, never loaded as a model that predicts differently. Bytes outside the checksummed fields
 * (Tribuo's own envelope: version, class name, type URL) are each checked on their own. The
 * checksum guards against damage, not against a crafted file, which can carry a correct one: the
 * parsing below trusts nothing it reads.
 *
 * <p>Field 2 is the same {@link Checkpoint} format as a text model's {@code model.x4j} (magic,
 * version, CRC-32, every count bounded, no NaN or infinity; no optimiser state), read with the same
 * reader. Its text metadata holds what the model needs beyond Tribuo's own carrier:
 * <pre>
 * model.kind            {@value #KIND}
 * architecture.*        the network's {@link Architecture}, as {@link Architecture#toMetadata()} writes it
 * tribuo.batchSize      examples per forward pass when predicting
 * tribuo.outputs        the number K of outputs of the output layer
 * input.*               the input encoder's fitted state ({@link EncoderModule#state()})
 * relevance.&lt;feature&gt;  the feature's mean rollout relevance, for getTopFeatures
 * </pre>
 * and no other entry. Files of serialization version 0 (before the architecture was written by
 * {@link Architecture}) are refused naming their version.
 *
 * <p>The input encoder and output head objects are rebuilt with OLCUT from their configuration in
 * the trainer provenance (which Tribuo's metadata already carries), after their class names have
 * been checked against the encoders and heads of this package (OLCUT would otherwise instantiate
 * and configure whatever class the file names); the encoder then reads its fitted state, the head
 * is fitted again to the output domain (heads depend on nothing else), and the network is rebuilt
 * from the saved architecture, its components created through the {@link ComponentRegistry} the
 * loader is given, and loaded with the saved parameters. Before anything is allocated from the
 * architecture, the parameters it needs at the least (per block, the query and output projections
 * and the feed-forward sublayer) are checked against the weights the checkpoint holds, and it is
 * built inside an {@link AllocationBudget} of them, so a small file that claims a huge
 * architecture is refused instead of exhausting the heap. Every mismatch (checksum, version, kind,
 * entries, class, names, shapes) is an {@link IllegalStateException} naming it.
 */
final class TransformerModelSerializer {

    /** The type URL of the {@link Any} in {@link ModelProto#getSerializedData()}. */
    static final String TYPE_URL = "type.xformers4j.org/xformers4j.tribuo.TransformerModelProto";

    /** The model kind in the checkpoint's metadata. */
    static final String KIND = "tribuo-transformer";

    private static final int METADATA_FIELD = 1;
    private static final int CHECKPOINT_FIELD = 2;
    private static final int CHECKSUM_FIELD = 3;

    private static final String KIND_ENTRY = "model.kind";
    private static final String BATCH_SIZE = "tribuo.batchSize";
    private static final String OUTPUTS = "tribuo.outputs";
    private static final String INPUT = "input.";
    private static final String RELEVANCE = "relevance.";

    /** What field 2 is called in errors. */
    private static final String CHECKPOINT = "the model's checkpoint (field 2)";

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
                .setSerializedData(pack(metadata, checkpoint(model)))
                .build();
    }

    /** The {@code TransformerModelProto} {@link Any} of {@code metadata} and {@code checkpoint}, with their checksum. */
    static Any pack(ModelDataProto metadata, byte[] checkpoint) {
        try {
            byte[] metadataBytes = metadata.toByteArray();
            ByteString.Output bytes = ByteString.newOutput();
            CodedOutputStream out = CodedOutputStream.newInstance(bytes);
            out.writeByteArray(METADATA_FIELD, metadataBytes);
            out.writeByteArray(CHECKPOINT_FIELD, checkpoint);
            out.writeByteArray(CHECKSUM_FIELD, sha256(metadataBytes, checkpoint));
            out.flush();
            return Any.newBuilder().setTypeUrl(TYPE_URL).setValue(bytes.toByteString()).build();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // writing to memory
        }
    }

    /** The bytes of the checkpoint of {@code model}: its network's weights and the entries above. */
    private static byte[] checkpoint(TransformerModel<?> model) {
        TransformerNetwork network = model.network();
        Map<String, String> metadata = new TreeMap<>(network.architecture().toMetadata());
        metadata.put(KIND_ENTRY, KIND);
        metadata.put(BATCH_SIZE, Integer.toString(model.batchSize()));
        metadata.put(OUTPUTS, Integer.toString(model.getOutputIDInfo().size()));
        network.input().state().forEach((key, value) -> metadata.put(INPUT + key, value));
        model.meanRelevance().forEach((feature, relevance) -> metadata.put(RELEVANCE + feature,
                Double.toString(relevance)));
        return Checkpoint.toBytes(network, null, 0, 0, metadata);
    }

    /**
     * The model of a {@code TransformerModelProto}, its components created through {@code registry}.
     *
     * @throws IllegalStateException naming what is wrong with the data
     */
    static TransformerModel<?> deserialize(int version, String className, Any message, ComponentRegistry registry) {
        if (version < TransformerModel.CURRENT_VERSION) {
            throw new IllegalStateException("TransformerModel: serialization version " + version + " was written by an "
                    + "earlier version of xformers4j, whose format this version does not read (it reads version "
                    + TransformerModel.CURRENT_VERSION + "); train the model again");
        }
        if (version > TransformerModel.CURRENT_VERSION) {
            throw new IllegalStateException("TransformerModel: unknown serialization version " + version
                    + ", this code reads version " + TransformerModel.CURRENT_VERSION);
        }
        if (!TYPE_URL.equals(message.getTypeUrl())) {
            throw new IllegalStateException("TransformerModel: serialized data has type URL '" + message.getTypeUrl()
                    + "', expected '" + TYPE_URL + "'");
        }
        byte[] metadataBytes = null;
        byte[] checkpointBytes = null;
        byte[] checksum = null;
        try {
            CodedInputStream in = message.getValue().newCodedInput();
            for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
                int field = WireFormat.getTagFieldNumber(tag);
                if (field == METADATA_FIELD) {
                    metadataBytes = in.readByteArray();
                } else if (field == CHECKPOINT_FIELD) {
                    checkpointBytes = in.readByteArray();
                } else if (field == CHECKSUM_FIELD) {
                    checksum = in.readByteArray();
                } else {
                    in.skipField(tag);
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("TransformerModel: malformed serialized data: " + e.getMessage(), e);
        }
        if (metadataBytes == null || checkpointBytes == null || checksum == null) {
            throw new IllegalStateException("TransformerModel: serialized data lacks its " + (metadataBytes == null
                    ? "metadata (field 1)" : checkpointBytes == null ? "checkpoint (field 2)"
                    : "SHA-256 checksum (field 3)"));
        }
        if (!MessageDigest.isEqual(checksum, sha256(metadataBytes, checkpointBytes))) {
            throw new IllegalStateException("TransformerModel: the SHA-256 checksum does not match the content: the "
                    + "model data are damaged (a changed, lost or added byte)");
        }
        ModelDataCarrier<?> carrier;
        try {
            carrier = ModelDataCarrier.deserialize(ModelDataProto.parseFrom(metadataBytes));
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("TransformerModel: malformed metadata: " + e.getMessage(), e);
        }
        Checkpoint checkpoint;
        try {
            checkpoint = Checkpoint.read(checkpointBytes, CHECKPOINT);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("TransformerModel: " + e.getMessage(), e);
        }
        try {
            return read(carrier, checkpoint, registry);
        } catch (IllegalArgumentException | PropertyException e) {
            throw new IllegalStateException("TransformerModel: " + CHECKPOINT + ": " + e.getMessage(), e);
        }
    }

    private static byte[] sha256(byte[] metadata, byte[] checkpoint) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            digest.update(metadata);
            digest.update(checkpoint);
            return digest.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e); // every JVM has it
        }
    }

    /**
     * The model whose Tribuo carrier and checkpoint were read; an {@link IllegalArgumentException}
     * or {@link PropertyException} names the checkpoint entry that is wrong.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private static TransformerModel<?> read(ModelDataCarrier carrier, Checkpoint checkpoint,
                                            ComponentRegistry registry) {
        Map<String, String> metadata = checkpoint.metadata();
        if (!KIND.equals(metadata.get(KIND_ENTRY))) {
            throw new IllegalArgumentException("'" + KIND_ENTRY + "' is " + (metadata.get(KIND_ENTRY) == null ? "missing"
                    : "'" + metadata.get(KIND_ENTRY) + "'") + ", expected '" + KIND + "'");
        }
        Map<String, String> inputState = new LinkedHashMap<>();
        Map<String, Double> meanRelevance = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : metadata.entrySet()) {
            String key = e.getKey();
            if (key.startsWith(INPUT)) {
                inputState.put(key.substring(INPUT.length()), e.getValue());
            } else if (key.startsWith(RELEVANCE)) {
                meanRelevance.put(key.substring(RELEVANCE.length()), number(key, e.getValue()));
            } else if (!key.startsWith(Architecture.METADATA_PREFIX) && !key.equals(KIND_ENTRY)
                    && !key.equals(BATCH_SIZE) && !key.equals(OUTPUTS)) {
                throw new IllegalArgumentException("unknown entry '" + key + "'");
            }
        }
        Architecture architecture = Architecture.fromMetadata(metadata);
        int batchSize = positive(metadata, BATCH_SIZE);
        int numOutputs = positive(metadata, OUTPUTS);
        long stored = checkpoint.modelState().values().stream().mapToLong(p -> p.values().length).sum();
        requireParameters(architecture, numOutputs, stored);

        Map<String, Provenance> trainer = carrier.provenance().getTrainerProvenance().getConfiguredParameters();
        InputEncoder encoder = configured(InputEncoder.class, trainer, "encoder");
        OutputHead head = configured(OutputHead.class, trainer, "head");
        OutputHead.Fitted fitted = head.fit(carrier.outputDomain());
        if (fitted.numOutputs() != numOutputs || carrier.outputDomain().size() != numOutputs) {
            throw new IllegalArgumentException("'" + OUTPUTS + "' = " + numOutputs + ", but the output domain has "
                    + carrier.outputDomain().size() + " outputs and the head makes " + fitted.numOutputs());
        }
        SplittableRandom rng = new SplittableRandom(0); // initial weights, all overwritten by the saved ones
        TransformerNetwork network;
        try (AllocationBudget budget = AllocationBudget.forStoredWeights(stored,
                "TransformerModel: the saved architecture")) {
            EncoderModule input = encoder.restore(carrier.featureDomain(), architecture.modelDim(), inputState, rng);
            network = new TransformerNetwork(architecture, input, architecture.encoder(registry, rng),
                    new Linear(architecture.modelDim(), numOutputs, true, rng));
        }
        try {
            network.loadStateDict(checkpoint.modelState());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the saved parameters do not fit the saved architecture: "
                    + e.getMessage(), e);
        }
        return new TransformerModel(carrier.name(), carrier.provenance(), carrier.featureDomain(),
                carrier.outputDomain(), carrier.generatesProbabilities(), network, fitted, batchSize, meanRelevance);
    }

    /** The positive int of entry {@code key}. */
    private static int positive(Map<String, String> metadata, String key) {
        String value = metadata.get(key);
        if (value == null) {
            throw new IllegalArgumentException("no '" + key + "' entry");
        }
        try {
            int n = Integer.parseInt(value);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("'" + key + "' = '" + value + "' is not a positive int");
    }

    /** The finite number of entry {@code key}. */
    private static double number(String key, String value) {
        try {
            double d = Double.parseDouble(value);
            if (Double.isFinite(d)) {
                return d;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("'" + key + "' = '" + value + "' is not a finite number");
    }

    /**
     * Refuses an architecture whose parameters are more than the checkpoint holds, before
     * anything is allocated from it: each block has at least the query and output projections
     * (2 D²) and the feed-forward sublayer (2 D × hidden), besides the register tokens (R × D) and
     * the output layer (D × K). The network built is at most a few times this bound (and inside an
     * {@link AllocationBudget} of the stored weights), which the exact shape check after loading
     * then enforces.
     */
    private static void requireParameters(Architecture architecture, int numOutputs, long stored) {
        double dim = architecture.modelDim();
        double least = architecture.layers() * (2 * dim * dim + 2 * dim * architecture.hiddenSize())
                + architecture.numRegisterTokens() * dim + dim * numOutputs;
        if (least > stored) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "the saved architecture (modelDim %d, "
                    + "hidden %d, %d layers, %d register tokens, %d outputs) needs at least %.0f parameters, but the "
                    + "checkpoint holds %d: the architecture does not match the saved weights",
                    architecture.modelDim(), architecture.hiddenSize(), architecture.layers(),
                    architecture.numRegisterTokens(), numOutputs, least, stored));
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
