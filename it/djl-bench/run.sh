#!/usr/bin/env bash
# Runs the DJL side of the side-by-side benchmark REPEAT times per thread count, interleaved
# (1, 2, 1, 2, ...) so that the machine's background load falls on both alike, appends every JSON
# line to $OUT and prints the medians. Run from the repository root after
#   mvn -B -Pdjl -pl it/djl-bench -am package -DskipTests
# Environment: REPEAT (3), THREADS ("1 2"), WAIT (OMP_WAIT_POLICY, "PASSIVE"; "default" leaves it
# unset), OUT (it/djl-bench/target/results.jsonl), TRAIN_ARGS and GENERATE_ARGS (extra options),
# WORKLOADS ("train generate").
set -euo pipefail
cd "$(dirname "$0")/../.."
CP="it/djl-bench/target/classes:$(cat it/djl-bench/target/classpath.txt)"
REPEAT=${REPEAT:-3}
THREADS=${THREADS:-"1 2"}
WAIT=${WAIT:-PASSIVE}
OUT=${OUT:-it/djl-bench/target/results.jsonl}
WORKLOADS=${WORKLOADS:-"train generate"}
for rep in $(seq 1 "$REPEAT"); do
  for workload in $WORKLOADS; do
    for t in $THREADS; do
      args=${TRAIN_ARGS:-}
      [ "$workload" = generate ] && args=${GENERATE_ARGS:-}
      echo "rep $rep: $workload, $t thread(s), OMP_WAIT_POLICY=$WAIT, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
      if [ "$WAIT" = default ]; then unset OMP_WAIT_POLICY; else export OMP_WAIT_POLICY=$WAIT; fi
      OMP_NUM_THREADS=$t MKL_NUM_THREADS=$t java -cp "$CP" org.xformers4j.bench.djl.SideBySideDjl \
        "$workload" --threads "$t" $args 2>>"${OUT%.jsonl}.log" | tee -a "$OUT"
    done
  done
done
python3 "$(dirname "$0")/summarize.py" "$OUT"
