"""Self-check of the seed-backend re-creations, both architectures.

Run with the venv made by setup-venv.sh:  VENV/bin/python tests/seed-backends/smoke.py
Prints one line per check ("ok ..." / "FAIL ...") and exits non-zero if any failed.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from jose import jwt
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

HERE = Path(__file__).resolve().parent
SECRET = "smoke-secret"
USER, PASSWORD = "smoke@example.com", "smoke-pass"
TIME_SCALE = 4.0
BPS = 32000
CHUNK = BPS // 10  # 100 ms
REASON_TOO_FAST = "Audio data is being streamed too fast."
REASON_EXPIRED = "Authentication failed: Token expired"
REASON_INVALID = "Authentication failed: Invalid token"

failures: list[str] = []


def check(name: str, ok: bool, detail: str = "") -> bool:
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ' -- ' + detail}", flush=True)
    if not ok:
        failures.append(name)
    return ok


class Server:
    """One seed backend process on port 0."""

    def __init__(self, arch: str, data_dir: Path, *extra: str) -> None:
        self.arch, self.data_dir = arch, data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.stderr = open(data_dir.parent / f"{data_dir.name}.stderr.log", "ab")
        cmd = [sys.executable, "-m", "seed_backend", "--architecture", arch,
               "--data-dir", str(data_dir), "--port", "0", "--time-scale", str(TIME_SCALE),
               "--secret", SECRET, "--user", f"{USER}:{PASSWORD}", *extra]
        self.proc = subprocess.Popen(cmd, cwd=HERE, stdout=subprocess.PIPE, stderr=self.stderr)
        line: list[bytes] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(20)
        text = line[0].decode().strip() if line else ""
        if not text.startswith("LISTENING "):
            self.proc.kill()
            raise RuntimeError(f"{arch}: no LISTENING line (got {text!r})")
        self.addr = text.split(" ", 1)[1]

    def http(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://{self.addr}{path}", data=data, method=method,
                                     headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def ws_url(self, token: str, session_id: str) -> str:
        return f"ws://{self.addr}/api/v1/ws/transcribe?token={token}&session_id={session_id}"

    def events(self) -> list[dict[str, Any]]:
        path = self.data_dir / "events.jsonl"
        if not path.exists():
            return []
        return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]

    def wait_closed(self, session_id: str, timeout: float = 10.0) -> dict[str, Any] | None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            for e in self.events():
                if e["event"] == "closed" and e.get("session_id") == session_id:
                    return e
            time.sleep(0.05)
        return None

    def stored(self, session_id: str) -> bytes:
        files = sorted((self.data_dir / session_id).glob("seed-*.pcm"))
        return b"".join(f.read_bytes() for f in files)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(10)
        finally:
            self.stderr.close()


async def greeting(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


async def collect(ws: ClientConnection, into: list[dict[str, Any]]) -> None:
    try:
        async for msg in ws:
            if isinstance(msg, str):
                into.append(json.loads(msg))
    except ConnectionClosed:
        pass


async def real_time_stream(srv: Server, token: str, audio: bytes, sid: str) -> None:
    name = f"{srv.arch}: real-time"
    async with connect(srv.ws_url(token, sid), max_size=None) as ws:
        hello = await greeting(ws)
        check(f"{name} greeting", hello == {"status": "connected", "message": "Transcription service ready",
                                             "session_id": sid}, str(hello))
        got: list[dict[str, Any]] = []
        reader = asyncio.create_task(collect(ws, got))
        start = time.monotonic()
        for i in range(0, len(audio), CHUNK):
            await ws.send(audio[i:i + CHUNK])
            due = start + (i + CHUNK) / BPS / TIME_SCALE
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        for _ in range(40):
            if any(m.get("is_final") for m in got):
                break
            await asyncio.sleep(0.05)
        await ws.close()
        await reader
    transcripts = [m for m in got if m.get("type") == "transcript"]
    check(f"{name} transcripts", bool(transcripts) and all(
        set(m) == {"type", "text", "is_final", "confidence"} for m in transcripts), str(got[:3]))
    closed = srv.wait_closed(sid)
    check(f"{name} closed event by client", closed is not None and closed.get("by") == "client", str(closed))
    stored = srv.stored(sid)
    check(f"{name} stored == sent", stored == audio, f"stored {len(stored)} of {len(audio)} bytes")


async def too_fast(srv: Server, token: str, audio: bytes, sid: str) -> None:
    name = f"{srv.arch}: too fast"
    code, reason = None, ""
    async with connect(srv.ws_url(token, sid), max_size=None) as ws:
        await greeting(ws)
        try:
            for i in range(0, len(audio), CHUNK):
                await ws.send(audio[i:i + CHUNK])
            await asyncio.wait_for(collect(ws, []), 10)
        except ConnectionClosed:
            pass
        code, reason = ws.close_code, ws.close_reason or ""
    check(f"{name} 1011 close", code == 1011 and reason.startswith(REASON_TOO_FAST), f"{code} {reason!r}")
    closed = srv.wait_closed(sid)
    check(f"{name} closed event by server", closed is not None and closed.get("by") == "server", str(closed))
    stored = srv.stored(sid)
    check(f"{name} stored is a prefix", 0 < len(stored) < len(audio) and audio.startswith(stored),
          f"stored {len(stored)} of {len(audio)}")
    check(f"{name} too_fast event", any(e["event"] == "too_fast" and e.get("session_id") == sid
                                        for e in srv.events()))


async def refused(srv: Server, token: str, sid: str, want_reason: str, label: str) -> None:
    async with connect(srv.ws_url(token, sid)) as ws:
        try:
            await asyncio.wait_for(ws.recv(), 5)
        except ConnectionClosed:
            pass
        code, reason = ws.close_code, ws.close_reason
    check(f"{srv.arch}: {label} token -> 1008", code == 1008 and reason == want_reason, f"{code} {reason!r}")


def expired_token() -> str:
    now = int(time.time())
    return jwt.encode({"sub": USER, "iat": now - 100, "exp": now - 10, "type": "access"}, SECRET,
                      algorithm="HS256")


def refresh_checks(srv: Server, strict: bool) -> str | None:
    """Rotate, then reuse the old token. Returns a live refresh token (if any)."""
    name = f"{srv.arch}: refresh ({'strict' if strict else 'lenient'} reuse)"
    status, first = srv.http("POST", "/api/v1/auth/login", {"email": USER, "password": PASSWORD})
    status2, second = srv.http("POST", "/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    check(f"{name} rotation", status == 200 and status2 == 200 and
          second["refresh_token"] != first["refresh_token"] and second["token_type"] == "bearer" and
          second["access_token"] != first["access_token"], f"{status2} {second}")
    status3, body3 = srv.http("POST", "/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    check(f"{name} reuse -> 401", status3 == 401 and "detail" in body3, f"{status3} {body3}")
    status4, body4 = srv.http("POST", "/api/v1/auth/refresh", {"refresh_token": second["refresh_token"]})
    if strict:
        check(f"{name} family revoked", status4 == 401, f"{status4} {body4}")
        return None
    check(f"{name} family kept", status4 == 200, f"{status4} {body4}")
    return body4["refresh_token"]


async def run_arch(arch: str, root: Path, rng: random.Random) -> None:
    data = root / arch
    srv = Server(arch, data, "--strict-reuse")
    try:
        check(f"{arch}: health", srv.http("GET", "/health") == (200, {"status": "ok"}))
        status, body = srv.http("POST", "/api/v1/auth/login", {"email": USER, "password": "wrong"})
        check(f"{arch}: bad login -> 401", (status, body) == (401, {"detail": "Incorrect email or password"}))
        status, tokens = srv.http("POST", "/api/v1/auth/login", {"email": USER, "password": PASSWORD})
        check(f"{arch}: login", status == 200 and tokens.get("expires_in") == 1800, str(status))
        access = tokens["access_token"]
        await real_time_stream(srv, access, rng.randbytes(4 * BPS), "smoke-rt")
        await too_fast(srv, access, rng.randbytes(20 * BPS), "smoke-fast")
        await refused(srv, expired_token(), "smoke-expired", REASON_EXPIRED, "expired")
        await refused(srv, access[:-4] + "AAAA", "smoke-bad", REASON_INVALID, "tampered")
        refresh_checks(srv, strict=True)
    finally:
        srv.stop(signal.SIGKILL)  # a crash: the restart below must cope
    before = sorted(p.name for p in data.glob("*/seed-*.pcm"))
    srv = Server(arch, data)  # restart on the same data dir, lenient reuse
    try:
        live = refresh_checks(srv, strict=False)
        status, _ = srv.http("POST", "/api/v1/auth/refresh", {"refresh_token": live})
        check(f"{arch}: refresh token after restart", status == 200, str(status))
        _, tokens = srv.http("POST", "/api/v1/auth/login", {"email": USER, "password": PASSWORD})
        await real_time_stream(srv, tokens["access_token"], rng.randbytes(2 * BPS), "smoke-after")
        after = sorted(p.name for p in data.glob("*/seed-*.pcm"))
        new = [n for n in after if n not in before]
        check(f"{arch}: connection numbers keep growing after restart",
              len(new) == 1 and before and new[0] > max(before), f"{before} -> {new}")
        status, body = srv.http("POST", "/test/revoke-refresh-tokens")
        check(f"{arch}: test revoke", status == 200 and body.get("revoked", 0) >= 1, str(body))
        rc = srv.stop(signal.SIGTERM)
        check(f"{arch}: SIGTERM exit", rc is not None, str(rc))
    finally:
        if srv.proc.poll() is None:
            srv.proc.kill()


def main() -> int:
    rng = random.Random(1234)
    with tempfile.TemporaryDirectory(prefix="seed-smoke-") as tmp:
        for arch in ("one-loop", "pipeline"):
            try:
                asyncio.run(run_arch(arch, Path(tmp), rng))
            except Exception as exc:  # a crash in a check is a failure, not a traceback
                check(f"{arch}: ran to completion", False, repr(exc))
                for log in Path(tmp).glob("*.stderr.log"):
                    sys.stderr.write(f"--- {log.name}\n{log.read_text()[-3000:]}\n")
    print(f"{'PASSED' if not failures else 'FAILED'}: {len(failures)} failed check(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
