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

from .connection import Connection, KeptWait, ServerContext

log = logging.getLogger("seed_backend.pipeline")


async def _receive_loop(conn: Connection, audio_q: asyncio.Queue[bytes]) -> None:
    # The receive is kept across idle-timeout checks, never cancelled by them, so no
    # frame can be lost between the library and the queue while the connection lives.
    receive: KeptWait[Message] = KeptWait(conn.ws.receive)
    try:
        while not conn.ended.is_set():
            remaining = conn.seconds_until_idle()
            if remaining <= 0:
                conn.idle_timeout()
                return
            data = await conn.next_frame(receive, remaining)
            if data is not None:
                audio_q.put_nowait(data)
    finally:
        receive.cancel()


async def _recogniser_task(
    conn: Connection, audio_q: asyncio.Queue[bytes], results_q: asyncio.Queue[dict[str, Any]]
) -> None:
    """The streaming recogniser: audio is accepted (and stored) only here."""
    assert conn.recogniser is not None
    take: KeptWait[bytes] = KeptWait(audio_q.get)
    try:
        while not conn.ended.is_set():
            timeout = conn.seconds_until_audio_timeout()
            if timeout is not None and timeout <= 0:
                conn.audio_timeout()
                return
            chunk = await take.next(timeout)
            if chunk is None:
                continue
            conn.last_audio = time.monotonic()
            messages = conn.recognise(chunk)
            if messages is None:
                return
            for message in messages:
                results_q.put_nowait(message)
    finally:
        taken = take.release()
        if taken is not None:
            # Taken off the queue but never accepted: still counts as dropped.
            audio_q.put_nowait(taken)


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
