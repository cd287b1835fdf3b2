#!/usr/bin/env bash
# Runs a command inside the session a desktop user has: started by test.sh
# within dbus-run-session, it unlocks a throwaway gnome-keyring (Secret Service)
# and opens a fresh keyutils session keyring for the command.
set -euo pipefail
echo -n "test-keyring-password" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
exec keyctl session - "$@"
