"""The FastAPI application: auth routes, health, and the transcription WebSocket.

The WebSocket handler is the only thing that differs between architectures; it is
chosen once, at start-up, from ``--architecture``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, WebSocket

from . import one_loop, pipeline
from .auth import RefreshStore, TokenService, build_auth_router
from .config import Settings
from .connection import ServerContext
from .events import EventLog
from .storage import ConnectionCounter

Handler = Callable[[WebSocket, ServerContext], Awaitable[None]]

HANDLERS: dict[str, Handler] = {
    "one-loop": one_loop.handle,
    "pipeline": pipeline.handle,
}


def create_app(settings: Settings) -> FastAPI:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    tokens = TokenService(settings)
    refresh = RefreshStore(settings.data_dir, settings.refresh_ttl, settings.strict_reuse)
    ctx = ServerContext(
        settings=settings,
        tokens=tokens,
        events=EventLog(settings.data_dir),
        counter=ConnectionCounter(settings.data_dir),
    )
    handler = HANDLERS[settings.architecture]

    app = FastAPI(title=f"seed backend ({settings.architecture})", docs_url=None, redoc_url=None)
    app.include_router(build_auth_router(settings, tokens, refresh))

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.websocket(settings.api.stream_path)
    async def transcribe(websocket: WebSocket) -> None:
        # Query parameters are read by hand: FastAPI's own validation would refuse a
        # missing token before accept(), and the seed accepts first.
        await handler(websocket, ctx)

    return app
