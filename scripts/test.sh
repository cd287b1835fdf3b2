#!/usr/bin/env bash
# Installs what is needed and runs every test of the workspace, including the
# ones that need a real keychain: they run inside a private D-Bus session with
# a throwaway gnome-keyring and a fresh keyutils session, never the user's own.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"

work=$(mktemp -d)
log="$work/cargo-test.log"
trap 'rm -rf "$work"' EXIT
mkdir -m 700 "$work/runtime"
export XDG_RUNTIME_DIR="$work/runtime" XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/config" XDG_CACHE_HOME="$work/cache"

dbus-run-session -- bash scripts/test-session.sh \
  cargo test --workspace --locked -- --include-ignored 2>&1 | tee "$log"
# One closing line for the whole workspace (cargo prints one per test binary).
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "\ntests: %d passed, %d failed\n", passed, failed }' "$log"
