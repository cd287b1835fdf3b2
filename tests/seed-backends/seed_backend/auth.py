"""Authentication: access JWTs, rotating refresh tokens, and the auth HTTP routes.

Access tokens are python-jose HS256 JWTs with ``sub`` (email), ``iat``, ``exp`` and
``type: "access"``, checked the way the seed backend's ``verify_token(token,
token_type="access")`` does. Refresh tokens are opaque random strings that rotate on
every use. Their state lives in ``<data-dir>/refresh-tokens.json`` (written
atomically, only SHA-256 hashes of the tokens are kept) so that a restarted server
on the same data dir still honours, rotates or refuses them as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse
from jose import ExpiredSignatureError, JWTError, jwt

from .config import Settings

log = logging.getLogger("seed_backend.auth")

ALGORITHM = "HS256"
REASON_EXPIRED = "Authentication failed: Token expired"
REASON_INVALID = "Authentication failed: Invalid token"
STATE_FILE = "refresh-tokens.json"


class AuthError(Exception):
    """A token was refused; ``reason`` is the WebSocket close reason to use."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AccessClaims:
    """What the WebSocket needs from a valid access token."""

    email: str
    exp: float


class TokenService:
    """Issues and verifies access JWTs."""

    def __init__(self, settings: Settings) -> None:
        self._secret = settings.secret
        self._ttl = settings.access_ttl
        self._users = settings.users

    @property
    def access_ttl(self) -> int:
        return self._ttl

    def issue_access(self, email: str) -> str:
        now = int(time.time())
        claims = {
            "sub": email,
            "iat": now,
            "exp": now + self._ttl,
            "type": "access",
            # Not in the seed's documented claims; keeps two tokens issued in the
            # same second distinct, so a client can tell a refreshed token apart.
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify_access(self, token: str | None) -> AccessClaims:
        """Return the claims or raise AuthError with the seed's close reason."""
        if not token:
            raise AuthError(REASON_INVALID)
        try:
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM])
        except ExpiredSignatureError:
            raise AuthError(REASON_EXPIRED) from None
        except JWTError:
            raise AuthError(REASON_INVALID) from None
        if claims.get("type") != "access":
            raise AuthError(REASON_INVALID)
        email = claims.get("sub")
        exp = claims.get("exp")
        if not isinstance(email, str) or email not in self._users:
            raise AuthError(REASON_INVALID)
        if not isinstance(exp, (int, float)):
            raise AuthError(REASON_INVALID)
        return AccessClaims(email=email, exp=float(exp))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class RefreshError(Exception):
    """A refresh was refused; ``detail`` goes in the 401 body."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class RefreshStore:
    """Persistent rotating refresh tokens, grouped in families (one per login).

    Per token hash: ``family``, ``email``, ``exp``, ``used_at`` (rotated), ``revoked``.
    The whole state is rewritten atomically after every change; it is small.
    """

    def __init__(self, data_dir: Path, ttl: int, strict_reuse: bool) -> None:
        self._path = data_dir / STATE_FILE
        self._ttl = ttl
        self._strict_reuse = strict_reuse
        self._tokens: dict[str, dict[str, Any]] = {}
        self._revoked_families: set[str] = set()
        self._load()

    def _load(self) -> None:
        try:
            state = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        self._tokens = dict(state.get("tokens", {}))
        self._revoked_families = set(state.get("revoked_families", []))

    def _save(self) -> None:
        now = time.time()
        # Forget long-expired tokens so the file stays small.
        self._tokens = {h: t for h, t in self._tokens.items() if t["exp"] > now - 86400}
        live_families = {t["family"] for t in self._tokens.values()}
        self._revoked_families &= live_families
        state = {"tokens": self._tokens, "revoked_families": sorted(self._revoked_families)}
        tmp = self._path.with_name(self._path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._path)

    def _new_token(self, email: str, family: str) -> str:
        token = secrets.token_urlsafe(32)
        now = time.time()
        self._tokens[_hash(token)] = {
            "family": family,
            "email": email,
            "iat": now,
            "exp": now + self._ttl,
            "used_at": None,
            "revoked": False,
        }
        return token

    def issue_for_login(self, email: str) -> str:
        token = self._new_token(email, uuid.uuid4().hex)
        self._save()
        return token

    def rotate(self, token: str) -> tuple[str, str]:
        """Use ``token`` once: return (email, new refresh token) or raise RefreshError."""
        entry = self._tokens.get(_hash(token))
        if entry is None:
            raise RefreshError("Invalid refresh token")
        family = entry["family"]
        if entry["revoked"] or family in self._revoked_families:
            raise RefreshError("Refresh token revoked")
        if entry["exp"] <= time.time():
            raise RefreshError("Refresh token expired")
        if entry["used_at"] is not None:
            if self._strict_reuse:
                self._revoked_families.add(family)
                for other in self._tokens.values():
                    if other["family"] == family:
                        other["revoked"] = True
                self._save()
                log.warning("refresh token reuse: family revoked")
                raise RefreshError("Refresh token reuse detected; all sessions from this login revoked")
            raise RefreshError("Refresh token already used")
        entry["used_at"] = time.time()
        new_token = self._new_token(entry["email"], family)
        self._save()
        return entry["email"], new_token

    def revoke_all(self) -> int:
        n = 0
        for entry in self._tokens.values():
            if not entry["revoked"]:
                entry["revoked"] = True
                n += 1
        self._save()
        return n


def _field(body: Any, name: str) -> str | None:
    value = body.get(name) if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def _missing(name: str) -> JSONResponse:
    """FastAPI's own answer to a body that lacks a required field."""
    return JSONResponse(
        status_code=422,
        content={"detail": [{"type": "missing", "loc": ["body", name], "msg": "Field required"}]},
    )


