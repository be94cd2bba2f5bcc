"""The JSON API's webcast routes: rooms' stream metadata, captions, agenda formats."""

from __future__ import annotations

from aiohttp import web

from server import schemas as sc
from server.app_keys import SERVICES
from server.commands import ADMINS
from server.domain.errors import InvalidInput, NotAuthenticated
from server.http.api import (
    CAPTIONER,
    PUBLIC,
    api,
    attachment,
    event_of,
    guarded,
    path_int,
    read_json,
    read_query,
)
from server.services import captions, catalog, queries


@api(
    "GET", "/api/v1/events/{slug}/caption-tokens", "List caption tokens (not their secrets)", ADMINS
)
async def list_caption_tokens(request: web.Request) -> web.Response:
    _actor, event = await guarded(request, ADMINS)
    return web.json_response(await captions.tokens(request.app[SERVICES], event))


@api("GET", "/api/v1/events/{slug}/rooms", "Every room's stream metadata", PUBLIC)
async def rooms(request: web.Request) -> web.Response:
    event = await event_of(request)
    return web.json_response(await queries.rooms(request.app[SERVICES], event))


@api("GET", "/api/v1/events/{slug}/rooms/{room_id}", "One room's stream metadata", PUBLIC)
async def room(request: web.Request) -> web.Response:
    event = await event_of(request)
    room_id = path_int(request, "room_id")
    return web.json_response(await queries.room(request.app[SERVICES], event, room_id))


@api(
    "POST",
    "/api/v1/captions",
    "Post a caption line (caption token as Bearer)",
    CAPTIONER,
    body=sc.PostCaption,
)
async def post_caption(request: web.Request) -> web.Response:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise NotAuthenticated("send the caption token as: Authorization: Bearer cap_...")
    data = sc.PostCaption.model_validate(await read_json(request))
    line = await captions.post_line(
        request.app[SERVICES], header.removeprefix("Bearer "), data.text
    )
    return web.json_response(line, status=201)


@api("GET", "/api/v1/events/{slug}/rooms/{room_id}/captions", "The newest caption lines", PUBLIC)
async def recent_captions(request: web.Request) -> web.Response:
    event = await event_of(request)
    room_id = path_int(request, "room_id")
    return web.json_response(await captions.recent_lines(request.app[SERVICES], event, room_id))


@api(
    "GET",
    "/api/v1/events/{slug}/rooms/{room_id}/captions.vtt",
    "The room's caption transcript as WebVTT",
    PUBLIC,
)
async def captions_vtt(request: web.Request) -> web.Response:
    event = await event_of(request)
    room_id = path_int(request, "room_id")
    text = await captions.transcript_vtt(request.app[SERVICES], event, room_id)
    return attachment(text, "text/vtt", f"{event.slug}-room-{room_id}.vtt")


@api(
    "POST",
    "/api/v1/events/{slug}/agenda/import",
    "Import sessions: CSV (title,kind,room,start,end) or pretalx/frab JSON",
    ADMINS,
    query=sc.AgendaImport,
)
async def import_agenda(request: web.Request) -> web.Response:
    actor, event = await guarded(request, ADMINS)
    wanted = read_query(request, sc.AgendaImport)
    try:
        text = (await request.read()).decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput("the file must be UTF-8 text", fields={"body": "not UTF-8"}) from error
    result = await catalog.import_agenda(request.app[SERVICES], actor, event, text, wanted.format)
    return web.json_response(result, status=201)


@api("GET", "/api/v1/events/{slug}/agenda.ics", "The agenda as iCalendar", PUBLIC)
async def agenda_ics(request: web.Request) -> web.Response:
    event = await event_of(request)
    text = await catalog.agenda_ical(request.app[SERVICES], event)
    return attachment(text, "text/calendar", f"{event.slug}.ics")
