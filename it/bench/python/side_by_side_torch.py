#!/usr/bin/python3
"""The PyTorch half of the xformers4j side-by-side benchmark.

Models exactly the language model of examples/char-lm.xml as xformers4j builds it
(Architecture / TransformerDecoder / TransformerBlock / MultiHeadAttention / FeedForward /
RotaryPositionalEncoding): byte vocabulary 256, 4 pre-norm blocks of width 128 with 4 heads,
rotary positions (GPT-NeoX "rotate half" pairs, base 10000, whole head), tied input/output
embeddings, feed-forward 128 -> 512 -> 128 with the exact (erf) GELU, biases on every projection,
residual dropout 0.1 on each sublayer's output, no attention dropout, LayerNorm eps 1e-5 and a
final LayerNorm; 826,112 parameters. Trained with AdamW (lr 2e-3, betas (0.9, 0.95), eps 1e-8,
weight decay 0.1 on the projection weights only, not on biases, norms or the embedding table),
linear warm-up of 100 steps then cosine decay to 0.1 lr over the run, gradient clipping at norm 1.

Workloads (subcommands):
  train      batch 32 x 128 random byte windows of examples/data/moby-dick.txt (training part: the
             first 90% of the text, as LanguageModelTrainer splits it), tokens/s over the steps after
             --warmup-steps, final loss as a sanity check
  generate   greedy decoding at batch 1 and 8 and beam search of width 4 with a hand-written KV cache
             (prompt of 32 tokens, 256 generated), untrained weights, under torch.inference_mode
  attention  naive scaled-dot-product attention (q @ k^T * scale, mask, softmax, @ v, as PyTorch 1.13
             eager computes it) for B=1, H=8, d=64 and N in 512 ... 8192, causal or not, forward or
             forward+backward; ms, GFLOP/s by FlashAttention-2's count, peak resident memory
  all        the three in turn

Every measurement is one JSON object on stdout; progress goes to stderr.

  /usr/bin/python3 it/bench/python/side_by_side_torch.py train --threads 2
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
DEFAULT_TEXT = os.path.join(REPO, "examples", "data", "moby-dick.txt")

# examples/char-lm.xml and the defaults of Architecture / Optimization / RunSettings it relies on
VOCAB = 256
CONTEXT = 128
MODEL_DIM = 128
HEADS = 4
LAYERS = 4
HIDDEN = 4 * MODEL_DIM
DROPOUT = 0.1              # architecture.dropout: residual dropout on each sublayer's branch
ATTENTION_DROPOUT = 0.0    # architecture.attentionDropout (default)
LN_EPS = 1e-5              # LayerNorm's default eps, PyTorch's
ROTARY_BASE = 10000.0
LEARNING_RATE = 0.002
BETAS = (0.9, 0.95)
ADAM_EPS = 1e-8
WEIGHT_DECAY = 0.1
WARMUP = 100
FINAL_LR_FRACTION = 0.1
GRAD_CLIP = 1.0
BATCH = 32
VALIDATION_FRACTION = 0.1
EXPECTED_PARAMETERS = 826_112   # the xformers4j model: 256*128 + 4 * 198,272 + 256


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


def emit(record):
    print(json.dumps(record), flush=True)


# --------------------------------------------------------------------------------------------
# The model


def build_model_classes(torch):
    nn = torch.nn
    F = torch.nn.functional

    class Rotary:
        """cos/sin tables [L, headDim/2], computed in double and rounded to float as Rotation does."""

        def __init__(self, head_dim):
            self.half = head_dim // 2
            i = torch.arange(self.half, dtype=torch.float64)
            self.theta = ROTARY_BASE ** (-2.0 * i / head_dim)
            self.cache = {}

        def table(self, offset, length):
            key = (offset, length)
            if key not in self.cache:
                if len(self.cache) > 8:
                    self.cache.clear()
                pos = torch.arange(offset, offset + length, dtype=torch.float64)
                angle = pos[:, None] * self.theta[None, :]
                self.cache[key] = (torch.cos(angle).float(), torch.sin(angle).float())
            return self.cache[key]

        def rotate(self, x, offset):
            """x [B, H, L, D] at positions offset ... offset + L - 1: x*cos + rotate_half(x)*sin."""
            cos, sin = self.table(offset, x.size(2))
            x1 = x[..., :self.half]
            x2 = x[..., self.half:]
            return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)

    def naive_attention(q, k, v, causal, dropout_p=0.0, training=False):
        """q @ k^T * scale, -inf above the diagonal (aligned to the end for a cached query), softmax, @ v."""
        scale = 1.0 / math.sqrt(q.size(-1))
        att = (q @ k.transpose(-2, -1)) * scale
        lq, lk = q.size(-2), k.size(-2)
        if causal and lq > 1:
            # query i (at position lk - lq + i) may see keys j <= lk - lq + i
            mask = torch.ones(lq, lk, dtype=torch.bool).triu(lk - lq + 1)
            att = att.masked_fill(mask, float("-inf"))
        att = torch.softmax(att, dim=-1)
        if dropout_p > 0.0 and training:
            att = F.dropout(att, dropout_p, True)
        return att @ v

    class KvCache:
        """One block's keys and values [B, H, T, D], grown by concatenation, reordered for beams."""

        def __init__(self):
            self.k = None
            self.v = None

        def length(self):
            return 0 if self.k is None else self.k.size(2)

        def append(self, k, v):
            if self.k is None:
                self.k, self.v = k, v
            else:
                self.k = torch.cat((self.k, k), dim=2)
                self.v = torch.cat((self.v, v), dim=2)
            return self.k, self.v

        def reorder(self, origins):
            self.k = self.k.index_select(0, origins)
            self.v = self.v.index_select(0, origins)

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.query = nn.Linear(MODEL_DIM, MODEL_DIM)
            self.key = nn.Linear(MODEL_DIM, MODEL_DIM)
            self.value = nn.Linear(MODEL_DIM, MODEL_DIM)
            self.output = nn.Linear(MODEL_DIM, MODEL_DIM)
            self.head_dim = MODEL_DIM // HEADS

        def split(self, x):
            b, l, _ = x.shape
            return x.view(b, l, HEADS, self.head_dim).transpose(1, 2)

        def forward(self, x, rotary, cache=None):
            offset = 0 if cache is None else cache.length()
            q = rotary.rotate(self.split(self.query(x)), offset)
            k = rotary.rotate(self.split(self.key(x)), offset)
            v = self.split(self.value(x))
            if cache is not None:
                k, v = cache.append(k, v)
            out = naive_attention(q, k, v, True, ATTENTION_DROPOUT, self.training)
            b, _, l, _ = out.shape
            return self.output(out.transpose(1, 2).reshape(b, l, MODEL_DIM))

    class FeedForward(nn.Module):
        def __init__(self):
            super().__init__()
            self.up = nn.Linear(MODEL_DIM, HIDDEN)
            self.down = nn.Linear(HIDDEN, MODEL_DIM)

        def forward(self, x):
            return self.down(F.gelu(self.up(x)))      # exact GELU (erf), Tensor.gelu() / UnaryOp.GELU_ERF

    class Block(nn.Module):
        """PRE placement: x + Dropout(F(LayerNorm(x))) for attention, then feed-forward."""

        def __init__(self):
            super().__init__()
            self.attentionNorm = nn.LayerNorm(MODEL_DIM, eps=LN_EPS)
            self.attention = Attention()
            self.feedForwardNorm = nn.LayerNorm(MODEL_DIM, eps=LN_EPS)
            self.feedForward = FeedForward()
            self.dropout = nn.Dropout(DROPOUT)

        def forward(self, x, rotary, cache=None):
            x = x + self.dropout(self.attention(self.attentionNorm(x), rotary, cache))
            return x + self.dropout(self.feedForward(self.feedForwardNorm(x)))

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.tokenEmbedding = nn.Parameter(torch.empty(VOCAB, MODEL_DIM))
            self.blocks = nn.ModuleList([Block() for _ in range(LAYERS)])
            self.finalNorm = nn.LayerNorm(MODEL_DIM, eps=LN_EPS)
            self.rotary = Rotary(MODEL_DIM // HEADS)
            # initialisation as xformers4j: embedding N(0, 0.02^2), Linear xavier-uniform weights and zero biases
            nn.init.normal_(self.tokenEmbedding, 0.0, 0.02)
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.xavier_uniform_(m.weight)
                    nn.init.zeros_(m.bias)

        def new_caches(self):
            return [KvCache() for _ in self.blocks]

        def forward(self, ids, caches=None):
            """ids [B, L] -> logits [B, L, V]; with caches, ids are the positions after the cached ones."""
            x = F.embedding(ids, self.tokenEmbedding)
            for i, block in enumerate(self.blocks):
                x = block(x, self.rotary, None if caches is None else caches[i])
            x = self.finalNorm(x)
            return x @ self.tokenEmbedding.t()     # tied embeddings

        def optimizer_groups(self):
            """Weight decay on the projection weights only, as Module.registerParameter(…, decay) marks them."""
            decay, no_decay = [], []
            for name, p in self.named_parameters():
                is_linear_weight = name.endswith(".weight") and p.dim() == 2 and name != "tokenEmbedding"
                (decay if is_linear_weight else no_decay).append(p)
            return [{"params": decay, "weight_decay": WEIGHT_DECAY},
                    {"params": no_decay, "weight_decay": 0.0}]

    return Decoder, naive_attention


def learning_rate(step, total_steps):
    """Optimization WARMUP_COSINE: linear warm-up, then cosine from lr at decay step 1 to the floor."""
    floor = LEARNING_RATE * FINAL_LR_FRACTION
    decay_steps = max(1, total_steps - WARMUP)

    def cosine(t):
        progress = min(t - 1, decay_steps) / decay_steps
        return floor + (LEARNING_RATE - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return cosine(1) * step / WARMUP if step <= WARMUP else cosine(step - WARMUP)


# --------------------------------------------------------------------------------------------
# Environment checks


def blas_info(torch):
    """What BLAS the process really uses: torch's build string and the libraries mapped in."""
    config = torch.__config__.show()
    build = ""
    for part in config.replace("\n", ",").split(","):
        if "BLAS_INFO" in part:
            build = part.strip()
    mapped = set()
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                base = os.path.basename(path).lower()
                if any(s in base for s in ("blas", "mkl", "lapack", "gomp", "iomp")):
                    mapped.add(os.path.realpath(path))
    except OSError:
        pass
    text = (build + " " + " ".join(sorted(mapped))).lower()
    fast = "openblas" in text or "mkl" in text or "blis" in text
    return build, sorted(mapped), fast


def check_environment(torch, threads):
    build, mapped, fast = blas_info(torch)
    log("torch %s from %s" % (torch.__version__, os.path.dirname(torch.__file__)))
    log("torch build: %s; BLAS libraries mapped: %s" % (build or "?", ", ".join(mapped) or "none"))
    log("threads: torch %d (interop %d), OMP_NUM_THREADS=%s OPENBLAS_NUM_THREADS=%s OMP_WAIT_POLICY=%s; "
        "load average %s" % (torch.get_num_threads(), torch.get_num_interop_threads(),
                             os.environ.get("OMP_NUM_THREADS"), os.environ.get("OPENBLAS_NUM_THREADS"),
                             os.environ.get("OMP_WAIT_POLICY"), load_average()))
    if not fast:
        log("WARNING: torch is not using OpenBLAS or MKL (BLAS_INFO=generic and no optimised BLAS mapped): "
            "matrix products run on reference BLAS (~5 GFLOP/s) and every number below is meaningless. "
            "Use Debian's python3-torch (/usr/bin/python3) with libopenblas0-openmp.")
    return {"torch": torch.__version__, "blas": " ".join(mapped) or build, "optimised_blas": fast,
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")}


def load_average():
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def common(env):
    """The fields every record carries: the software and how busy the machine was when it ended."""
    return {"torch": env["torch"], "blas": env["blas"], "omp_wait_policy": env["omp_wait_policy"],
            "load_average": load_average()}


def rss_peak_reset():
    """Resets the kernel's peak RSS (VmHWM) of this process; returns the current RSS in bytes, or None."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return read_status("VmRSS")
    except OSError:
        return None


def read_status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return None


def available_bytes():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


# --------------------------------------------------------------------------------------------
# Workloads


def training_text(path):
    """The training part of the text as LanguageModelTrainer splits it: the first 90% of code points."""
    import struct
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    # Java: (int) (codePointCount * (1 - validationFraction)), in float arithmetic
    f32 = lambda x: struct.unpack("f", struct.pack("f", x))[0]
    fraction = f32(1 - f32(VALIDATION_FRACTION))
    split = int(f32(len(text) * fraction))
    return text[:split].encode("utf-8")


def run_train(torch, args, env):
    Decoder, _ = build_model_classes(torch)
    torch.manual_seed(args.seed)
    model = Decoder()
    count = sum(p.numel() for p in model.parameters())
    log("parameters: %d (xformers4j: %d)%s" % (count, EXPECTED_PARAMETERS,
                                              "" if count == EXPECTED_PARAMETERS else "  MISMATCH"))
    data = torch.frombuffer(bytearray(training_text(args.text)), dtype=torch.uint8).long()
    gen = torch.Generator().manual_seed(args.seed)
    optimizer = torch.optim.AdamW(model.optimizer_groups(), lr=LEARNING_RATE, betas=BETAS, eps=ADAM_EPS)
    total = args.steps
    schedule_steps = args.schedule_steps or total
    positions = torch.arange(CONTEXT)
    model.train()
    step_seconds = []
    losses = []
    start = None
    for step in range(1, total + 1):
        if step == args.warmup_steps + 1:
            start = time.perf_counter()
        t0 = time.perf_counter()
        offsets = torch.randint(0, data.numel() - CONTEXT, (args.batch,), generator=gen)
        index = offsets[:, None] + positions[None, :]
        inputs, targets = data[index], data[index + 1]
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, schedule_steps)
        logits = model(inputs)
        loss = torch.nn.functional.cross_entropy(logits.view(-1, VOCAB), targets.view(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        optimizer.step()
        losses.append(loss.item())
        step_seconds.append(time.perf_counter() - t0)
        if step % 50 == 0 or step == total:
            log("step %d/%d loss %.4f  %.1f ms/step" % (step, total, losses[-1], 1000 * step_seconds[-1]))
    elapsed = time.perf_counter() - start
    timed = total - args.warmup_steps
    tokens = timed * args.batch * CONTEXT
    record = {"engine": "pytorch", "workload": "train", "threads": args.threads, "batch": args.batch,
              "context": CONTEXT, "parameters": count, "steps": total, "timed_steps": timed,
              "tokens_per_s": tokens / elapsed,
              "median_step_ms": 1000 * statistics.median(step_seconds[args.warmup_steps:]),
              "final_loss": losses[-1], "final_loss_mean10": statistics.mean(losses[-10:]),
              "initial_loss": losses[0]}
    record.update(common(env))
    emit(record)


def greedy(torch, model, prompt, new_tokens):
    caches = model.new_caches()
    logits = model(prompt, caches)
    out = []
    token = logits[:, -1].argmax(-1, keepdim=True)
    out.append(token)
    for _ in range(new_tokens - 1):
        logits = model(token, caches)
        token = logits[:, -1].argmax(-1, keepdim=True)
        out.append(token)
    return torch.cat(out, dim=1)


def beam_search(torch, model, prompt, new_tokens, beams):
    """Beam search without end token: prompt [1, P]; every step keeps the `beams` best continuations
    by summed log-probability and reorders the caches to their origins."""
    caches = model.new_caches()
    logits = model(prompt.expand(beams, -1).contiguous(), caches)[:, -1]          # [beams, V]
    scores = torch.full((beams,), float("-inf"))
    scores[0] = 0.0                                  # the beams start identical: expand only the first
    sequences = torch.empty(beams, 0, dtype=torch.long)
    for step in range(new_tokens):
        candidates = scores[:, None] + torch.log_softmax(logits, dim=-1)           # [beams, V]
        scores, flat = candidates.view(-1).topk(beams)
        origins = torch.div(flat, VOCAB, rounding_mode="floor")
        tokens = flat % VOCAB
        sequences = torch.cat((sequences.index_select(0, origins), tokens[:, None]), dim=1)
        if step == new_tokens - 1:
            break
        for cache in caches:
            cache.reorder(origins)
        logits = model(tokens[:, None], caches)[:, -1]
    return sequences[0]


def run_generate(torch, args, env):
    Decoder, _ = build_model_classes(torch)
    torch.manual_seed(args.seed)
    model = Decoder().eval()
    gen = torch.Generator().manual_seed(args.seed + 1)
    cases = [("greedy", 1), ("greedy", 8), ("beam", 4)]
    for strategy, width in cases:
        times = []
        for run in range(args.gen_warmup + args.gen_runs):
            with torch.inference_mode():
                rows = 1 if strategy == "beam" else width
                prompt = torch.randint(32, 127, (rows, args.prompt), generator=gen)
                t0 = time.perf_counter()
                if strategy == "greedy":
                    greedy(torch, model, prompt, args.new_tokens)
                else:
                    beam_search(torch, model, prompt, args.new_tokens, width)
                elapsed = time.perf_counter() - t0
            if run >= args.gen_warmup:
                times.append(elapsed)
        median = statistics.median(times)
        sequences = 1 if strategy == "beam" else width
        record = {"engine": "pytorch", "workload": "generate", "threads": args.threads, "strategy": strategy,
                  "batch": width if strategy == "greedy" else 1, "beams": width if strategy == "beam" else None,
                  "prompt": args.prompt, "new_tokens": args.new_tokens, "kv_cache": True,
                  "median_ms": 1000 * median, "min_ms": 1000 * min(times), "runs": len(times),
                  # generated tokens of the returned sequences per second (beam: of the best sequence)
                  "tokens_per_s": sequences * args.new_tokens / median,
                  # token positions the network processes per second after the prompt (beam: every beam)
                  "positions_per_s": width * args.new_tokens / median,
                  }
        record.update(common(env))
        log("%s width %d: %.1f ms median of %d, %.0f tokens/s" % (strategy, width, record["median_ms"],
                                                                  len(times), record["tokens_per_s"]))
        emit(record)


def run_attention(torch, args, env):
    _, naive_attention = build_model_classes(torch)
    b, h, d = 1, args.heads, args.dim
    gen = torch.Generator().manual_seed(args.seed)
    for n in args.lengths:
        for causal in (False, True):
            for backward in (False, True):
                flops = 4.0 * b * h * n * n * d * (3.5 if backward else 1.0) * (0.5 if causal else 1.0)
                # rough peak: two live N x N matrices forward (scores and scaled or softmax), about four
                # backward (softmax output, its gradient, the scores' gradient, the scaled one); with a margin
                need = (3 if not backward else 5) * b * h * n * n * 4
                avail = available_bytes()
                base = {"engine": "pytorch", "workload": "attention", "threads": args.threads, "impl": "naive",
                        "batch": b, "heads": h, "length": n, "dim": d, "causal": causal, "backward": backward}
                if avail is not None and need > 0.85 * avail:
                    log("N=%d causal=%s backward=%s: skipped, needs ~%.1f GiB, %.1f GiB available" % (
                        n, causal, backward, need / 2 ** 30, avail / 2 ** 30))
                    emit(dict(base, skipped="needs ~%d MiB, %d MiB available" % (need >> 20, avail >> 20)))
                    continue
                q, k, v = (torch.randn(b, h, n, d, generator=gen) for _ in range(3))
                grad = torch.randn(b, h, n, d, generator=gen) if backward else None
                if backward:
                    for t in (q, k, v):
                        t.requires_grad_(True)
                times, peaks = [], []
                runs = 0
                budget_start = time.perf_counter()
                while True:
                    baseline = rss_peak_reset()
                    t0 = time.perf_counter()
                    if backward:
                        out = naive_attention(q, k, v, causal)
                        out.backward(grad)
                        q.grad = k.grad = v.grad = None
                    else:
                        with torch.no_grad():
                            out = naive_attention(q, k, v, causal)
                    elapsed = time.perf_counter() - t0
                    peak = read_status("VmHWM") if baseline is not None else None
                    del out
                    runs += 1
                    if runs > args.attn_warmup:
                        times.append(elapsed)
                        if peak is not None:
                            peaks.append(peak - baseline)
                    spent = time.perf_counter() - budget_start
                    if len(times) >= args.attn_runs or (len(times) >= 1 and spent > args.attn_max_seconds):
                        break
                ms = 1000 * statistics.median(times)
                record = dict(base, ms=ms, min_ms=1000 * min(times), runs=len(times),
                              gflops=flops / (ms / 1000) / 1e9,
                              peak_bytes=max(peaks) if peaks else None, **common(env))
                log("N=%5d causal=%-5s backward=%-5s %9.1f ms %6.1f GFLOP/s peak %s MiB (%d runs)" % (
                    n, causal, backward, ms, record["gflops"],
                    "%.0f" % (record["peak_bytes"] / 2 ** 20) if peaks else "?", len(times)))
                emit(record)
                del q, k, v, grad


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("workload", choices=["train", "generate", "attention", "all"])
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads (torch, OpenMP, OpenBLAS)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--omp-wait-policy", default="PASSIVE", choices=["PASSIVE", "ACTIVE"],
                        help="OMP_WAIT_POLICY unless already set in the environment (default PASSIVE: "
                             "the machine is shared, see the README)")
    parser.add_argument("--text", default=DEFAULT_TEXT, help="training text (default: examples/data/moby-dick.txt)")
    parser.add_argument("--steps", type=int, default=300, help="training steps in all")
    parser.add_argument("--warmup-steps", type=int, default=50, help="untimed training steps at the start")
    parser.add_argument("--schedule-steps", type=int, default=0,
                        help="steps the learning-rate schedule spans (default: --steps, as a run of that many steps)")
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--prompt", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=256)
    parser.add_argument("--gen-runs", type=int, default=5)
    parser.add_argument("--gen-warmup", type=int, default=1)
    parser.add_argument("--lengths", type=lambda s: [int(x) for x in s.split(",")],
                        default=[512, 1024, 2048, 4096, 8192])
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--attn-runs", type=int, default=5)
    parser.add_argument("--attn-warmup", type=int, default=1)
    parser.add_argument("--attn-max-seconds", type=float, default=20.0,
                        help="stop repeating a case after this long (at least one timed run)")
    args = parser.parse_args()
    if args.warmup_steps >= args.steps:
        parser.error("--warmup-steps must be below --steps")

    if args.workload == "attention" and os.environ.get("MALLOC_MMAP_THRESHOLD_") is None:
        # Peak memory is read from the kernel (VmHWM), so every large tensor must go back to the
        # kernel when freed: a fixed mmap threshold stops glibc from raising it to 32 MiB after the
        # first free and keeping smaller score matrices in its heap. glibc reads it at start-up.
        env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072")
        os.execve(sys.executable, [sys.executable] + sys.argv, env)

    # before torch loads OpenMP and OpenBLAS
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    # GNU OpenMP spins at its barriers by default; on a shared machine with more runnable threads
    # than cores a spinning thread takes the core its partner needs, and 2-thread steps got 10x slower
    # than 1-thread ones. PASSIVE (sleep at once) unless the caller chose a policy.
    os.environ.setdefault("OMP_WAIT_POLICY", args.omp_wait_policy)
    import torch
    torch.set_num_threads(args.threads)
    env = check_environment(torch, args.threads)

    if args.workload in ("train", "all"):
        run_train(torch, args, env)
    if args.workload in ("generate", "all"):
        run_generate(torch, args, env)
    if args.workload == "attention":
        run_attention(torch, args, env)
    elif args.workload == "all":
        # in a process of its own, started with the malloc setting its memory figures need
        import subprocess
        argv = [sys.executable, os.path.abspath(__file__), "attention"] + [
            a for a in sys.argv[1:] if a != "all"]
        sys.exit(subprocess.call(argv))


if __name__ == "__main__":
    main()
