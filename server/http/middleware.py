"""Middlewares: stable JSON errors, security headers, and CSRF/origin checks."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from server.errors import HTTP_STATUS, describe, error_body

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_csp(stream_origins: tuple[str, ...] = (), frame_origins: tuple[str, ...] = ()) -> str:
    """The Content-Security-Policy; pages that play streams allow exactly their origins."""
    streams = " ".join(stream_origins)
    frames = " ".join(frame_origins) or "'none'"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {streams}".rstrip()
        + f"; media-src 'self' blob: {streams}".rstrip()
        + "; "
        f"frame-src {frames}; worker-src 'self' blob:; font-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


CSP = build_csp()
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def json_error(status: int, code: str, message: str, fields=None, **extra) -> web.Response:
    return web.json_response(
        {"error": {**error_body(code, message, fields), **extra}}, status=status
    )


def _is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every expected failure becomes the stable error shape; anything else a bare 500."""
    try:
        return await handler(request)
    except web.HTTPException as http_error:
        if http_error.status < 400 or not _is_api(request):
            raise
        code = {
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
        }.get(http_error.status, "invalid_input")
        return json_error(http_error.status, code, http_error.reason)
    except Exception as error:
        body = describe(error)
        if body is None:
            log.exception("unhandled error on %s %s", request.method, request.path)
            return json_error(500, "internal", "something went wrong on our side")
        return web.json_response({"error": body}, status=HTTP_STATUS.get(body["code"], 400))


@web.middleware
async def security_headers_middleware(request: web.Request, handler: Handler):
    try:
        response = await handler(request)
    except web.HTTPException as raised:  # redirects and refusals are answers too
        _add_security_headers(request, raised)
        raise
    _add_security_headers(request, response)
    return response


def _add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")


async def name_the_server(_request: web.Request, response: web.StreamResponse) -> None:
    """Every answer, websocket handshakes and files included, says "Podium" rather than
    aiohttp's and Python's versions (`on_response_prepare`: the last moment before the
    headers are sent)."""
    response.headers["Server"] = "Podium"


def origin_middleware(allowed_origins: tuple[str, ...]):
    """Refuse state-changing requests sent by pages of other origins."""
    allowed = {origin.rstrip("/") for origin in allowed_origins}

    @web.middleware
    async def check_origin(request: web.Request, handler: Handler):
        if request.method not in SAFE_METHODS:
            origin = request.headers.get("Origin") or _referer_origin(request)
            if origin is not None and origin not in allowed:
                return json_error(403, "csrf_failed", "requests from this origin are not allowed")
        return await handler(request)

    return check_origin


def _referer_origin(request: web.Request) -> str | None:
    referer = request.headers.get("Referer")
    if not referer:
        return None
    parts = urlsplit(referer)
    return f"{parts.scheme}://{parts.netloc}"
