#!/usr/bin/env bash
# Installs what is needed and runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"

cargo test --workspace --locked
