#!/usr/bin/env bash
# Benchmarks with figures (docs/benchmarks.md): criterion for the per-audio
# costs, then the streaming run through the real CLI to the reference server.
#   bash scripts/bench.sh            # the full run (about 20 minutes)
#   bash scripts/bench.sh --short    # a quick pass that keeps the commands working
# Prints figures; asserts nothing about speed.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
short=false
[ "${1:-}" = "--short" ] && short=true

echo "== criterion: DSP, spool, frames (multiples of real time = elem/s)"
if $short; then
  cargo bench --locked -p consult-recorder --bench pipeline -- --warm-up-time 0.3 --measurement-time 1 2>&1 |
    grep -E '^[a-z]+/|time:|thrpt:'
else
  cargo bench --locked -p consult-recorder --bench pipeline 2>&1 | grep -E '^[a-z]+/|time:|thrpt:'
fi

echo "== streaming through the CLI at real time"
cargo build --locked --release -p consult-recorder --bin consult-cli -p e2e-tests --bin stream-bench
keyctl session - ./target/release/stream-bench "$@"
