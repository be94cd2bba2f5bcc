"""Short join links (/j/<code>) that delegates can type from the stage screen.

A code is derived from the event's slug (which never changes) with the secret key, so no
table stores it; a lookup recomputes the codes of every event into a small in-memory map.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from server.app_keys import SERVICES, SETTINGS
from server.services import catalog
from server.services.context import Services

# No 0/O, 1/l/I or U/V: letters a person reads off a screen and types on a phone.
ALPHABET = "23456789abcdefghjkmnpqrstwxyz"
CODE_LENGTH = 6  # 29**6 ≈ 595 million codes: a clash between two events is negligible

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


def join_code(secret_key: str, slug: str) -> str:
    """The event's short code: the same for a slug and key on every server and restart."""
    digest = hmac.new(secret_key.encode(), f"join:{slug}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest[:8], "big")
    letters = []
    for _ in range(CODE_LENGTH):
        number, index = divmod(number, len(ALPHABET))
        letters.append(ALPHABET[index])
    return "".join(letters)


def normalise_code(typed: str) -> str:
    """Codes are case-insensitive; spaces and dashes people add while typing are ignored."""
    return "".join(typed.split()).replace("-", "").lower()


class JoinCodes:
    """code -> slug over all events, refreshed when an unknown code is asked for.

    A miss costs one query, as an unknown /e/<slug> does, and finds an event created since.
    """

    def __init__(self, secret_key: str) -> None:
        self.secret_key = secret_key
        self._slugs: dict[str, str] = {}

    def code_for(self, slug: str) -> str:
        return join_code(self.secret_key, slug)

    async def slug_for(self, services: Services, code: str) -> str | None:
        code = normalise_code(code)
        if len(code) != CODE_LENGTH or any(letter not in ALPHABET for letter in code):
            return None
        if code not in self._slugs:
            await self._refresh(services)
        return self._slugs.get(code)

    async def _refresh(self, services: Services) -> None:
        slugs: dict[str, str] = {}
        for event in await catalog.list_events(services):
            code = self.code_for(event["slug"])
            if code in slugs:
                log.warning("events %s and %s share join code %s", slugs[code], event["slug"], code)
                continue
            slugs[code] = event["slug"]
        self._slugs = slugs


JOIN_CODES = web.AppKey("join_codes", JoinCodes)


def join_link(request: web.Request, slug: str) -> dict[str, Any]:
    """What pages show to invite people: the short URL, as typed and as a link, and its QR."""
    public_url = request.app[SETTINGS].effective_public_url
    code = request.app[JOIN_CODES].code_for(slug)
    parts = urlsplit(public_url)
    return {
        "code": code,
        "url": f"{public_url}/j/{code}",
        "display": f"{parts.netloc}{parts.path}/j/{code}",  # no scheme: shorter to read out
        "viewer_url": f"{public_url}/e/{slug}",
        "qr": f"/e/{slug}/qr.svg",
    }


@routes.get("/j/{code}")
async def follow_join_link(request: web.Request) -> web.Response:
    slug = await request.app[JOIN_CODES].slug_for(request.app[SERVICES], request.match_info["code"])
    if slug is None:
        raise web.HTTPNotFound()  # the page middleware answers with a friendly page
    raise web.HTTPFound(f"/e/{slug}")


@routes.get("/e/{slug}/join-link.json")
async def join_link_json(request: web.Request) -> web.Response:
    """For the organiser console, which builds its event panel in the browser."""
    event = await catalog.event_by_slug(request.app[SERVICES], request.match_info["slug"])
    return web.json_response(join_link(request, event.slug))
