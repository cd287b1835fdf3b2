#!/usr/bin/env bash
# Runs a command inside the session a desktop user has: started by test.sh
# within dbus-run-session, it unlocks a throwaway gnome-keyring (Secret Service),
# starts PulseAudio with a null sink whose monitor is the default microphone,
# and runs the command in a fresh keyutils session keyring.
set -euo pipefail
echo -n "test-keyring-password" | gnome-keyring-daemon --unlock --components=secrets >/dev/null

pulseaudio --daemonize=yes --exit-idle-time=-1 --system=false -n -F /dev/null \
  --load=module-native-protocol-unix --load="module-null-sink sink_name=vsink" 2>/dev/null
for _ in $(seq 1 40); do pactl info >/dev/null 2>&1 && break; sleep 0.25; done
pactl set-default-source vsink.monitor

status=0
keyctl session - "$@" || status=$?
pulseaudio --kill 2>/dev/null || true
exit "$status"
