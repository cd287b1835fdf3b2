"""Runtime settings shared by every module.

One frozen dataclass built from the command line, so modules never read argv or
globals and the tests' knobs (time scale, TTLs, strictness) are in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: 16 kHz mono PCM16LE: what the seed backend fed to Google streaming recognition.
BYTES_PER_SECOND = 32000
#: Largest binary frame the transcription socket takes; larger closes with 1009.
MAX_FRAME_BYTES = 64 * 1024
#: Seed documents: "WebSocket has 5-minute idle timeout".
IDLE_TIMEOUT_SECONDS = 300.0
#: Used when no --secret is given: fixed, so tokens survive a restart.
DEFAULT_SECRET = "seed-backend-test-secret-not-for-production"
#: Used when no --user is given.
DEFAULT_USERS = {"doctor@example.com": "password"}
#: The JSON shapes a backend might use for transcripts (the seed documents show none).
TRANSCRIPT_SHAPES = ("seed", "camel", "typed", "google", "unknown")


@dataclass(frozen=True)
class Settings:
    """Everything the command line decides."""

    architecture: str
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    time_scale: float = 1.0
    max_ahead: float = 3.0
    audio_timeout: float = 10.0
    access_ttl: int = 1800
    refresh_ttl: int = 7 * 24 * 3600
    strict_expiry: bool = False
    strict_reuse: bool = False
    secret: str = DEFAULT_SECRET
    transcript_shape: str = "seed"
    users: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_USERS))

    @property
    def idle_timeout_wall(self) -> float:
        """Idle timeout in wall seconds (the seed's 5 minutes, compressed by time scale)."""
        return IDLE_TIMEOUT_SECONDS / self.time_scale

    @property
    def audio_timeout_wall(self) -> float | None:
        """Audio timeout in wall seconds, or None when disabled (--audio-timeout 0)."""
        if self.audio_timeout <= 0:
            return None
        return self.audio_timeout / self.time_scale
