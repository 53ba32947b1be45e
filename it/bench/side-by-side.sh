#!/usr/bin/env bash
# The side-by-side benchmark of issue 14: the model of examples/char-lm.xml trained and decoded by
# xformers4j, by PyTorch (Debian's python3-torch on OpenMP OpenBLAS, it/bench/python) and by DJL's
# PyTorch engine (it/djl-bench, when built with -Pdjl), and exact attention next to PyTorch's naive
# attention, all on this machine, interleaved round by round so that a change of load hits every
# engine alike. Appends one JSON line per measurement to OUT and prints the report
# (it/bench/python/side_by_side_report.py): medians per engine and the ratios the issue targets.
#
#   it/bench/side-by-side.sh [OUT.jsonl]
#
# Environment: ROUNDS (default 1), THREADS (default "1 2"), WORKLOADS (default
# "gemm train generate attention"), LENGTHS (attention, default "512 1024 2048 4096"),
# STEPS (training steps, default 300; tokens/s over the steps after 50).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out="${1:-it/bench/target/side-by-side.jsonl}"
mkdir -p "$(dirname "$out")"
rounds="${ROUNDS:-1}"
threads="${THREADS:-1 2}"
workloads="${WORKLOADS:-gemm train generate attention}"
lengths="${LENGTHS:-512 1024 2048 4096}"
steps="${STEPS:-300}"
torch=(/usr/bin/python3 it/bench/python/side_by_side_torch.py)
jar=it/bench/target/benchmarks.jar
mvn -B -q -DskipTests package -pl it/bench -am
djl_classpath="it/djl-bench/target/classpath.txt"

# bench attention's lines carry no engine or thread count, bench gemm's no engine.
tag() { sed "s/^{/{\"engine\":\"xformers4j\",${1:+\"threads\":$1,}/"; }

ours() { XFORMERS4J_JAVA_OPTS="-Dxformers4j.cpu.threads=$1" ./xformers4j "${@:2}"; }

char_lm() {
  java -Xmx768m -XX:+UseParallelGC --add-modules jdk.incubator.vector -Dxformers4j.cpu.threads="$1" -cp "$jar" \
    org.xformers4j.bench.CharLmBenchmark "${@:2}"
}

djl() {
  if [ -f "$djl_classpath" ]; then
    OMP_NUM_THREADS="$1" OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}" \
      java -cp "it/djl-bench/target/classes:$(cat "$djl_classpath")" org.xformers4j.bench.djl.SideBySideDjl \
      "${@:2}" --threads "$1"
  else
    echo "side-by-side: DJL skipped ($djl_classpath missing: mvn -B -Pdjl -pl it/djl-bench -am package -DskipTests)" >&2
  fi
}

for round in $(seq "$rounds"); do
  for t in $threads; do
    for w in $workloads; do
      echo "side-by-side: round $round, $t thread(s), $w" >&2
      case "$w" in
        gemm)
          ours "$t" bench gemm --size 1024 --threads "$t" --json | tag "" >> "$out" ;;
        train)
          char_lm "$t" train --steps "$steps" >> "$out"
          "${torch[@]}" train --threads "$t" --steps "$steps" >> "$out"
          djl "$t" train --steps "$steps" >> "$out" ;;
        generate)
          char_lm "$t" generate >> "$out"
          "${torch[@]}" generate --threads "$t" >> "$out"
          djl "$t" generate >> "$out" ;;
        attention)
          for n in $lengths; do
            for causal in "" --causal; do
              for backward in "" --backward; do
                for impl in flash full; do
                  ours "$t" bench attention --impl "$impl" --batch 1 --heads 8 --length "$n" --dim 64 \
                    $causal $backward --json | tag "$t" >> "$out"
                done
              done
            done
          done
          "${torch[@]}" attention --threads "$t" --lengths "$(echo "$lengths" | tr ' ' ',')" >> "$out" ;;
        *)
          echo "side-by-side: unknown workload '$w' (gemm, train, generate, attention)" >&2; exit 2 ;;
      esac
    done
  done
done
/usr/bin/python3 it/bench/python/side_by_side_report.py "$out"
