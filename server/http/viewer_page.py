"""The viewer page, server-rendered so that it works without JavaScript, and in light mode.

With scripts on, viewer.js takes the page over (its own token, the live socket). Without
them, or in light mode, the page is complete as served, and its forms post to
viewer_forms.py. A viewer who joined through a form is known by a cookie holding the same
signed token the API hands out; the forms carry a token derived from it (CSRF).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from server import i18n
from server.app_keys import SERVICES, SETTINGS
from server.domain.errors import NotAuthenticated
from server.http.auth import cookie_is_secure
from server.http.pages import TEMPLATES, _stream_csp, render
from server.i18n import gettext as _
from server.services import catalog, queries, sync
from server.services.auth import verify_viewer_token
from server.services.context import Actor
from server.store.models import EventRow

VIEWER_COOKIE = "podium_viewer"  # the viewer token, for form posts (the script keeps its own)
JOIN_COOKIE = "podium_join"  # a random nonce behind the join form's token
FLASH_COOKIE = "podium_flash"  # which confirmation to show after a redirect
LIGHT_COOKIE = "podium_light"  # the low-bandwidth page was chosen
YEAR = 365 * 24 * 3600

routes = web.RouteTableDef()


def _flash_texts() -> dict[str, str]:
    return {
        "joined": _("You've joined. You can ask a question and upvote others."),
        "already_joined": _("You've already joined this event."),
        "asked_pending": _("Thank you. Your question is waiting for a moderator."),
        "asked_approved": _("Thank you. Your question has been posted."),
        "asked_duplicate": _("We already have this question from you."),
        "voted": _("Upvoted."),
        "unvoted": _("Upvote removed."),
        "named": _("Your name is saved."),
        "join_first": _("Join the Q&A first: choose where you're following from, then Join."),
    }


@dataclass
class Problem:
    """A refused form post, shown on the page again: a summary, and notes beside fields."""

    form: str
    message: str
    fields: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    question_id: int | None = None


# --- identity and form tokens ---------------------------------------------------------------


def form_token(secret_key: str, purpose: str, basis: str) -> str:
    """A token only pages of this site can put in a form: an HMAC of a secret cookie value."""
    mac = hmac.new(secret_key.encode(), f"{purpose}:{basis}".encode(), hashlib.sha256)
    return mac.hexdigest()[:40]


def token_matches(request: web.Request, sent: str | None, purpose: str, basis: str | None) -> bool:
    if not basis or not sent:
        return False
    expected = form_token(request.app[SETTINGS].secret_key, purpose, basis)
    return hmac.compare_digest(sent.encode(), expected.encode())


def refuse_forged_form() -> web.HTTPForbidden:
    return web.HTTPForbidden(
        text=_(
            "This form is out of date or did not come from this page, so nothing was changed. "
            "Go back, reload the page and try again."
        )
    )


def viewer_token(request: web.Request, event_id: int) -> str | None:
    """The viewer token in the cookie, when it is genuine and belongs to this event."""
    token = request.cookies.get(VIEWER_COOKIE, "")
    if not token or len(token) > 200:
        return None
    try:
        token_event, _viewer = verify_viewer_token(request.app[SETTINGS].secret_key, token)
    except NotAuthenticated:
        return None
    return token if token_event == event_id else None


def viewer_actor(request: web.Request, token: str) -> Actor:
    event_id, viewer_id = verify_viewer_token(request.app[SETTINGS].secret_key, token)
    return Actor(kind="viewer", id=viewer_id, name="viewer", role="viewer", event_id=event_id)


def set_cookie(
    request: web.Request,
    response: web.StreamResponse,
    name: str,
    value: str,
    path: str,
    max_age: int | None = YEAR,
) -> None:
    secure = cookie_is_secure(request)
    response.set_cookie(
        name, value, max_age=max_age, path=path, httponly=True, samesite="Lax", secure=secure
    )


# --- the page -------------------------------------------------------------------------------


def live_order(questions: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    """As viewer.js orders them: answered last, then most votes (or newest), newest first."""
    newest_first = sorted(questions, key=lambda q: (q["created_at"], q["id"]), reverse=True)
    if sort == "votes":
        return sorted(newest_first, key=lambda q: (q["state"] == "answered", -q["votes"]))
    return sorted(newest_first, key=lambda q: q["state"] == "answered")


async def _page_state(request: web.Request, row: EventRow) -> tuple[str | None, dict[str, Any]]:
    """The reader's viewer token (or None), and what the page shows them."""
    services = request.app[SERVICES]
    token = viewer_token(request, row.id)
    sort = "newest" if request.query.get("sort") == "newest" else "votes"
    if token is None:
        questions = await queries.public_questions(services, row, "votes", None)
        rooms = await queries.rooms(services, row)
        state = {"viewer": None, "mine": [], "my_votes": set()}
        return None, {
            **state,
            "questions": live_order(questions, sort),
            "rooms": rooms,
            "sort": sort,
        }
    data = await sync.viewer_sync(services, viewer_actor(request, token), row, None)
    mine = sorted(data["mine"], key=lambda q: (q["created_at"], q["id"]), reverse=True)
    return token, {
        "sort": sort,
        "questions": live_order(data["questions"], sort),
        "rooms": list(data["rooms"].values()),
        "viewer": data["viewer"],
        "mine": mine,
        "my_votes": set(data["my_votes"]),
    }


