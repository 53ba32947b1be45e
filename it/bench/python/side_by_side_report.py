#!/usr/bin/python3
"""The report of it/bench/side-by-side.sh: medians per engine of the JSON lines it appended, and the
ratios issue 14 targets, as Markdown tables.

    /usr/bin/python3 it/bench/python/side_by_side_report.py it/bench/target/side-by-side.jsonl

Lines: xformers4j's `bench char-lm`, `bench attention --json` and `bench gemm --json` (tagged with the
engine and thread count by side-by-side.sh), side_by_side_torch.py's and SideBySideDjl's.
Only the standard library.
"""

import collections
import json
import statistics
import sys


# 6 FLOPs per parameter and token (forward and backward of the 826,112 weights) plus causal attention's
# 4·L·D / 2 per token and layer forward (L = 128 positions, D = 128 across heads) and 2.5 times that backward,
# over 4 layers
TRAINING_FLOPS_PER_TOKEN = 6 * 826112 + 4 * (4 * 128 * 128 / 2) * 3.5


def load(path):
    records = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit("%s:%d: not a JSON object: %s" % (path, number, e))
    return records


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(x, digits=0):
    return "–" if x is None else ("%%.%df" % digits) % x


def generation_case(r):
    """(strategy, batch) with the engines' names made one: greedy/1, greedy/8, beam4/1."""
    strategy = r.get("strategy")
    if strategy in ("beam", "beam4"):
        return "beam4", 1
    return "greedy", r.get("batch")


def main(path):
    records = load(path)
    by = collections.defaultdict(list)
    for r in records:
        if "skipped" in r:
            continue
        w = r.get("workload") or ("gemm" if "simd_gflops" in r else "attention" if "impl" in r else None)
        engine, threads = r.get("engine"), r.get("threads")
        if w == "train":
            by[("train", engine, threads)].append(r["tokens_per_s"])
        elif w == "generate":
            by[("generate", engine, threads) + generation_case(r)].append(r["tokens_per_s"])
        elif w == "attention":
            key = ("attention", engine, threads, r.get("impl"), r["length"], bool(r["causal"]), bool(r["backward"]))
            by[key].append((r["ms"], r.get("gflops"), r.get("peak_bytes")))
        elif w == "gemm":
            by[("gemm", engine, threads)].append(r["simd_gflops"])
    threads = sorted({k[2] for k in by if k[2] is not None})

    print("## Training, tokens/s (median)\n")
    print("| threads | xformers4j | PyTorch | DJL | vs PyTorch (target ≥ 2) | vs DJL (target ≥ 1.5) | step / in-run SGEMM |")
    print("|---|---|---|---|---|---|---|")
    for t in threads:
        ours = median(by.get(("train", "xformers4j", t), []))
        torch = median(by.get(("train", "pytorch", t), []))
        djl = median(by.get(("train", "djl", t), []))
        gemm = median(by.get(("gemm", "xformers4j", t), []))
        step_rate = ours * TRAINING_FLOPS_PER_TOKEN / 1e9 if ours else None
        print("| %s | %s | %s | %s | %s | %s | %s |" % (
            t, fmt(ours), fmt(torch), fmt(djl), fmt(ratio(ours, torch), 2), fmt(ratio(ours, djl), 2),
            "%s of %s GFLOP/s = %s" % (fmt(step_rate, 1), fmt(gemm, 1), fmt(ratio(step_rate, gemm), 2))
            if gemm else "–"))

    print("\n## Generation, tokens/s (median; 32-token prompt + 256 tokens, KV cache)\n")
    print("| case | threads | xformers4j | PyTorch | DJL | vs PyTorch (target ≥ 2 for greedy batch 1) |")
    print("|---|---|---|---|---|---|")
    for case in (("greedy", 1), ("greedy", 8), ("beam4", 1)):
        for t in threads:
            ours = median(by.get(("generate", "xformers4j", t) + case, []))
            torch = median(by.get(("generate", "pytorch", t) + case, []))
            djl = median(by.get(("generate", "djl", t) + case, []))
            print("| %s batch %d | %s | %s | %s | %s | %s |" % (case[0], case[1], t, fmt(ours), fmt(torch), fmt(djl),
                                                             fmt(ratio(ours, torch), 2)))

    print("\n## Exact attention B1 H8 d64, GFLOP/s (FlashAttention-2 count; median)\n")
    print("| threads | N | causal | pass | flash | full | PyTorch naive | flash / naive (target ≥ 2 at 2048, fwd+bwd) "
          "| flash / full (target > 1 for N ≥ 512) | flash MiB | naive MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    lengths = sorted({k[4] for k in by if k[0] == "attention"})
    for t in threads:
        for n in lengths:
            for causal in (False, True):
                for backward in (False, True):
                    def cell(engine, impl, index):
                        return median([x[index] for x in by.get(("attention", engine, t, impl, n, causal, backward), [])])
                    flash, full, naive = cell("xformers4j", "flash", 1), cell("xformers4j", "full", 1), \
                        cell("pytorch", "naive", 1)
                    if flash is None and naive is None:
                        continue
                    flash_mib, naive_mib = cell("xformers4j", "flash", 2), cell("pytorch", "naive", 2)
                    print("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                        t, n, "yes" if causal else "no", "fwd+bwd" if backward else "fwd", fmt(flash, 1), fmt(full, 1),
                        fmt(naive, 1), fmt(ratio(flash, naive), 2), fmt(ratio(flash, full), 2),
                        fmt(flash_mib / 2 ** 20 if flash_mib is not None else None, 1),
                        fmt(naive_mib / 2 ** 20 if naive_mib is not None else None, 1)))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: side_by_side_report.py SIDE-BY-SIDE.jsonl")
    main(sys.argv[1])
