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

echo "== UI: TypeScript build and unit tests"
bash scripts/build-ui.sh
(cd ui && npm test 2>&1) | tee "$work/ui-test.log"

echo "== Rust: every crate, inside a private desktop session"
dbus-run-session -- bash scripts/test-session.sh \
  cargo test --workspace --locked -- --include-ignored 2>&1 | tee "$log"

# The workspace's tests regenerate the UI's TypeScript declarations from the
# Rust types: committed ones must match (never edited by hand).
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 &&
  [ -n "$(git status --porcelain -- ui/src/bindings)" ]; then
  git status --porcelain -- ui/src/bindings
  echo "error: ui/src/bindings is out of date with the Rust types; commit the regenerated files" >&2
  exit 1
fi
# One closing line for the whole workspace (cargo prints one per test binary).
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "\nRust tests: %d passed, %d failed\n", passed, failed }' "$log"
awk '/^# (pass|fail) / { n[$2] = $3 } END { printf "UI tests: %d passed, %d failed\n", n["pass"], n["fail"] }' "$work/ui-test.log"