def _light_choice(request: web.Request) -> bool | None:
    """?light=1 or ?light=0 when the reader just chose; None to keep what they chose before."""
    return {"1": True, "0": False}.get(request.query.get("light", ""))


async def render_viewer(
    request: web.Request, problem: Problem | None = None, status: int = 200
) -> web.Response:
    services = request.app[SERVICES]
    slug = request.match_info["slug"]
    row = await catalog.event_by_slug(services, slug)
    event = await catalog.get_event_detail(services, row)
    token, state = await _page_state(request, row)
    chosen = _light_choice(request)
    light = chosen if chosen is not None else request.cookies.get(LIGHT_COOKIE) == "1"
    secret = request.app[SETTINGS].secret_key
    nonce = request.cookies.get(JOIN_COOKIE) or secrets.token_urlsafe(18)
    flash = _flash(request) if problem is None else None
    values = problem.values if problem else {}
    context = {
        **state,
        "light": light,
        "problem": problem,
        "flash": flash,
        "values": values,
        "form_token": form_token(secret, "viewer", token) if token else "",
        "join_token": form_token(secret, "join", nonce),
        # A fresh id per form: the same form sent twice (reload, back) stores one question.
        "client_id": values.get("client_id") or secrets.token_hex(16),
    }
    # viewer.js adopts the cookie's token (it keeps its own copy in localStorage anyway);
    # light mode runs no script that needs it.
    config = {"viewer_token": None if light else token, "light": light}
    csp = await _stream_csp(request, event)
    response = await render(
        request,
        "viewer.html",
        event["title"],
        event=event,
        csp=csp,
        status=status,
        config=config,
        **context,
    )
    path = f"/e/{row.slug}"
    if not token and JOIN_COOKIE not in request.cookies:
        set_cookie(request, response, JOIN_COOKIE, nonce, path, max_age=None)
    if FLASH_COOKIE in request.cookies:
        response.del_cookie(FLASH_COOKIE, path=path)
    if chosen is True:
        set_cookie(request, response, LIGHT_COOKIE, "1", "/")
    elif chosen is False:
        response.del_cookie(LIGHT_COOKIE, path="/")
    response.headers["Cache-Control"] = "no-store"  # it shows this viewer's votes and tokens
    return response


def _flash(request: web.Request) -> dict[str, Any] | None:
    code, question, votes = ([*request.cookies.get(FLASH_COOKIE, "").split(":"), "", ""])[:3]
    text = _flash_texts().get(code)
    if text is None:
        return None
    return {
        "text": text,
        "question_id": int(question) if question.isdigit() else None,
        "votes": int(votes) if votes.isdigit() else None,
    }


@routes.get("/e/{slug}")
async def viewer_page(request: web.Request) -> web.Response:
    return await render_viewer(request)


@routes.get("/e/{slug}/questions.html")
async def questions_fragment(request: web.Request) -> web.Response:
    """The question list alone, for light mode's small script; 304 when nothing changed."""
    services = request.app[SERVICES]
    row = await catalog.event_by_slug(services, request.match_info["slug"])
    event = await catalog.get_event_detail(services, row)
    token, state = await _page_state(request, row)
    form = form_token(request.app[SETTINGS].secret_key, "viewer", token) if token else ""
    template = "_viewer_questions.html"
    html = await (
        request.app[TEMPLATES]
        .get_template(template)
        .render_async(
            event=event,
            form_token=form,
            flash=None,
            problem=None,
            **i18n.template_context(request, template),
            **state,
        )
    )
    etag = '"' + hashlib.sha256(html.encode()).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(text=html, content_type="text/html", headers=headers)
