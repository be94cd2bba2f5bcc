"""Who is calling: a staff session cookie, a viewer bearer token, or nobody."""

from __future__ import annotations

import hmac

from aiohttp import web

from server.app_keys import SERVICES, SETTINGS
from server.domain.errors import DomainError, NotAuthenticated
from server.http.middleware import SAFE_METHODS
from server.services import auth
from server.services.context import Actor

SESSION_COOKIE = "podium_session"
CSRF_HEADER = "X-CSRF-Token"


class CsrfFailed(DomainError):
    code = "csrf_failed"


async def staff_session(request: web.Request) -> tuple[Actor, str] | None:
    """(actor, csrf token) for a logged-in staff member, else None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return await auth.staff_from_session(request.app[SERVICES], token)
    except NotAuthenticated:
        return None


async def current_actor(request: web.Request) -> Actor:
    """The caller; staff writes must also carry the session's CSRF token."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        secret = request.app[SETTINGS].secret_key
        event_id, viewer_id = auth.verify_viewer_token(secret, header.removeprefix("Bearer "))
        return Actor(kind="viewer", id=viewer_id, name="viewer", role="viewer", event_id=event_id)
    found = await staff_session(request)
    if found is None:
        return Actor.public()
    actor, csrf = found
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), csrf.encode()):
            raise CsrfFailed(f"missing or wrong {CSRF_HEADER} header")
    return actor


def cookie_is_secure(request: web.Request) -> bool:
    """Whether Podium's cookies carry the Secure flag (the cookie_secure setting)."""
    settings = request.app[SETTINGS]
    return {
        "always": True,
        "never": False,
        "auto": request.secure or settings.effective_public_url.startswith("https://"),
    }[settings.cookie_secure]


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=request.app[SETTINGS].staff_session_hours * 3600,
        httponly=True,
        samesite="Strict",
        secure=cookie_is_secure(request),
        path="/",
    )
