#!/usr/bin/env bash
# Benchmarks with figures (docs/benchmarks.md): criterion for the per-audio
# costs, the streaming run through the real CLI to the reference server (with
# websocat beside it as the floor), then the desktop app's memory.
#   bash scripts/bench.sh            # the full run (about 25 minutes)
#   bash scripts/bench.sh --short    # a quick pass that keeps the commands working
# Prints figures; asserts nothing about speed.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
export PATH="$HOME/.cargo/bin:$PATH"
short=false
[ "${1:-}" = "--short" ] && short=true

echo "== criterion: DSP, spool, frames (multiples of real time = elem/s)"
if $short; then
  cargo bench --locked -p consult-recorder --bench pipeline -- --warm-up-time 0.3 --measurement-time 1 2>&1 |
    grep -E '^[a-z]+/|time:|thrpt:'
else
  cargo bench --locked -p consult-recorder --bench pipeline 2>&1 | grep -E '^[a-z]+/|time:|thrpt:'
fi

echo "== streaming through the CLI at real time (websocat as the floor)"
# The floor: the smallest WebSocket client that pipes the same PCM (no TLS
# or OpenSSL needed on loopback).
command -v websocat >/dev/null ||
  cargo install --locked --quiet websocat --version 1.14.1 --no-default-features --features unix_stdio
# The CLI as shipped, built on its own as scripts/package.sh builds it (a
# no-op after it): built together with the measuring tools, their test
# helpers would change the features it is compiled with.
cargo build --locked --release -p consult-recorder --bin consult-cli
cargo build --locked --release -p e2e-tests --bin stream-bench --bin app-bench \
  -p floor-window --bin floor-window
keyctl session - ./target/release/stream-bench "$@"

echo "== the desktop app's memory: idle, and recording with live text (Xvfb)"
# The app as shipped (release, UI embedded); a no-op after scripts/package.sh.
bash scripts/build-ui.sh >/dev/null
ui/node_modules/.bin/tauri build --ci --no-bundle 2>&1 | tail -n 2
runtime=$(mktemp -d)
trap 'rm -rf "$runtime"' EXIT
chmod 700 "$runtime"
# The app finds the virtual microphone's PulseAudio through XDG_RUNTIME_DIR.
app_args=()
$short && app_args=(--short)
XDG_RUNTIME_DIR="$runtime" dbus-run-session -- bash scripts/test-session.sh ./target/release/app-bench "${app_args[@]}"
