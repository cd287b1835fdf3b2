"""Stored audio: what the recogniser accepted, per connection, in connection order.

Layout: ``<data-dir>/<session-dir>/seed-<NNNNNN>.pcm``. NNNNNN is a global
connection number that only grows, across the server's life and its restarts on
the same data dir, so sorting a session's file names gives connection order. A test
concatenates them and compares with the audio it sent to prove coverage, so only
accepted bytes are written, in order, and flushed as they are accepted (a SIGKILL
loses nothing that was accepted).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote

COUNTER_FILE = "connection-counter"
_PCM_NAME = re.compile(r"^seed-(\d+)\.pcm$")


def session_dir_name(session_id: str) -> str:
    """Map any session id to one safe directory name (percent-encoding, no traversal)."""
    name = quote(session_id, safe="-_.")
    if name in ("", ".", ".."):
        name = name.replace(".", "%2E") or "%00"
    return name


def _atomic_write(path: Path, text: str) -> None:
    """Write via a temp file and rename, so a crash leaves the old or the new text."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class ConnectionCounter:
    """Hands out connection numbers that never repeat on one data dir.

    The last number is persisted before it is used; on start the counter is also
    raised past any ``seed-N.pcm`` already present, in case the counter file is lost.
    """

    def __init__(self, data_dir: Path) -> None:
        self._path = data_dir / COUNTER_FILE
        last = 0
        try:
            last = int(self._path.read_text(encoding="utf-8").strip() or 0)
        except (FileNotFoundError, ValueError):
            pass
        for pcm in data_dir.glob("*/seed-*.pcm"):
            m = _PCM_NAME.match(pcm.name)
            if m:
                last = max(last, int(m.group(1)))
        self._last = last

    def next(self) -> int:
        self._last += 1
        _atomic_write(self._path, f"{self._last}\n")
        return self._last


class AudioStore:
    """Append-only file of one connection's accepted audio."""

    def __init__(self, data_dir: Path, session_id: str, connection: int) -> None:
        directory = data_dir / session_dir_name(session_id)
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"seed-{connection:06d}.pcm"
        self._file = open(self.path, "ab")
        self.bytes_stored = 0

    def append(self, data: bytes) -> None:
        """Store accepted bytes now (write + flush to the OS)."""
        self._file.write(data)
        self._file.flush()
        self.bytes_stored += len(data)

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()
