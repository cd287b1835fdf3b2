"""What both WebSocket architectures share: accept-then-authenticate, the greeting,
per-connection state, and recording how the connection ended.

The seed backend accepts the WebSocket first and validates the token afterwards
(so a bad token shows up as a 1008 close, not an HTTP 403). A connection ends exactly
once: the first of "client went away", "server decided to close" wins, and the
events file gets one ``closed`` line saying who closed it, written before the close
frame is sent so a test that sees the close can already read the event.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from starlette.types import Message
from starlette.websockets import WebSocket

from .auth import REASON_EXPIRED, AccessClaims, AuthError, TokenService
from .config import MAX_FRAME_BYTES, Settings
from .events import EventLog
from .recogniser import REASON_AUDIO_TIMEOUT, REASON_TOO_FAST, StreamingRecogniser, TooFast
from .storage import AudioStore, ConnectionCounter

log = logging.getLogger("seed_backend.ws")

MAX_REASON_BYTES = 120
REASON_IDLE = "Idle timeout"
REASON_TOO_BIG = "Message too big"
REASON_INTERNAL = "Internal error"
REASON_NO_SESSION = "Missing session_id"


T = TypeVar("T")


class KeptWait(Generic[T]):
    """One wait (receive, queue get) kept across deadline checks, so nothing arriving is lost."""

    def __init__(self, start: Callable[[], Awaitable[T]]) -> None:
        self._start = start
        self._pending: asyncio.Future[T] | None = None

    async def next(self, timeout: float | None) -> T | None:
        """What the wait got, or None if ``timeout`` passed first (the wait goes on)."""
        if self._pending is None:
            self._pending = asyncio.ensure_future(self._start())
        done, _ = await asyncio.wait({self._pending}, timeout=timeout)
        if not done:
            return None
        result, self._pending = self._pending.result(), None
        return result

    def cancel(self) -> None:
        """Stop waiting; anything it had got but not handed over is dropped."""
        if self._pending is not None:
            self._pending.cancel()

    def release(self) -> T | None:
        """Stop waiting, handing back anything it had already got (else None)."""
        pending, self._pending = self._pending, None
        if pending is None:
            return None
        if pending.done() and not pending.cancelled():
            return pending.result()
        pending.cancel()
        return None


def truncate_reason(reason: str) -> str:
    """Close reasons are limited to 123 bytes; keep at most 120 bytes of valid UTF-8."""
    return reason.encode("utf-8")[:MAX_REASON_BYTES].decode("utf-8", errors="ignore")


@dataclass
class ServerContext:
    """Process-wide objects handed to every connection."""

    settings: Settings
    tokens: TokenService
    events: EventLog
    counter: ConnectionCounter


class Connection:
    """One transcription WebSocket from accept to close."""

    def __init__(self, ws: WebSocket, ctx: ServerContext) -> None:
        self.ws = ws
        self.ctx = ctx
        self.settings = ctx.settings
        self.number = ctx.counter.next()
        self.api = ctx.settings.api
        self.session_id: str | None = ws.query_params.get(self.api.session_param) or None
        self.claims: AccessClaims | None = None
        self.store: AudioStore | None = None
        self.recogniser: StreamingRecogniser | None = None
        self.ended = asyncio.Event()
        self.end_by: str | None = None
        self.end_code: int | None = None
        self.end_reason: str = ""
        self._recorded = False
        now = time.monotonic()
        self.last_message = now
        self.last_audio = now

    # -- opening -----------------------------------------------------------------

    async def open(self) -> bool:
        """Accept, authenticate, start the recogniser stream, greet. False if refused."""
        if self.api.required_origin and self.ws.headers.get("origin") != self.api.required_origin:
            # A close before accept is answered with HTTP 403: the CORS story of the seed.
            self._recorded = True
            self.emit("origin_refused", origin=self.ws.headers.get("origin"))
            await self.ws.close(code=1008)
            return False
        await self.ws.accept()
        log.info("conn=%d session=%s: accepted, validating token", self.number, self.session_id)
        try:
            self.claims = self.ctx.tokens.verify_access(await self._presented_token())
        except AuthError as exc:
            self.emit("auth_failed", code=1008, reason=exc.reason)
            self.finish("server", 1008, exc.reason)
            await self.record_end_and_close()
            return False
        required = self.api.required_param
        if required and not self.ws.query_params.get(required):
            self.finish("server", 1008, f"Missing {required}")
            await self.record_end_and_close()
            return False
        if self.session_id is None:
            self.finish("server", 1008, REASON_NO_SESSION)
            await self.record_end_and_close()
            return False
        self.store = AudioStore(self.settings.data_dir, self.session_id, self.number)
        self.recogniser = StreamingRecogniser(
            self.store, self.settings.time_scale, self.settings.max_ahead
        )
        self.last_message = self.last_audio = time.monotonic()
        self.emit(
            "connected",
            file=str(self.store.path.relative_to(self.settings.data_dir)),
            query={k: v for k, v in self.ws.query_params.items() if k != self.api.token_param},
        )
        await self.send_json(
            {
                "status": "connected",
                "message": "Transcription service ready",
                "session_id": self.session_id,
            }
        )
        return True

    async def _presented_token(self) -> str | None:
        """From the query, or (the seed's other endpoint) a first message ``{"token": ...}``."""
        if self.api.token_transport == "query":
            return self.ws.query_params.get(self.api.token_param)
        try:
            text = await asyncio.wait_for(self.ws.receive_text(), timeout=10)
            message = json.loads(text)
        except (asyncio.TimeoutError, ValueError, KeyError):
            return None
        token = message.get(self.api.token_param) if isinstance(message, dict) else None
        return token if isinstance(token, str) else None

    # -- during ------------------------------------------------------------------

    async def send_json(self, message: dict[str, Any]) -> None:
        """Send a JSON text frame; raises WebSocketDisconnect if the socket is gone."""
        await self.ws.send_json(message)

    async def next_frame(self, receive: KeptWait[Message], timeout: float) -> bytes | None:
        """The next binary frame, or None (timeout, text ignored, or ``ended``): for both loops."""
        message = await receive.next(timeout)
        if message is None:
            return None
        if message["type"] == "websocket.disconnect":
            self.client_gone(message.get("code"), message.get("reason"))
            return None
        self.last_message = time.monotonic()
        data = message.get("bytes")
        if data is None:
            self.on_text(message.get("text"))
            return None
        if len(data) > MAX_FRAME_BYTES:
            self.message_too_big(len(data))
            return None
        return data

    def recognise(self, audio: bytes) -> list[dict[str, Any]] | None:
        """Store and recognise ``audio``: messages to send, or None if refused as too fast."""
        assert self.recogniser is not None
        try:
            transcripts = self.recogniser.accept(audio)
        except TooFast as exc:
            self.too_fast(exc)
            return None
        return [t.message(self.settings.transcript_shape) for t in transcripts]

    def on_text(self, text: str | None) -> None:
        """Text frames carry nothing the seed backend uses: log their size only."""
        log.info("conn=%d: ignored text frame (%d chars)", self.number, len(text or ""))

    def seconds_until_idle(self) -> float:
        return self.last_message + self.settings.idle_timeout_wall - time.monotonic()

    def seconds_until_audio_timeout(self) -> float | None:
        timeout = self.settings.audio_timeout_wall
        return None if timeout is None else self.last_audio + timeout - time.monotonic()

    def seconds_until_expiry(self) -> float | None:
        if not self.settings.strict_expiry or self.claims is None:
            return None
        return self.claims.exp - time.time()

    # -- ways a connection ends -----------------------------------------------------

    def finish(self, by: str, code: int | None, reason: str = "") -> bool:
        """Record how the connection ends; only the first call counts."""
        if self.ended.is_set():
            return False
        self.end_by, self.end_code, self.end_reason = by, code, truncate_reason(reason or "")
        self.ended.set()
        return True

    def client_gone(self, code: int | None, reason: str | None = None) -> None:
        if code == 1012:  # uvicorn reports its own shutdown as a 1012 disconnect
            self.finish("server", 1012, "Server shutting down")
        else:
            self.finish("client", code, reason or "")

    def too_fast(self, exc: TooFast) -> None:
        if self.finish("server", 1011, REASON_TOO_FAST):
            self.emit("too_fast", code=1011, reason=self.end_reason, bytes=exc.refused_bytes,
                      accepted_bytes=exc.accepted_bytes)

    def audio_timeout(self) -> None:
        if self.finish("server", 1011, REASON_AUDIO_TIMEOUT):
            self.emit("audio_timeout", code=1011, reason=self.end_reason)

    def idle_timeout(self) -> None:
        if self.finish("server", 1008, REASON_IDLE):
            self.emit("idle_timeout", code=1008, reason=REASON_IDLE)

    def token_expired(self) -> None:
        """--strict-expiry: the access token ran out while connected."""
        if self.finish("server", 1008, REASON_EXPIRED):
            self.emit("auth_failed", code=1008, reason=REASON_EXPIRED, while_connected=True)

    def message_too_big(self, size: int) -> None:
        log.info("conn=%d: binary frame of %d bytes is over the limit", self.number, size)
        self.finish("server", 1009, REASON_TOO_BIG)

    def internal_error(self, exc: BaseException) -> None:
        log.exception("conn=%d: handler failed", self.number, exc_info=exc)
        self.finish("server", 1011, REASON_INTERNAL)

    async def record_end_and_close(self, dropped_bytes: int | None = None) -> None:
        """Close storage, write the final events, then send the close frame if ours.

        Idempotent: only the first call records and closes.
        """
        if self._recorded:
            return
        self._recorded = True
        if not self.ended.is_set():
            self.finish("server", 1011, REASON_INTERNAL)
        if self.store is not None:
            self.store.close()
        if dropped_bytes is not None:
            self.emit("dropped_on_disconnect", bytes=dropped_bytes)
        accepted = self.recogniser.accepted_bytes if self.recogniser else None
        self.emit("closed", by=self.end_by, code=self.end_code, reason=self.end_reason,
                  bytes=accepted)
        if self.end_by == "server":
            try:
                await self.ws.close(code=self.end_code or 1011, reason=self.end_reason)
            except Exception as exc:  # the peer may already be gone; nothing to do
                log.info("conn=%d: close frame not sent (%s)", self.number, type(exc).__name__)

    def emit(self, event: str, **fields: Any) -> None:
        self.ctx.events.emit(event, connection=self.number, session_id=self.session_id, **fields)
