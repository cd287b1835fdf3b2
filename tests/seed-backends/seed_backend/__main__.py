"""Entry point: ``python -m seed_backend --architecture one-loop|pipeline ...``.

Binds the socket itself (so ``--port 0`` works and the real port is known), prints
exactly one ``LISTENING host:port`` line on stdout once uvicorn is serving, and sends
every log line to stderr with token values redacted. Uses uvicorn's ``websockets``
WebSocket implementation, as the seed backend's uvicorn did.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import socket
import sys
import warnings
from pathlib import Path

from .config import APIS, DEFAULT_SECRET, DEFAULT_USERS, TRANSCRIPT_SHAPES, Settings

_TOKEN_IN_TEXT = re.compile(r"((?:access_|refresh_)?token[\"']?\s*[=:]\s*[\"']?)[^&\s\"',}]+", re.I)


class RedactTokens(logging.Filter):
    """Replace token values in any log line (uvicorn logs WebSocket URLs with ?token=)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _TOKEN_IN_TEXT.sub(r"\1<redacted>", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def _setup_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactTokens())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True


def _user(text: str) -> tuple[str, str]:
    email, sep, password = text.partition(":")
    if not sep or not email:
        raise argparse.ArgumentTypeError("expected email:password")
    return email, password


def parse_args(argv: list[str] | None = None) -> Settings:
    p = argparse.ArgumentParser(prog="python -m seed_backend", description=__doc__)
    p.add_argument("--architecture", required=True, choices=["one-loop", "pipeline"])
    p.add_argument("--data-dir", required=True, type=Path)
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--time-scale", type=float, default=1.0)
    p.add_argument("--max-ahead", type=float, default=3.0, help="audio seconds")
    p.add_argument("--audio-timeout", type=float, default=10.0, help="seconds; 0 disables")
    p.add_argument("--access-ttl", type=int, default=1800, help="seconds")
    p.add_argument("--refresh-ttl", type=int, default=7 * 24 * 3600, help="seconds")
    p.add_argument("--strict-expiry", action="store_true")
    p.add_argument("--strict-reuse", action="store_true")
    p.add_argument("--user", action="append", type=_user, default=[], metavar="EMAIL:PASSWORD")
    p.add_argument("--secret", default=DEFAULT_SECRET)
    p.add_argument(
        "--transcript-shape",
        choices=TRANSCRIPT_SHAPES,
        default="seed",
        help="the JSON shape of transcript messages (see README)",
    )
    p.add_argument(
        "--api",
        choices=sorted(APIS),
        default="seed",
        help="paths, field names and token transport (see README)",
    )
    a = p.parse_args(argv)
    if a.time_scale <= 0:
        p.error("--time-scale must be > 0")
    return Settings(
        architecture=a.architecture,
        data_dir=a.data_dir.resolve(),
        host=a.host,
        port=a.port,
        time_scale=a.time_scale,
        max_ahead=a.max_ahead,
        audio_timeout=a.audio_timeout,
        access_ttl=a.access_ttl,
        refresh_ttl=a.refresh_ttl,
        strict_expiry=a.strict_expiry,
        strict_reuse=a.strict_reuse,
        secret=a.secret,
        transcript_shape=a.transcript_shape,
        api=APIS[a.api],
        users=dict(a.user) if a.user else dict(DEFAULT_USERS),
    )


async def _announce_when_started(server: object, host: str, port: int) -> None:
    while not getattr(server, "started", False):
        if getattr(server, "should_exit", False):
            return
        await asyncio.sleep(0.01)
    sys.stdout.write(f"LISTENING {host}:{port}\n")
    sys.stdout.flush()


async def _serve(settings: Settings) -> None:
    import uvicorn

    from .app import create_app

    sock = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings),
        ws="websockets",
        log_config=None,
        access_log=True,
        timeout_graceful_shutdown=2,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    announce = asyncio.create_task(_announce_when_started(server, settings.host, port))
    try:
        await server.serve(sockets=[sock])
    finally:
        announce.cancel()


def main(argv: list[str] | None = None) -> None:
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*websockets.*deprecated.*")
    settings = parse_args(argv)
    _setup_logging()
    logging.getLogger("seed_backend").info(
        "starting api=%s architecture=%s data_dir=%s time_scale=%s max_ahead=%s audio_timeout=%s "
        "access_ttl=%s strict_expiry=%s strict_reuse=%s users=%s",
        settings.api.login_path, settings.architecture, settings.data_dir, settings.time_scale, settings.max_ahead,
        settings.audio_timeout, settings.access_ttl, settings.strict_expiry,
        settings.strict_reuse, sorted(settings.users),
    )
    asyncio.run(_serve(settings))


if __name__ == "__main__":
    main()
