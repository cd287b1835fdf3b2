#!/usr/bin/env bash
# Installs what is needed, builds the UI and the app, starts the reference
# transcription server with a demo account (printed below) and opens the app
# pointed at it. Closing the app stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"

bash scripts/build-ui.sh
cargo build --locked -p transcribe-server -p consult-recorder-app

bind=127.0.0.1:8080
./target/debug/transcribe-server --bind "$bind" --data-dir transcribe-data &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  curl -fsS "http://$bind/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "No desktop display found: the server runs at http://$bind (Ctrl-C stops it)."
  wait "$server"
else
  echo "Opening Consult Recorder, pointed at http://$bind — sign in with the demo account above."
  CONSULT_SERVER="http://$bind" ./target/debug/consult-recorder
fi
