package org.xformers4j.models.command;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.function.Supplier;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.tribuo.Example;
import org.tribuo.Model;
import org.tribuo.classification.Label;
import org.xformers4j.component.attention.AttentionContext.Grid;
import org.xformers4j.component.attention.WeightedAttention;
import org.xformers4j.models.lm.LanguageModel;
import org.xformers4j.models.lm.Seq2SeqModel;
import org.xformers4j.models.lm.TextGenerator;
import org.xformers4j.models.nn.TokenSelection;
import org.xformers4j.models.nn.TransformerBlock;
import org.xformers4j.models.nn.TransformerEncoder;
import org.xformers4j.models.plot.AttentionHeatMap;
import org.xformers4j.models.text.Tokenizer;
import org.xformers4j.models.tribuo.EncoderModule;
import org.xformers4j.models.tribuo.TransformerModel;
import org.xformers4j.registry.CommandLine;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.HostCommand;
import org.xformers4j.registry.UsageException;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * {@code xformers4j attention-map --model MODEL (--input CSV --row N | --prompt TEXT) [--layer L|all]
 * [--head H|all] --out FILE.png [--label COLUMN] [--text COLUMN] [--id COLUMN] [--separator CHAR]}: draws the
 * self-attention weights of one layer and head of a saved model for one input as a heat map
 * ({@link AttentionHeatMap}): query rows × key columns, the tokens as axis labels, a colour bar,
 * and a title naming the model, the mechanism, the layer and the head (Vig, 2019, BertViz; Wang et
 * al., 2020, Linformer, Figure 1). {@code --head all} draws every head of the layer side by side,
 * {@code --layer all} one row per layer: a grid of small maps on one colour scale. Layers and heads
 * count from 0; the defaults are layer 0 and head 0.
 *
 * <p>The models and their inputs: a classifier saved by {@code train --save} (a {@code .tribuo}
 * file) reads row {@code N} (from 1, after the header, as {@code predict} numbers them) of the
 * CSV or TSV file {@code --input}, whose columns are read as {@code predict} reads them
 * ({@link SavedClassifier#columns}); its tokens are labelled {@code [CLS]} and {@code [REG1]} … for
 * the prepended ones, {@code (row,col)} for image patches, the feature's name for feature tokens,
 * the word for text. A language model directory ({@code lm train --save}) reads the text of
 * {@code --prompt}, its causal self-attention shown over the prompt's tokens; a
 * sequence-to-sequence model directory shows its encoder's self-attention over the prompt as
 * source ({@code [CLS]} with CLS pooling, its tokens, {@value Seq2SeqModel#END_TOKEN}). Text
 * tokens are shown quoted, with {@code \n}, {@code \t} and {@code \r} escaped. In a token selection
 * block ({@link TokenSelection}) the tokens that bypass it have empty rows and columns, which the
 * subtitle says.
 *
 * <p>The weights are those {@link TransformerEncoder#attentionWeights} and {@link
 * org.xformers4j.models.nn.TransformerDecoder#attentionWeights} report: the weights the mechanism
 * applies to the values, which only a mechanism that is a {@link WeightedAttention} can report; a
 * layer of any other mechanism (a kernel or low-rank attention, which never forms the weights) is
 * refused with exit code 2, naming it. The PNG is written atomically.
 */
@Component(service = Function.class, property = {
        HostCommand.NAME_PROPERTY + "=attention-map",
        HostCommand.SUMMARY_PROPERTY + "=Draws one layer's and head's attention weights for one input as a PNG "
                + "heat map"})
public final class AttentionMapCommand extends Command {

    private static final String ALL = "all";
    /** The most characters of a prompt the subtitle repeats. */
    private static final int PROMPT_SHOWN = 60;

    private static final CommandLine.Syntax SYNTAX = CommandLine.syntax().values("--model", "--input", "--row",
            "--prompt", "--layer", "--head", "--out", "--label", "--text", "--id", "--separator");

    private final ComponentRegistry registry;

    @Activate
    public AttentionMapCommand(@Reference(name = "registry") ComponentRegistry registry) {
        this.registry = registry;
    }

    /**
     * A loaded model: its attention blocks (checked before anything is computed), its encoder's token
     * selection (null for none) and how to read the input's weights and tokens.
     */
    private record Source(List<TransformerBlock> blocks, TokenSelection selection, Supplier<Input> input) {
    }

    /**
     * The input's weights and tokens.
     *
     * @param weights     per block [1, heads, N, N]
     * @param tokens      the N tokens' labels
     * @param description what the input is, for the picture's subtitle
     */
    private record Input(List<Tensor> weights, List<String> tokens, String description) {
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) {
        CommandLine line;
        Path modelPath;
        Path png;
        try {
            line = SYNTAX.parse(args);
            modelPath = line.path("--model");
            png = line.path("--out");
            if (!png.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png")) {
                throw new UsageException("--out must name a .png file, got '" + png + "'");
            }
            if (line.has("--prompt") == line.has("--input") || line.has("--input") != line.has("--row")) {
                throw new UsageException("give either --input CSV --row N (a classifier) or --prompt TEXT (a text "
                        + "model)");
            }
            line.positiveInteger("--row", 1);
            selected(line, "--layer", Integer.MAX_VALUE, "layers");
            selected(line, "--head", Integer.MAX_VALUE, "heads");
        } catch (UsageException e) {
            return usageError(err, "attention-map: " + e.getMessage());
        }
        boolean text = Files.isDirectory(modelPath);
        if (text != line.has("--prompt")) {
            return usageError(err, "attention-map: " + modelPath + (text ? " is a text model directory: give --prompt "
                    + "TEXT" : " is not a text model directory: a classifier reads --input CSV --row N"));
        }
        Source source;
        int layer;
        int head;
        try {
            source = text ? textSource(TextGenerator.load(modelPath, registry), line.required("--prompt"))
                    : classifierSource(modelPath, line, err);
        } catch (RuntimeException e) {
            return failure(err, "attention-map: " + messages(e));
        }
        List<TransformerBlock> blocks = source.blocks();
        try {
            layer = selected(line, "--layer", blocks.size(), "layers");
            head = selected(line, "--head", blocks.get(0).attention().heads(), "heads");
            for (int l = 0; l < blocks.size(); l++) {
                if ((layer < 0 || layer == l) && !(blocks.get(l).attention().mechanism() instanceof WeightedAttention)) {
                    throw new UsageException("layer " + l + "'s attention mechanism '" + blocks.get(l).mechanismName()
                            + "' cannot report its attention weights (it is not a WeightedAttention: it never forms "
                            + "them); attention maps need a mechanism that does, such as full");
                }
            }
        } catch (UsageException e) {
            return usageError(err, "attention-map: " + e.getMessage());
        }
        Input input;
        List<AttentionHeatMap.Map> maps = new ArrayList<>();
        try {
            input = source.input().get();
            int n = input.tokens().size();
            for (int l = layer < 0 ? 0 : layer; l <= (layer < 0 ? blocks.size() - 1 : layer); l++) {
                float[] weights = input.weights().get(l).toFloatArray();                  // [1, H, N, N]
                int heads = weights.length / (n * n);
                for (int h = head < 0 ? 0 : head; h <= (head < 0 ? heads - 1 : head); h++) {
                    maps.add(new AttentionHeatMap.Map("layer " + l + ", head " + h, n,
                            Arrays.copyOfRange(weights, h * n * n, (h + 1) * n * n)));
                }
            }
            String title = modelPath.getFileName() + ": " + blocks.get(Math.max(layer, 0)).mechanismName()
                    + " attention, " + (layer < 0 ? "every layer" : "layer " + layer) + ", "
                    + (head < 0 ? "every head" : "head " + head);
            String subtitle = input.description() + ", " + n + " tokens; row i holds query i's weights on the keys"
                    + bypassNote(source.selection(), layer);
            int columns = head < 0 ? blocks.get(0).attention().heads() : maps.size();
            AttentionHeatMap.write(png, title, subtitle, input.tokens(), maps, columns);
        } catch (IOException e) {
            return failure(err, "attention-map: cannot write " + png + ": " + messages(e));
        } catch (RuntimeException e) {
            return failure(err, "attention-map: " + messages(e));
        }
        out.printf(Locale.ROOT, "%d attention map%s (%s, %s; %d tokens) written to %s%n", maps.size(),
                maps.size() == 1 ? "" : "s", layer < 0 ? "every layer" : "layer " + layer,
                head < 0 ? "every head" : "head " + head, input.tokens().size(), png);
        return OK;
    }

    /**
     * The value of {@code option}: a layer or head index below {@code count}, or -1 for {@code all};
     * 0 when not given.
     *
     * @throws UsageException for anything else, naming the model's count of {@code what}
     */
    private static int selected(CommandLine line, String option, int count, String what) {
        String value = line.value(option, "0");
        if (value.equals(ALL)) {
            return -1;
        }
        int index = line.nonNegativeInteger(option, 0);
        if (index >= count) {
            throw new UsageException(option + " " + index + ": the model has " + count + " " + what + ", numbered from 0");
        }
        return index;
    }

    /** A classifier saved by {@code train --save} and row {@code --row} of the CSV file {@code --input}. */
    private Source classifierSource(Path file, CommandLine line, PrintStream err) {
        Model<Label> model = SavedClassifier.load(file, registry);
        if (!(model instanceof TransformerModel<Label> transformer)) {
            throw new IllegalArgumentException("model " + file + " is a " + model.getClass().getSimpleName()
                    + ", not a transformer: it has no attention to draw");
        }
        TransformerEncoder encoder = transformer.encoder();
        List<TransformerBlock> blocks = new ArrayList<>();
        for (int l = 0; l < encoder.config().layers(); l++) {
            blocks.add(encoder.block(l));
        }
        return new Source(blocks, encoder.config().tokenSelection(), () -> {
            Path csv = line.path("--input");
            int row = line.positiveInteger("--row", 1);
            Example<Label> example = row(model, csv, row, LabelCsv.Columns.of(line), err);
            EncoderModule input = transformer.inputEncoder();
            List<Tensor> weights;
            try (GradMode.Scope ignored = GradMode.noGrad()) {
                EncoderModule.Tokens tokens = input.forward(List.of(example));
                weights = encoder.attentionWeights(tokens.embeddings(), tokens.paddingMask(), input.grid());
            }
            List<String> labels = prefix(encoder);
            List<List<String>> features = input.tokenFeatures(example);
            Grid grid = input.grid();
            for (int t = 0; t < features.size(); t++) {
                labels.add(grid != null && t >= grid.start() && t < grid.start() + grid.cells()
                        ? "(" + (t - grid.start()) / grid.cols() + "," + (t - grid.start()) % grid.cols() + ")"
                        : String.join("+", features.get(t)));
            }
            return new Input(weights, labels, "row " + row + " of " + csv.getFileName());
        });
    }

    /** Row {@code row} (from 1, after the header) of {@code csv}, read as {@code predict} reads it. */
    private static Example<Label> row(Model<Label> model, Path csv, int row, LabelCsv.Columns given,
                                      PrintStream err) {
        List<Example<Label>> found = new ArrayList<>(1);
        int[] rows = {0};
        try (CsvTable table = given.open(csv)) {
            LabelCsv.Columns columns = SavedClassifier.columns(model, table, given, "attention-map", err);
            LabelCsv.forEach(table, columns, false, (id, example) -> {
                if (++rows[0] == row) {
                    found.add(example);
                }
            });
        }
        if (found.isEmpty()) {
            throw new IllegalArgumentException("--row " + row + ": " + csv + " has " + rows[0] + " rows");
        }
        return found.get(0);
    }

    /**
     * A language model's causal self-attention over {@code prompt}, or a sequence-to-sequence
     * model's encoder self-attention over it as source.
     */
    private static Source textSource(TextGenerator model, String prompt) {
        Tokenizer tokenizer = model.tokenizer();
        int[] ids = tokenizer.encode(prompt);
        String description = "prompt \"" + (prompt.length() <= PROMPT_SHOWN ? prompt
                : prompt.substring(0, PROMPT_SHOWN - 1) + "…") + "\"";
        if (model instanceof Seq2SeqModel seq2seq) {
            TransformerEncoder encoder = seq2seq.encoder();
            int end = tokenizer.tokenId(Seq2SeqModel.END_TOKEN).orElseThrow(() -> new IllegalArgumentException(
                    "the model's tokenizer has no " + Seq2SeqModel.END_TOKEN + " token"));
            int[] source = Arrays.copyOf(ids, ids.length + 1);
            source[ids.length] = end;
            checkLength(source.length, model.contextLength());
            List<TransformerBlock> blocks = new ArrayList<>();
            for (int l = 0; l < encoder.config().layers(); l++) {
                blocks.add(encoder.block(l));
            }
            return new Source(blocks, encoder.config().tokenSelection(), () -> {
                List<Tensor> weights;
                try (GradMode.Scope ignored = GradMode.noGrad()) {
                    weights = encoder.attentionWeights(seq2seq.decoder().embed(new int[][] {source}), null);
                }
                List<String> labels = prefix(encoder);
                labels.addAll(tokenLabels(tokenizer, ids));
                labels.add(Seq2SeqModel.END_TOKEN);
                return new Input(weights, labels, description + " as source");
            });
        }
        LanguageModel lm = (LanguageModel) model;
        checkLength(ids.length, model.contextLength());
        List<TransformerBlock> blocks = new ArrayList<>();
        for (int l = 0; l < lm.decoder().config().layers(); l++) {
            blocks.add(lm.decoder().block(l));
        }
        return new Source(blocks, null, () -> new Input(lm.decoder().attentionWeights(new int[][] {ids}, null),
                tokenLabels(tokenizer, ids), description));
    }

    /**
     * A note for the subtitle when token selection lets tokens bypass the shown layer (any layer, for
     * {@code layer} -1): their rows and columns are empty.
     */
    private static String bypassNote(TokenSelection selection, int layer) {
        if (selection == null || layer >= 0 && !selection.selects(layer)) {
            return "";
        }
        return "; the tokens that bypass " + (layer < 0 ? "the token selection layers " + selection.layers()
                : "this token selection layer") + " have empty rows and columns";
    }

    private static void checkLength(int tokens, int contextLength) {
        int most = Math.min(contextLength, AttentionHeatMap.MAX_TOKENS);
        if (tokens < 1 || tokens > most) {
            throw new IllegalArgumentException("--prompt makes " + tokens + " tokens; a map shows 1 to " + most
                    + (most == contextLength ? " (the model's context)" : ""));
        }
    }

    /** The labels of the encoder's prepended tokens: {@code [CLS]} for CLS pooling, then {@code [REG1]} …. */
    private static List<String> prefix(TransformerEncoder encoder) {
        List<String> labels = new ArrayList<>();
        if (encoder.config().pooling() == TransformerEncoder.Pooling.CLS) {
            labels.add("[CLS]");
        }
        for (int r = 1; r <= encoder.config().numRegisterTokens(); r++) {
            labels.add("[REG" + r + "]");
        }
        return labels;
    }

    /** Each token's text, quoted, with line breaks and tabs escaped. */
    private static List<String> tokenLabels(Tokenizer tokenizer, int[] ids) {
        List<String> labels = new ArrayList<>(ids.length);
        for (int id : ids) {
            String token = tokenizer.decode(new int[] {id});
            labels.add("'" + token.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
                    + "'");
        }
        return labels;
    }

    @Override
    protected String usage() {
        return "usage: xformers4j attention-map --model MODEL (--input CSV --row N | --prompt TEXT) [--layer L|all] "
                + "[--head H|all] --out FILE.png [--label COLUMN] [--text COLUMN] [--id COLUMN] [--separator CHAR]";
    }
}
