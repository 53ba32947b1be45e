#!/usr/bin/env python3
"""Medians of the DJL benchmark's JSON lines: per workload, threads, OMP wait policy and batch, the
median tokens/s, its range, the relative spread (max-min)/median and the number of measurements."""
import json
import statistics
import sys
from collections import defaultdict

groups = defaultdict(list)
for path in sys.argv[1:] or ["it/djl-bench/target/results.jsonl"]:
    with open(path) as lines:
        for line in lines:
            line = line.strip()
            if not line.startswith("{"):
                continue
            m = json.loads(line)
            if "tokens_per_s" not in m:
                continue
            key = (m["workload"], m.get("threads"), m.get("omp_wait_policy", "?"), m.get("batch"), m.get("steps", ""))
            groups[key].append(m)
print(f"{'workload':9} {'thr':>3} {'wait':8} {'batch':>5} {'steps':8} {'n':>2} {'median tok/s':>12} "
      f"{'min':>9} {'max':>9} {'spread':>7} {'tok/cpu-s':>10}")
for key in sorted(groups, key=lambda k: tuple(str(x) for x in k)):
    ms = groups[key]
    v = [m["tokens_per_s"] for m in ms]
    med = statistics.median(v)
    per_cpu = ""
    if all("cpu_seconds" in m for m in ms):
        per_cpu = f"{statistics.median(m['tokens_per_s'] * m['seconds'] / m['cpu_seconds'] for m in ms):10.0f}"
    workload, threads, wait, batch, steps = key
    print(f"{workload:9} {threads:>3} {wait:8} {batch:>5} {steps:8} {len(v):>2} {med:12.1f} {min(v):9.1f} "
          f"{max(v):9.1f} {(max(v) - min(v)) / med:7.0%} {per_cpu}")
