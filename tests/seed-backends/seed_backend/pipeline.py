"""Architecture (b): the seed's real shape, a streaming-recognition pipeline.

The Vertex AI / Google integration splits a connection into three tasks: a receive
loop that puts audio on an ``asyncio.Queue``, a streaming-recogniser task that takes
audio off it, and a sender task that sends transcripts from a results queue. When the
connection ends, for whatever reason, the tasks are cancelled and whatever was still
queued is dropped, never stored; the number of dropped bytes is recorded as a
``dropped_on_disconnect`` event.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketDisconnect

from .config import MAX_FRAME_BYTES
from .connection import Connection, ServerContext
from .recogniser import TooFast

log = logging.getLogger("seed_backend.pipeline")


async def _receive_loop(conn: Connection, audio_q: asyncio.Queue[bytes]) -> None:
    ws = conn.ws
    # The receive is kept across idle-timeout checks, never cancelled by them, so no
    # frame can be lost between the library and the queue while the connection lives.
    pending: asyncio.Task[Message] | None = None
    try:
        while not conn.ended.is_set():
            remaining = conn.seconds_until_idle()
            if remaining <= 0:
                conn.idle_timeout()
                return
            if pending is None:
                pending = asyncio.ensure_future(ws.receive())
            done, _ = await asyncio.wait({pending}, timeout=remaining)
            if not done:
                continue
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
            audio_q.put_nowait(data)
    finally:
        if pending is not None:
            pending.cancel()


async def _recogniser_task(
    conn: Connection, audio_q: asyncio.Queue[bytes], results_q: asyncio.Queue[dict[str, Any]]
) -> None:
    """The streaming recogniser: audio is accepted (and stored) only here."""
    assert conn.recogniser is not None
    pending: asyncio.Task[bytes] | None = None
    try:
        while not conn.ended.is_set():
            timeout = conn.seconds_until_audio_timeout()
            if timeout is not None and timeout <= 0:
                conn.audio_timeout()
                return
            if pending is None:
                pending = asyncio.ensure_future(audio_q.get())
            done, _ = await asyncio.wait({pending}, timeout=timeout)
            if not done:
                continue
            chunk, pending = pending.result(), None
            conn.last_audio = time.monotonic()
            try:
                transcripts = conn.recogniser.accept(chunk)
            except TooFast as exc:
                conn.too_fast(exc)
                return
            for transcript in transcripts:
                results_q.put_nowait(transcript.message(conn.settings.transcript_shape))
    finally:
        if pending is not None:
            if pending.done() and not pending.cancelled():
                # Taken off the queue but never accepted: still counts as dropped.
                audio_q.put_nowait(pending.result())
            else:
                pending.cancel()


async def _sender_task(conn: Connection, results_q: asyncio.Queue[dict[str, Any]]) -> None:
    while not conn.ended.is_set():
        message = await results_q.get()
        await conn.send_json(message)


async def _expiry_task(conn: Connection) -> None:
    """--strict-expiry: close when the access token runs out."""
    remaining = conn.seconds_until_expiry()
    if remaining is None:
        return
    await asyncio.sleep(max(0.0, remaining))
    conn.token_expired()


async def _guard(conn: Connection, work: Callable[[], Awaitable[None]]) -> None:
    """Turn a task's failure into the end of the connection."""
    try:
        await work()
    except WebSocketDisconnect as exc:
        conn.client_gone(exc.code, exc.reason)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        conn.internal_error(exc)


def _drain(queue: asyncio.Queue[bytes]) -> int:
    dropped = 0
    while not queue.empty():
        dropped += len(queue.get_nowait())
    return dropped


async def handle(ws: WebSocket, ctx: ServerContext) -> None:
    """FastAPI WebSocket handler for ``--architecture pipeline``."""
    conn = Connection(ws, ctx)
    try:
        if not await conn.open():
            return
    except WebSocketDisconnect as exc:
        conn.client_gone(exc.code, exc.reason)
        await conn.record_end_and_close()
        return
    except Exception as exc:
        conn.internal_error(exc)
        await conn.record_end_and_close()
        return

    audio_q: asyncio.Queue[bytes] = asyncio.Queue()
    results_q: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    tasks = [
        asyncio.create_task(_guard(conn, lambda: _receive_loop(conn, audio_q))),
        asyncio.create_task(_guard(conn, lambda: _recogniser_task(conn, audio_q, results_q))),
        asyncio.create_task(_guard(conn, lambda: _sender_task(conn, results_q))),
        asyncio.create_task(_guard(conn, lambda: _expiry_task(conn))),
    ]
    try:
        await conn.ended.wait()
    except asyncio.CancelledError:
        conn.finish("server", 1012, "Server shutting down")
        raise
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await conn.record_end_and_close(dropped_bytes=_drain(audio_q))
