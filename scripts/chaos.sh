#!/usr/bin/env bash
# The long reliability run: four hours of consultation per protocol profile at
# 40x, with at least 100 connection cuts and 20 crashes (see docs/reliability.md).
# Any option is passed on: --minutes, --speed, --seed, --crashes.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"
# The CLI as shipped (on its own: see scripts/bench.sh), then the harness.
cargo build --locked --release -p consult-recorder --bin consult-cli
cargo build --locked --release -p e2e-tests --bin chaos
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_RUNTIME_DIR="$work" CONSULT_LOG=error
# A fresh keyutils session keyring holds the test account's refresh token.
keyctl session - ./target/release/chaos "$@"
