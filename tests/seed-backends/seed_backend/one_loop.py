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

from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketDisconnect

from .connection import Connection, KeptWait, ServerContext

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
    assert conn.recogniser is not None
    receive: KeptWait[Message] = KeptWait(conn.ws.receive)
    try:
        while True:
            remaining, kind = _next_deadline(conn)
            if remaining <= 0:
                _on_deadline(conn, kind)
                return
            data = await conn.next_frame(receive, remaining)
            if conn.ended.is_set():
                return
            if data is None:
                continue  # re-evaluate: the nearest deadline decides
            conn.last_audio = conn.last_message
            messages = conn.recognise(data)
            if messages is None:
                return
            for message in messages:
                await conn.send_json(message)
    finally:
        receive.cancel()


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
