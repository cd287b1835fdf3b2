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
class Api:
    """Paths, field names and the token's way in: the HTTP and WebSocket surface.

    ``seed`` is the seed documents' backend. ``clinic`` is a plausible sibling a clinic
    might run, with every name different, a token sent as the first WebSocket message
    (the seed's other endpoint), a required language parameter and an Origin check (the
    seed names CORS as a cause of its 403).
    """

    login_path: str
    refresh_path: str
    stream_path: str
    login_user_field: str
    login_password_field: str
    refresh_request_field: str
    #: Top-level key the token fields are wrapped in, or "" for none.
    answer_wrapper: str
    access_field: str
    refresh_field: str
    expires_field: str
    #: "query" or "first_message".
    token_transport: str
    token_param: str
    session_param: str
    #: A query parameter every connection must carry (recorded in the events), or "".
    required_param: str
    #: The Origin header the WebSocket upgrade must carry (else HTTP 403), or "".
    required_origin: str
    #: Where a signed-in client creates a consultation (answers its id), or "" for none.
    create_path: str = ""


#: Every name of the two APIs side by side, ``Api`` field by field: (seed, clinic).
_API_NAMES: dict[str, tuple[str, str]] = {
    "login_path": ("/api/v1/auth/login", "/auth/token"),
    "refresh_path": ("/api/v1/auth/refresh", "/auth/token/renew"),
    "stream_path": ("/api/v1/ws/transcribe", "/ws/v2/stream"),
    "login_user_field": ("email", "username"),
    "login_password_field": ("password", "passcode"),
    "refresh_request_field": ("refresh_token", "refreshToken"),
    "answer_wrapper": ("", "data"),
    "access_field": ("access_token", "accessToken"),
    "refresh_field": ("refresh_token", "refreshToken"),
    "expires_field": ("expires_in", "expiresIn"),
    "token_transport": ("query", "first_message"),
    "token_param": ("token", "token"),
    "session_param": ("session_id", "consultation"),
    "required_param": ("", "language_code"),
    "required_origin": ("", "https://emr.clinic.example"),
    "create_path": ("", "/api/consultations"),
}

APIS = {
    api: Api(**{field: names[column] for field, names in _API_NAMES.items()})
    for column, api in enumerate(("seed", "clinic"))
}


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
    api: Api = APIS["seed"]
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
