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
xvfb_pid=
config_dir=/etc/consult-recorder
# Stops the installed app (found by its executable; its process name is cut
# to 15 characters, so pkill -x cannot match it).
stop_app() {
  local exe
  for exe in /proc/[0-9]*/exe; do
    case "$(readlink "$exe" 2>/dev/null)" in
      "/usr/bin/$name" | "/usr/bin/$name (deleted)") kill "$(basename "$(dirname "$exe")")" 2>/dev/null || true ;;
    esac
  done
}
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  stop_app
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null || true
  rm -rf "$config_dir" "$work"
  if dpkg -s "$name" >/dev/null 2>&1; then apt-get remove -y -q "$name" >/dev/null; fi
}
trap cleanup EXIT
if [ -e "$config_dir" ]; then
  echo "package test: $config_dir already exists on this machine; not touching it" >&2
  exit 1
fi

# Names an IT script can handle: no spaces, the conventional patterns.
rpm=$(ls target/release/bundle/rpm/*.rpm | head -n 1)
[[ "$(basename "$deb")" =~ ^consult-recorder_[0-9.]+_amd64\.deb$ ]] \
  || { echo "unexpected package file name: $deb" >&2; exit 1; }
[[ "$(basename "$rpm")" =~ ^consult-recorder-[0-9.]+-[0-9]+\.x86_64\.rpm$ ]] \
  || { echo "unexpected package file name: $rpm" >&2; exit 1; }

echo "package test: installing $deb ($(stat -c %s "$deb") bytes)"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "./$deb" >/dev/null
dpkg -s "$name" | grep -E '^(Version|Depends|Installed-Size):'

version=$(/usr/bin/consult-recorder --version)
[ "$version" = "consult-recorder $(cargo pkgid -p consult-recorder | sed 's/.*[#@]//')" ] \
  || { echo "unexpected version: $version" >&2; exit 1; }
echo "package test: $version"
/usr/bin/consult-cli --version
test -f /usr/share/doc/consult-recorder/config.example.toml

# The menu entry: a conventional file name, the human name inside, and the
# link scheme registered so the clinic's system can open the app.
desktop_file=/usr/share/applications/consult-recorder.desktop
desktop-file-validate "$desktop_file"
grep -qx 'Name=Consult Recorder' "$desktop_file"
grep -qx 'Exec=consult-recorder %u' "$desktop_file"
grep -qx 'MimeType=x-scheme-handler/consult-recorder' "$desktop_file"
handler=$(xdg-mime query default x-scheme-handler/consult-recorder)
[ "$handler" = consult-recorder.desktop ] \
  || { echo "consult-recorder:// links open \"$handler\", not the app" >&2; exit 1; }
echo "package test: $desktop_file registers consult-recorder:// links"

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
logs="$HOME/.local/state/consult-recorder/logs"
ls "$logs/diagnose.log" >/dev/null

# A link opened as a desktop opens it (xdg-open) starts the installed app on a
# virtual display, which offers that consultation (it never records by itself).
for n in $(seq 90 199); do [ -e "/tmp/.X11-unix/X$n" ] || break; done
Xvfb ":$n" -screen 0 1024x768x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
for _ in $(seq 100); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done
DISPLAY=":$n" xdg-open 'consult-recorder://record?session_id=PKG-LINK-1&reference=Room%201' \
  >"$work/xdg-open.log" 2>&1 &
offered=
for _ in $(seq 300); do
  if grep -s 'waits for the doctor' "$logs/consult-recorder.log" | grep -q 'PKG-LINK-1'; then
    offered=yes
    break
  fi
  sleep 0.1
done
[ -n "$offered" ] || {
  echo "the installed app did not offer the link; its log:" >&2
  cat "$logs/consult-recorder.log" "$work/xdg-open.log" >&2 || true
  exit 1
}
echo "package test: xdg-open handed the link to the installed app, which offered it"
stop_app

apt-get remove -y -q "$name" >/dev/null
if command -v consult-recorder >/dev/null || [ -e /usr/bin/consult-cli ]; then
  echo "package test: programs left behind after removal" >&2
  exit 1
fi
echo "package test: removed cleanly"
