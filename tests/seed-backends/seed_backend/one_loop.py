"""Architecture (a): one loop per connection.

Receive a frame, hand it to the recogniser (which stores it), send the transcripts
back, repeat: the way a naive real backend is written. If sending fails because the
socket is closed, the exception ends the handler; frames the WebSocket library had
already buffered but the loop had not processed are never stored. That loss is
deliberate: it is what a client must survive.
"""

from __future__ import annotations

import asyncio
import logging
import time

from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketDisconnect

from .config import MAX_FRAME_BYTES
from .connection import Connection, ServerContext
from .recogniser import TooFast

log = logging.getLogger("seed_backend.one_loop")


def _next_deadline(conn: Connection) -> tuple[float, str]:
    """Seconds until the nearest timeout, and which one it is."""
    candidates: list[tuple[float, str]] = [(conn.seconds_until_idle(), "idle")]
    audio = conn.seconds_until_audio_timeout()
    if audio is not None:
        candidates.append((audio, "audio"))
    expiry = conn.seconds_until_expiry()
    if expiry is not None:
        candidates.append((expiry, "expiry"))
    return min(candidates)


def _on_deadline(conn: Connection, kind: str) -> None:
    if kind == "idle":
        conn.idle_timeout()
    elif kind == "audio":
        conn.audio_timeout()
    else:
        conn.token_expired()


async def _loop(conn: Connection) -> None:
    ws = conn.ws
    assert conn.recogniser is not None
    # One receive at a time, kept across timeouts rather than cancelled by them, so a
    # frame that arrives just as a deadline is checked is never lost.
    pending: asyncio.Task[Message] | None = None
    try:
        while True:
            remaining, kind = _next_deadline(conn)
            if remaining <= 0:
                _on_deadline(conn, kind)
                return
            if pending is None:
                pending = asyncio.ensure_future(ws.receive())
            done, _ = await asyncio.wait({pending}, timeout=remaining)
            if not done:
                continue  # re-evaluate: the nearest deadline decides
            message, pending = pending.result(), None
            if message["type"] == "websocket.disconnect":
                conn.client_gone(message.get("code"), message.get("reason"))
                return
            conn.last_message = time.monotonic()
            data = message.get("bytes")
            if data is None:
                conn.on_text(message.get("text"))
                continue
            if len(data) > MAX_FRAME_BYTES:
                conn.message_too_big(len(data))
                return
            conn.last_audio = conn.last_message
            try:
                transcripts = conn.recogniser.accept(data)
            except TooFast as exc:
                conn.too_fast(exc)
                return
            for transcript in transcripts:
                await conn.send_json(transcript.message(conn.settings.transcript_shape))
    finally:
        if pending is not None:
            pending.cancel()


async def handle(ws: WebSocket, ctx: ServerContext) -> None:
    """FastAPI WebSocket handler for ``--architecture one-loop``."""
    conn = Connection(ws, ctx)
    try:
        if not await conn.open():
            return
        await _loop(conn)
    except WebSocketDisconnect as exc:
        # A send on a closed socket: the handler ends here, buffered frames are lost.
        conn.client_gone(exc.code, exc.reason)
    except asyncio.CancelledError:
        conn.finish("server", 1012, "Server shutting down")
        raise
    except Exception as exc:
        conn.internal_error(exc)
    finally:
        await conn.record_end_and_close()
