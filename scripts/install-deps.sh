#!/usr/bin/env bash
# Installs what Consult Recorder needs to build, run and test on Debian or Ubuntu.
# Safe to run again: it installs only what is missing. Needs root or sudo for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # toolchain helpers
  build-essential pkg-config ca-certificates curl
  # the desktop app (Tauri 2 on WebKitGTK)
  libwebkit2gtk-4.1-dev librsvg2-dev libayatana-appindicator3-dev
  # the OS keychain (keyring crate: Secret Service over D-Bus, keyutils)
  libdbus-1-dev
  # the microphone (cpal on ALSA)
  libasound2-dev
  # the reference server's offline recogniser
  libpocketsphinx-dev pocketsphinx-en-us
  # tests: speech synthesis and conversion; a private session bus with an
  # unlocked keyring, and a keyutils session
  espeak-ng sox dbus-daemon gnome-keyring keyutils
  # tests: a virtual microphone (a PulseAudio null sink behind ALSA's default)
  pulseaudio pulseaudio-utils libasound2-plugins
  # tests: a clinic's HTTP proxy; the package test's report checks
  tinyproxy python3
  # tests: the independent seed backends (FastAPI in a virtual environment from PyPI)
  python3-venv
  # tests: a stand-in for logind's sleep inhibitors on the test D-Bus
  python3-dbus python3-gi
  # tests: the app's window driven over WebDriver on a virtual display
  xvfb webkit2gtk-driver
  # tests: the package test opens a link as a desktop does
  xdg-utils desktop-file-utils
)

# the UI's TypeScript build and tests (skipped when Node.js is already there)
command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "Installing Debian packages: ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "error: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "Rust is not installed. Installing the stable toolchain with rustup…"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt,clippy
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi

# tests: tauri-driver, the WebDriver server for Tauri apps (2.x: the 3.0
# alphas need a newer toolchain and change the command line)
if ! tauri-driver --help >/dev/null 2>&1 && ! "$HOME/.cargo/bin/tauri-driver" --help >/dev/null 2>&1; then
  echo "Installing tauri-driver 2 with cargo…"
  cargo install tauri-driver --version '^2' --locked --quiet
fi