def build_auth_router(settings: Settings, tokens: TokenService, refresh: RefreshStore) -> APIRouter:
    """The auth HTTP contract the app under test uses, plus the test-only revoke route.

    Paths and field names come from ``settings.api`` (the seed's, or the clinic variant's).
    """
    router = APIRouter()
    api = settings.api

    def token_response(email: str, refresh_token: str) -> dict[str, Any]:
        answer = {
            api.access_field: tokens.issue_access(email),
            api.refresh_field: refresh_token,
            "token_type": "bearer",
            api.expires_field: tokens.access_ttl,
        }
        return {api.answer_wrapper: answer} if api.answer_wrapper else answer

    @router.post(api.login_path)
    async def login(body: Any = Body(None)) -> Any:
        email = _field(body, api.login_user_field)
        password = _field(body, api.login_password_field)
        if email is None:
            return _missing(api.login_user_field)
        if password is None:
            return _missing(api.login_password_field)
        expected = settings.users.get(email)
        if expected is None or not secrets.compare_digest(expected, password):
            log.info("login refused for %s", email)
            return JSONResponse(status_code=401, content={"detail": "Incorrect email or password"})
        log.info("login ok for %s", email)
        return token_response(email, refresh.issue_for_login(email))

    @router.post(api.refresh_path)
    async def refresh_tokens(body: Any = Body(None)) -> Any:
        presented = _field(body, api.refresh_request_field)
        if presented is None:
            return _missing(api.refresh_request_field)
        try:
            email, new_refresh = refresh.rotate(presented)
        except RefreshError as exc:
            log.info("refresh refused: %s", exc.detail)
            return JSONResponse(status_code=401, content={"detail": exc.detail})
        log.info("refresh ok for %s", email)
        return token_response(email, new_refresh)

    @router.post("/test/revoke-refresh-tokens")
    async def revoke_all() -> dict[str, int]:
        n = refresh.revoke_all()
        log.info("test: revoked %d refresh tokens", n)
        return {"revoked": n}

    return router
