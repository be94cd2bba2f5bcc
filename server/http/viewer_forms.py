"""The viewer page's HTML forms: join, ask, upvote, change name, without JavaScript.

Each post is checked (viewer cookie, form token, pydantic schema), runs the same command as
the API (so the same validation and rate limits), and answers with a redirect and a
confirmation (POST/redirect/GET), or with the page again showing the errors beside the
fields (a redirect would lose a long question: cookies hold 4 KB).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from server import schemas as sc
from server.app_keys import SERVICES, SETTINGS
from server.commands import COMMANDS, dispatch
from server.domain.errors import DomainError, InvalidInput
from server.errors import HTTP_STATUS, describe
from server.http.viewer_page import (
    FLASH_COOKIE,
    JOIN_COOKIE,
    VIEWER_COOKIE,
    Problem,
    refuse_forged_form,
    render_viewer,
    set_cookie,
    token_matches,
    viewer_actor,
    viewer_token,
)
from server.i18n import gettext as _
from server.services import asking, catalog
from server.services.auth import verify_viewer_token

BLANK_MEANS_NONE = frozenset({"session_id"})  # "No particular session" is the empty option

routes = web.RouteTableDef()

# --- the forms ------------------------------------------------------------------------------


async def _fields(request: web.Request) -> dict[str, str]:
    """The posted fields as text (a file where text belongs is refused)."""
    form = await request.post()
    fields: dict[str, str] = {}
    for name, value in form.items():
        if not isinstance(value, str):
            raise InvalidInput("send text fields only", fields={name: "not text"})
        if value or name not in BLANK_MEANS_NONE:
            fields[name] = value
    return fields


def _problem(form: str, error: Exception, fields: dict[str, str], **extra: Any) -> Problem:
    body = describe(error) or {"message": str(error), "fields": {}}
    message = _(body["message"])
    if body.get("code") == "rate_limited":
        seconds = max(1, round(body.get("retry_after", 1)))
        message = _(
            "You're going a little fast. Try again in %(seconds)s seconds.", seconds=seconds
        )
    message = message[:1].upper() + message[1:]
    if not message.endswith((".", "!", "?")):
        message += "."
    notes = {name.split(".")[0]: _(note) for name, note in body["fields"].items()}
    values = {k: v for k, v in fields.items() if k != "form_token"}
    return Problem(form, message, notes, values, **extra)


def _status(error: Exception) -> int:
    body = describe(error)
    return HTTP_STATUS.get(body["code"], 400) if body else 400


def _redirect(request: web.Request, anchor: str, flash: str) -> web.Response:
    """POST/redirect/GET: back to the page, at `anchor`, with the confirmation `flash`."""
    path = f"/e/{request.match_info['slug']}"
    response = web.Response(status=303, headers={"Location": f"{path}#{anchor}"})
    set_cookie(request, response, FLASH_COOKIE, flash, path, max_age=120)
    return response


@routes.post("/e/{slug}/join")
async def join(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    row = await catalog.event_by_slug(services, request.match_info["slug"])
    fields = await _fields(request)
    if not token_matches(
        request, fields.get("form_token"), "join", request.cookies.get(JOIN_COOKIE)
    ):
        raise refuse_forged_form()
    if viewer_token(request, row.id):
        return _redirect(request, "ask-panel", "already_joined")  # the back button, then Join
    try:
        data = sc.JoinForm.model_validate(fields, strict=False)
        name = (data.display_name or "").strip() or None
        if name is None and not row.allow_anonymous:
            raise InvalidInput(
                "this event needs a name with each question",
                fields={"display_name": "please enter your name"},
            )
        joined = await asking.join(services, row, name, data.channel)
    except (ValidationError, DomainError) as error:
        return await render_viewer(request, _problem("join", error, fields), _status(error))
    response = _redirect(request, "ask-panel", "joined")
    set_cookie(request, response, VIEWER_COOKIE, joined["token"], f"/e/{row.slug}")
    response.del_cookie(JOIN_COOKIE, path=f"/e/{row.slug}")
    return response


async def _viewer_form(
    request: web.Request, form: str, schema: type[BaseModel], run, **extra: Any
) -> web.Response:
    """Check a joined viewer's form post, then `run(services, actor, row, data)` -> redirect."""
    services = request.app[SERVICES]
    row = await catalog.event_by_slug(services, request.match_info["slug"])
    fields = await _fields(request)
    token = viewer_token(request, row.id)
    if token is None:
        return _redirect(request, "join-panel", "join_first")
    if not token_matches(request, fields.get("form_token"), "viewer", token):
        raise refuse_forged_form()
    try:
        data = schema.model_validate(fields, strict=False)
        anchor, flash = await run(services, viewer_actor(request, token), row, data)
    except (ValidationError, DomainError) as error:
        problem = _problem(form, error, fields, **extra)
        return await render_viewer(request, problem, _status(error))
    return _redirect(request, anchor, flash)


@routes.post("/e/{slug}/questions")
async def ask(request: web.Request) -> web.Response:
    async def run(services, actor, row, data: sc.AskForm):
        payload = {
            "client_id": data.client_id,
            "text": data.text.replace("\r\n", "\n"),  # browsers send CRLF; the API gets LF
            "session_id": data.session_id,
            "anonymous": data.anonymous is not None,
        }
        question = await dispatch(services, COMMANDS["submit_question"], actor, row, payload)
        if question["duplicate"]:
            return "form-result", "asked_duplicate"
        return "form-result", f"asked_{'pending' if question['state'] == 'pending' else 'approved'}"

    return await _viewer_form(request, "ask", sc.AskForm, run)


@routes.post("/e/{slug}/questions/{question_id:\\d+}/vote")
async def vote(request: web.Request) -> web.Response:
    question_id = int(request.match_info["question_id"])

    async def run(services, actor, row, data: sc.VoteForm):
        command = COMMANDS[data.action]
        result = await dispatch(services, command, actor, row, {"question_id": question_id})
        # The page's counts catch up with the vote tally a moment later; show this one now.
        flash = f"{data.action}d:{result['question_id']}:{result['votes']}"
        return f"question-{result['question_id']}", flash

    return await _viewer_form(request, "vote", sc.VoteForm, run, question_id=question_id)


@routes.post("/e/{slug}/name")
async def set_name(request: web.Request) -> web.Response:
    async def run(services, actor, row, data: sc.NameForm):
        name = (data.display_name or "").strip() or None
        payload = {"display_name": name}
        await dispatch(services, COMMANDS["set_display_name"], actor, row, payload)
        return "ask-panel", "named"

    return await _viewer_form(request, "name", sc.NameForm, run)


@routes.post("/e/{slug}/viewer-cookie")
async def share_token(request: web.Request) -> web.Response:
    """viewer.js hands over its token, so forms (light mode, no scripts) act as the same viewer.

    Only a script of this site can send it: other sites cannot post JSON without CORS.
    """
    if request.content_type != "application/json":
        raise InvalidInput("send JSON", fields={"body": "not JSON"})
    row = await catalog.event_by_slug(request.app[SERVICES], request.match_info["slug"])
    data = sc.ShareViewerToken.model_validate_json(await request.read())
    event_id, _viewer = verify_viewer_token(request.app[SETTINGS].secret_key, data.token)
    if event_id != row.id:
        raise InvalidInput("this token belongs to another event", fields={"token": "wrong event"})
    response = web.Response(status=204)
    set_cookie(request, response, VIEWER_COOKIE, data.token, f"/e/{row.slug}")
    return response
