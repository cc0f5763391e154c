#!/usr/bin/env bash
# Fuzz scenario parsing + validation (+ tiny runs) with cargo-fuzz / libFuzzer.
# Usage: fuzz/run.sh [SECONDS] [extra libFuzzer flags]   (default 600 s)
# Needs: a nightly toolchain (`rustup toolchain install nightly`) and `cargo install cargo-fuzz`.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-600}"
shift || true
corpus=fuzz/corpus/scenario
mkdir -p "$corpus"
# Seed the corpus with every shipped scenario and every malformed test case.
for f in scenarios/*.toml tests/data/bad/*.toml; do
  cp "$f" "$corpus/seed-$(basename "$(dirname "$f")")-$(basename "$f")"
done
cargo +nightly fuzz run scenario "$corpus" -- \
  -dict=fuzz/scenario.dict -max_len=65536 -max_total_time="$secs" -print_final_stats=1 "$@"
