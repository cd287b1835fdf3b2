#!/usr/bin/env bash
# Builds the web UI (TypeScript → ui/static/js) that the desktop app embeds.
set -euo pipefail
cd "$(dirname "$0")/../ui"
# `npm install` (not `ci`): the lock file does not list the Tauri CLI's
# binaries for other platforms, which `ci` would insist on.
npm install --no-audit --no-fund --loglevel=error
npm run --silent build
