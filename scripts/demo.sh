#!/usr/bin/env bash
# Installs what is needed, builds, and starts the reference transcription server
# with a demo account (printed below). Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"

cargo build --locked -p transcribe-server
echo
echo "Consult Recorder reference server — sign in with the demo account below."
exec ./target/debug/transcribe-server --data-dir transcribe-data "$@"
