"""The FastAPI application: auth routes, health, and the transcription WebSocket.

The WebSocket handler is the only thing that differs between architectures; it is
chosen once, at start-up, from ``--architecture``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import itertools
from typing import Any

from fastapi import Body, FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse

from . import one_loop, pipeline
from .auth import AuthError, RefreshStore, TokenService, build_auth_router
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

    if settings.api.create_path:
        numbers = itertools.count(1)

        @app.post(settings.api.create_path)
        async def create_consultation(request: Request, body: Any = Body(None)) -> Any:
            """Creates a consultation for a signed-in clinician, as the clinic's web app would."""
            header = request.headers.get("authorization", "")
            token = header[len("Bearer "):] if header.startswith("Bearer ") else None
            try:
                tokens.verify_access(token)
            except AuthError:
                return JSONResponse(status_code=401, content={"detail": "Could not validate credentials"})
            patient = body.get("patient_ref") if isinstance(body, dict) else None
            if not isinstance(patient, str):
                return JSONResponse(
                    status_code=422,
                    content={"detail": [{"type": "missing", "loc": ["body", "patient_ref"], "msg": "Field required"}]},
                )
            consultation = f"CONS-{next(numbers):04d}"
            ctx.events.emit(
                "consultation_created",
                session=consultation,
                patient_ref=patient,
                language_code=body.get("language_code"),
            )
            return {"data": {"consultationId": consultation}}

    @app.websocket(settings.api.stream_path)
    async def transcribe(websocket: WebSocket) -> None:
        # Query parameters are read by hand: FastAPI's own validation would refuse a
        # missing token before accept(), and the seed accepts first.
        await handler(websocket, ctx)

    return app
