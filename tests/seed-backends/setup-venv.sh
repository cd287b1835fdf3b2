#!/usr/bin/env bash
# Create (if missing) a venv for the seed backends and install requirements.txt into it,
# only when the requirements changed since the last install in that venv.
# Usage: setup-venv.sh VENV_DIR        Idempotent and quiet; non-zero exit on failure.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 VENV_DIR" >&2
  exit 2
fi
venv=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
req="$here/requirements.txt"
stamp="$venv/.seed-backends-requirements.sha256"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi

want=$( (sha256sum <"$req"; "$venv/bin/python" -c 'import sys; print(sys.version)') | sha256sum | cut -d' ' -f1)
have=$(cat "$stamp" 2>/dev/null || true)
if [ "$want" = "$have" ]; then
  exit 0
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req" >"$log" 2>&1; then
  cat "$log" >&2
  echo "setup-venv.sh: pip install failed" >&2
  exit 1
fi
echo "$want" >"$stamp"
