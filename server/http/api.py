"""The JSON API under /api/v1: thin handlers that validate, authorise, call a service."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from server import schemas as sc
from server.app_keys import SERVICES
from server.commands import ADMINS, COMMANDS, MODERATORS, STAFF, VIEWER, authorize, dispatch
from server.domain.errors import InvalidInput
from server.http.auth import SESSION_COOKIE, current_actor, set_session_cookie, staff_session
from server.services import asking, auth, catalog, queries
from server.services.context import Actor
from server.store.models import EventRow

PUBLIC = frozenset({"public", "viewer", "moderator", "chair", "admin"})
CAPTIONER = frozenset({"captioner"})
PATH_IDS = ("question_id", "viewer_id", "room_id", "token_id")


@dataclass(frozen=True)
class ApiRoute:
    """One documented route: the OpenAPI document is built from these."""

    method: str
    path: str
    summary: str
    roles: frozenset[str]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None


API_ROUTES: list[ApiRoute] = []
routes = web.RouteTableDef()
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def api(method: str, path: str, summary: str, roles: frozenset[str], body=None, query=None):
    def register(handler: Handler) -> Handler:
        API_ROUTES.append(ApiRoute(method, path, summary, roles, body, query))
        routes.route(method, path)(handler)
        return handler

    return register


async def read_json(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise InvalidInput("the body is not valid JSON", fields={"body": "invalid JSON"}) from error
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object", fields={"body": "not an object"})
    return body


def read_query(request: web.Request, schema: type[BaseModel]) -> Any:
    # Query strings are text, so numbers and booleans are converted here (not strict).
    return schema.model_validate(dict(request.query), strict=False)


def attachment(text: str, content_type: str, filename: str) -> web.Response:
    """A download: `filename` is built from slugs and numbers, never from user text."""
    return web.Response(
        text=text,
        content_type=content_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def event_of(request: web.Request) -> EventRow:
    return await catalog.event_by_slug(request.app[SERVICES], request.match_info["slug"])


async def guarded(request: web.Request, roles: frozenset[str]) -> tuple[Actor, EventRow]:
    actor = await current_actor(request)
    event = await event_of(request)
    authorize(actor, roles, event)
    return actor, event


# --- commands: one generic handler per command route --------------------------------------

COMMAND_ROUTES = (
    ("POST", "/api/v1/events/{slug}/questions", "submit_question"),
    ("POST", "/api/v1/events/{slug}/questions/{question_id}/vote", "vote"),
    ("DELETE", "/api/v1/events/{slug}/questions/{question_id}/vote", "unvote"),
    ("POST", "/api/v1/events/{slug}/questions/{question_id}/withdraw", "withdraw_question"),
    ("PATCH", "/api/v1/events/{slug}/viewers/me", "set_display_name"),
    ("POST", "/api/v1/events/{slug}/questions/{question_id}/approve", "approve_question"),
    ("POST", "/api/v1/events/{slug}/questions/{question_id}/reject", "reject_question"),
    ("POST", "/api/v1/events/{slug}/questions/{question_id}/edit", "edit_question"),
    ("POST", "/api/v1/events/{slug}/questions/{question_id}/star", "star_question"),
    ("POST", "/api/v1/events/{slug}/questions/{question_id}/merge", "merge_question"),
    ("POST", "/api/v1/events/{slug}/viewers/{viewer_id}/block", "block_viewer"),
    ("POST", "/api/v1/events/{slug}/questions/{question_id}/queue", "queue_question"),
    ("POST", "/api/v1/events/{slug}/questions/{question_id}/unqueue", "unqueue_question"),
    ("POST", "/api/v1/events/{slug}/rooms/{room_id}/running-order", "reorder_question"),
    ("POST", "/api/v1/events/{slug}/questions/{question_id}/stage", "put_on_stage"),
    ("POST", "/api/v1/events/{slug}/questions/{question_id}/answered", "mark_answered"),
    ("POST", "/api/v1/events/{slug}/questions/{question_id}/send-back", "send_back"),
    ("POST", "/api/v1/events/{slug}/questions/{question_id}/forward", "forward_question"),
    ("PUT", "/api/v1/events/{slug}/rooms/{room_id}/sources", "set_stream_source"),
    ("DELETE", "/api/v1/events/{slug}/rooms/{room_id}/sources", "remove_stream_source"),
    ("POST", "/api/v1/events/{slug}/rooms/{room_id}/status", "set_stream_status"),
    ("POST", "/api/v1/events/{slug}/rooms/{room_id}/switch", "switch_stream_source"),
    ("POST", "/api/v1/events/{slug}/rooms/{room_id}/now-playing", "set_now_playing"),
    ("POST", "/api/v1/events/{slug}/rooms/{room_id}/caption-tokens", "create_caption_token"),
    ("DELETE", "/api/v1/events/{slug}/caption-tokens/{token_id}", "revoke_caption_token"),
)


def _command_handler(name: str) -> Handler:
    command = COMMANDS[name]

    async def handle(request: web.Request) -> web.Response:
        actor = await current_actor(request)
        event = await event_of(request)
        payload = with_path_ids(request, await read_json(request))
        result = await dispatch(request.app[SERVICES], command, actor, event, payload)
        return web.json_response(result)

    return handle


for _method, _path, _name in COMMAND_ROUTES:
    _command = COMMANDS[_name]
    api(_method, _path, _command.summary, _command.roles, body=_command.schema)(
        _command_handler(_name)
    )


# --- authentication -----------------------------------------------------------------------


@api("POST", "/api/v1/auth/login", "Staff login; sets the session cookie", PUBLIC, body=sc.Login)
async def login(request: web.Request) -> web.Response:
    data = sc.Login.model_validate(await read_json(request))
    client_key = request.remote or "unknown"
    token, csrf, actor = await auth.login(
        request.app[SERVICES], data.username, data.password, client_key
    )
    response = web.json_response({"user": _user(actor), "csrf_token": csrf})
    set_session_cookie(request, response, token)
    return response


@api("POST", "/api/v1/auth/logout", "End the staff session", STAFF)
async def logout(request: web.Request) -> web.Response:
    actor = await current_actor(request)
    authorize(actor, STAFF)
    await auth.logout(request.app[SERVICES], request.cookies[SESSION_COOKIE])
    response = web.json_response({})
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


@api("GET", "/api/v1/auth/me", "The logged-in staff member and CSRF token", STAFF)
async def me(request: web.Request) -> web.Response:
    found = await staff_session(request)
    authorize(found[0] if found else Actor.public(), STAFF)
    return web.json_response({"user": _user(found[0]), "csrf_token": found[1]})


def _user(actor: Actor) -> dict[str, Any]:
    return {"id": actor.id, "display_name": actor.name, "role": actor.role}


# --- events, rooms, agenda, staff (organisers) ---------------------------------------------


@api("GET", "/api/v1/events", "List events", PUBLIC)
async def list_events(request: web.Request) -> web.Response:
    return web.json_response(await catalog.list_events(request.app[SERVICES]))


@api("POST", "/api/v1/events", "Create an event", ADMINS, body=sc.CreateEvent)
async def create_event(request: web.Request) -> web.Response:
    actor = await current_actor(request)
    authorize(actor, ADMINS)
    data = sc.CreateEvent.model_validate(await read_json(request))
    fields = data.model_dump(exclude_none=True)
    result = await catalog.create_event(request.app[SERVICES], actor, fields)
    return web.json_response(result, status=201)


@api("GET", "/api/v1/events/{slug}", "Event detail: settings, rooms, agenda", PUBLIC)
async def get_event(request: web.Request) -> web.Response:
    event = await event_of(request)
    return web.json_response(await catalog.get_event_detail(request.app[SERVICES], event))


@api("PATCH", "/api/v1/events/{slug}", "Change event settings", ADMINS, body=sc.EventFields)
async def update_event(request: web.Request) -> web.Response:
    actor, event = await guarded(request, ADMINS)
    data = sc.EventFields.model_validate(await read_json(request))
    fields = data.model_dump(exclude_none=True)
    return web.json_response(
        await catalog.update_event(request.app[SERVICES], actor, event, fields)
    )


@api("POST", "/api/v1/events/{slug}/rooms", "Add a room (a stage)", ADMINS, body=sc.CreateRoom)
async def add_room(request: web.Request) -> web.Response:
    actor, event = await guarded(request, ADMINS)
    data = sc.CreateRoom.model_validate(await read_json(request))
    room = await catalog.add_room(request.app[SERVICES], actor, event, data.slug, data.name)
    return web.json_response(room, status=201)


@api("POST", "/api/v1/events/{slug}/sessions", "Add an agenda session", ADMINS, sc.CreateSession)
async def add_session(request: web.Request) -> web.Response:
    actor, event = await guarded(request, ADMINS)
    data = sc.CreateSession.model_validate(await read_json(request))
    item = await catalog.add_session(request.app[SERVICES], actor, event, data.model_dump())
    return web.json_response(item, status=201)


@api("GET", "/api/v1/staff", "List staff accounts", ADMINS)
async def list_staff(request: web.Request) -> web.Response:
    authorize(await current_actor(request), ADMINS)
    return web.json_response(await catalog.staff_list(request.app[SERVICES]))


@api("POST", "/api/v1/staff", "Create a staff account", ADMINS, body=sc.CreateStaff)
async def create_staff(request: web.Request) -> web.Response:
    authorize(await current_actor(request), ADMINS)
    data = sc.CreateStaff.model_validate(await read_json(request))
    user = await auth.create_staff_user(
        request.app[SERVICES], data.username, data.password, data.role, data.display_name
    )
    body = {"id": user.id, "username": user.username, "role": user.role}
    return web.json_response({**body, "display_name": user.display_name}, status=201)


@api("GET", "/api/v1/events/{slug}/stats", "Questions received/approved/rejected", ADMINS)
async def stats(request: web.Request) -> web.Response:
    _actor, event = await guarded(request, ADMINS)
    return web.json_response(await catalog.moderation_stats(request.app[SERVICES], event))


@api(
    "GET",
    "/api/v1/events/{slug}/audit",
    "The moderation audit log",
    MODERATORS,
    query=sc.AuditQuery,
)
async def audit(request: web.Request) -> web.Response:
    _actor, event = await guarded(request, MODERATORS)
    limit = read_query(request, sc.AuditQuery).limit
    return web.json_response(await catalog.audit_log(request.app[SERVICES], event, limit))


# --- viewers and questions -----------------------------------------------------------------


@api(
    "POST",
    "/api/v1/events/{slug}/viewers",
    "Join as a viewer; returns a token",
    PUBLIC,
    body=sc.JoinEvent,
)
async def join(request: web.Request) -> web.Response:
    event = await event_of(request)
    data = sc.JoinEvent.model_validate(await read_json(request))
    result = await asking.join(
        request.app[SERVICES], event, data.display_name, data.channel, data.country, data.time_zone
    )
    return web.json_response(result, status=201)


@api(
    "GET",
    "/api/v1/events/{slug}/questions",
    "Public questions, ranked",
    PUBLIC,
    query=sc.ListQuestions,
)
async def public_questions(request: web.Request) -> web.Response:
    event = await event_of(request)
    wanted = read_query(request, sc.ListQuestions)
    result = await queries.public_questions(
        request.app[SERVICES], event, wanted.sort, wanted.session_id
    )
    return web.json_response(result)


@api("GET", "/api/v1/events/{slug}/questions/mine", "The viewer's own questions", VIEWER)
async def my_questions(request: web.Request) -> web.Response:
    actor, event = await guarded(request, VIEWER)
    return web.json_response(await queries.my_questions(request.app[SERVICES], actor, event))


@api(
    "GET",
    "/api/v1/events/{slug}/moderation/questions",
    "Every question, filtered",
    STAFF,
    query=sc.ModerationFilter,
)
async def staff_questions(request: web.Request) -> web.Response:
    _actor, event = await guarded(request, STAFF)
    wanted = read_query(request, sc.ModerationFilter)
    return web.json_response(await queries.staff_questions(request.app[SERVICES], event, wanted))


@api("GET", "/api/v1/events/{slug}/rooms/{room_id}/running-order", "A stage's running order", STAFF)
async def running_order(request: web.Request) -> web.Response:
    _actor, event = await guarded(request, STAFF)
    room_id = path_int(request, "room_id")
    return web.json_response(await queries.running_order(request.app[SERVICES], event, room_id))


@api("GET", "/api/v1/events/{slug}/rooms/{room_id}/stage", "What a stage shows now", PUBLIC)
async def stage(request: web.Request) -> web.Response:
    event = await event_of(request)
    room_id = path_int(request, "room_id")
    return web.json_response(await queries.stage(request.app[SERVICES], event, room_id))


def with_path_ids(request: web.Request, payload: dict[str, Any]) -> dict[str, Any]:
    """`payload` with the ids the path names (`PATH_IDS`), which the body may not repeat."""
    for key in PATH_IDS:
        if key in request.match_info:
            if key in payload:
                raise InvalidInput(f"{key} is given in the path", fields={key: "unknown field"})
            payload[key] = path_int(request, key)
    return payload


def path_int(request: web.Request, key: str) -> int:
    try:
        return int(request.match_info[key])
    except ValueError as error:
        raise InvalidInput(f"{key} must be a number", fields={key: "not a number"}) from error


# The webcast's, attendance's and the organiser's WebRTC routes (in modules of their own)
# register themselves here, so that the route table, the OpenAPI document and docs/api.md
# list them.
from server.http import api_attendance as _attendance  # noqa: E402, F401
from server.http import api_webcast as _webcast  # noqa: E402, F401
from server.http import webrtc as _webrtc  # noqa: E402, F401
