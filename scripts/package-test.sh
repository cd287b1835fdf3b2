#!/usr/bin/env bash
# Installs the built .deb as a clinic would (apt resolves its declared
# dependencies), checks the installed programs against a system-wide
# configuration and the reference server, then removes the package.
# Needs root and apt; run inside scripts/test-session.sh for the keychain
# and the virtual microphone.
set -euo pipefail
cd "$(dirname "$0")/.."
deb=$(ls target/release/bundle/deb/*.deb | head -n 1)
name=consult-recorder
work=$(mktemp -d)
server_pid=
config_dir=/etc/consult-recorder
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$config_dir" "$work"
  if dpkg -s "$name" >/dev/null 2>&1; then apt-get remove -y -q "$name" >/dev/null; fi
}
trap cleanup EXIT
if [ -e "$config_dir" ]; then
  echo "package test: $config_dir already exists on this machine; not touching it" >&2
  exit 1
fi

echo "package test: installing $deb ($(stat -c %s "$deb") bytes)"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "./$deb" >/dev/null
dpkg -s "$name" | grep -E '^(Version|Depends|Installed-Size):'

version=$(/usr/bin/consult-recorder --version)
[ "$version" = "consult-recorder $(cargo pkgid -p consult-recorder | sed 's/.*[#@]//')" ] \
  || { echo "unexpected version: $version" >&2; exit 1; }
echo "package test: $version"
/usr/bin/consult-cli --version
test -f /usr/share/doc/consult-recorder/config.example.toml

# The reference server on a free port, and the administrator's file fixing it.
cargo build --locked --quiet -p transcribe-server
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
./target/debug/transcribe-server --bind "127.0.0.1:$port" --data-dir "$work/server" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.1
done
mkdir -p "$config_dir"
printf 'server = "http://127.0.0.1:%s"\nlocked = ["server"]\n' "$port" > "$config_dir/config.toml"

export HOME="$work/home"
mkdir -p "$HOME"
set +e
/usr/bin/consult-recorder diagnose --json --listen 0 > "$work/report.json"
code=$?
set -e
python3 - "$work/report.json" "$code" "$port" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
code, port = int(sys.argv[2]), sys.argv[3]
checks = {(c["area"], c["name"]): c for c in report["checks"]}
def ok(area, name):
    check = checks[(area, name)]
    assert check["outcome"] == "ok", check
ok("configuration", "system file")
assert "/etc/consult-recorder/config.toml" in checks[("configuration", "server")]["detail"]
assert "locked" in checks[("configuration", "server")]["detail"]
for name in ("DNS", "TCP", "HTTP", "WebSocket"):
    ok("server", name)
ok("keychain", "probe entry")
ok("storage", "spool folder")
assert report["exit_code"] == code == 0, (report["exit_code"], code)
print(f"package test: installed diagnose passed ({len(checks)} checks, exit {code})")
PY
# Logs land in the user's state folder.
ls "$HOME/.local/state/consult-recorder/logs/diagnose.log" >/dev/null

apt-get remove -y -q "$name" >/dev/null
if command -v consult-recorder >/dev/null || [ -e /usr/bin/consult-cli ]; then
  echo "package test: programs left behind after removal" >&2
  exit 1
fi
echo "package test: removed cleanly"
