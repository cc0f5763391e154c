#!/usr/bin/env bash
# Optimisations must not change results. This runs one binary over a fixed set of runs
# (every command, every shipped and test scenario, several thread counts, shards + merge)
# and prints one SHA-256 line per output file; compare the listings of two binaries:
#
#   benches/same-outputs.sh old/rehabsim > /tmp/old.txt
#   benches/same-outputs.sh target/release/rehabsim > /tmp/new.txt
#   diff /tmp/old.txt /tmp/new.txt && echo identical
#
# 31 runs, about ten seconds on two cores. Written for BENCHMARKS.md's "byte-identical"
# checks.
set -euo pipefail
bin=$(realpath "$1")
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root"

n=0
run() { # run NAME ARGS...: the outputs of one command, in $work/NAME
  local name=$1
  shift
  mkdir -p "$work/$name"
  "$bin" "$@" >"$work/$name/stdout.txt" 2>/dev/null
  n=$((n + 1))
}
d=scenarios/default.toml
run default run $d --quiet --out "$work/default/out"
run displacement run $d --quiet --replications 40 --set accounting.displacement=0.2 --out "$work/displacement/out"
run expected run $d --quiet --replications 20 --no-break-even --expected --out "$work/expected/out"
run large run $d --quiet --no-break-even --replications 1 --persons 20000 --horizon 120 --out "$work/large/out"
run threads1 run $d --quiet --no-break-even --replications 2 --persons 30000 --horizon 36 --threads 1 --out "$work/threads1/out"
run threads2 run $d --quiet --no-break-even --replications 2 --persons 30000 --horizon 36 --threads 2 --out "$work/threads2/out"
run cohort run tests/data/mechanics.toml --quiet --replications 20 --cohort --out "$work/cohort/out"
run cohort-sickness run scenarios/examples/sickness_clock.toml --quiet --replications 20 --cohort --out "$work/cohort-sickness/out"
for s in scenarios/*.toml scenarios/examples/*.toml tests/data/*.toml tests/data/uncertainty/*.toml; do
  name=$(basename "$(dirname "$s")")-$(basename "$s" .toml)
  run "$name" run "$s" --quiet --replications 20 --out "$work/$name/out"
done
for k in 0 1 2; do
  run "shard$k" run $d --quiet --no-break-even --replications 30 --shard "$k/3" --out "$work/shard$k"
done
run merge merge "$work"/shard{0,1,2}/partial.json --out "$work/merge/out"
run tornado tornado $d --replications 20 --out "$work/tornado/out"
run sweep sweep $d --replications 10 --grid programmes.arena.effect=1.2,1.6 --out "$work/sweep/out"
run calibrate calibrate scenarios/resurscentrum-lycksele.toml --param programmes.resurscentrum.effect --replications 40
# Timings and the run's own throughput line differ from run to run: not compared.
cd "$work"
find . -type f ! -name '*.tmp' -print0 | sort -z | xargs -0 sha256sum
echo "# $n runs" >&2
