#!/usr/bin/env bash
# Builds the Linux packages (.deb and .rpm) into target/release/bundle/.
# Windows (.msi, NSIS .exe) and macOS (.dmg) are configured in
# src-tauri/tauri.conf.json and must be built on those systems:
#   Windows: npx tauri build --bundles msi,nsis
#   macOS:   npx tauri build --bundles dmg
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
bash scripts/build-ui.sh
# The command-line tool ships in the same package (IT's diagnose, level, …).
cargo build --release --locked -p consult-recorder --bin consult-cli
ui/node_modules/.bin/tauri build --ci --bundles deb rpm
for package in target/release/bundle/deb/*.deb target/release/bundle/rpm/*.rpm; do
  printf '%s  %s bytes\n' "$package" "$(stat -c %s "$package")"
done
