"""The events file: one JSON object per line in ``<data-dir>/events.jsonl``.

Tests read this file to learn what the server saw and decided (who closed a
connection, with which code, how many queued bytes were dropped) without parsing
logs. Each event is also logged to stderr as one line. Tokens never appear here:
callers only pass connection numbers, session ids, codes, reasons and byte counts.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("seed_backend.events")

EVENT_NAMES = frozenset(
    {
        "connected",
        "closed",
        "too_fast",
        "audio_timeout",
        "idle_timeout",
        "auth_failed",
        "dropped_on_disconnect",
        "origin_refused",
        "consultation_created",
    }
)


class EventLog:
    """Appends events to ``events.jsonl`` and flushes each line immediately.

    Flushed per line so a SIGKILLed server still leaves every event it emitted.
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "events.jsonl"
        self._file = open(self.path, "a", encoding="utf-8")

    def emit(self, event: str, **fields: Any) -> None:
        """Write one event line; ``None`` fields are left out."""
        if event not in EVENT_NAMES:
            raise ValueError(f"unknown event {event!r}")
        record: dict[str, Any] = {"event": event}
        record.update({k: v for k, v in fields.items() if v is not None})
        record["t"] = time.time()
        line = json.dumps(record, separators=(",", ":"), sort_keys=False)
        self._file.write(line + "\n")
        self._file.flush()
        log.info("event %s", " ".join(f"{k}={v}" for k, v in record.items()))

    def close(self) -> None:
        self._file.close()
