"""WebRTC over HTTP: WHIP ingest (RFC 9725) and WHEP playback per room, and the organiser's
publish tokens. WHIP/WHEP speak SDP, not JSON, but fail in the project's one error shape."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from aiohttp import web
from pydantic import Field, ValidationError

from server import schemas as sc
from server.app_keys import PEERS, SERVICES, SETTINGS
from server.commands import ADMINS, STAFF
from server.domain.errors import DomainError, InvalidInput, NotAuthenticated
from server.errors import HTTP_STATUS, describe
from server.http.api import Handler, api, guarded, path_int, read_json, with_path_ids
from server.http.auth import current_actor
from server.services import captions, webrtc
from server.services.context import Actor
from streams.peers import PeerRegistry, ice_configuration

SDP_TYPE = "application/sdp"
MAX_SDP_BYTES = 32_768  # browsers' offers are 3-10 kB; OBS's smaller
WEBRTC_STATUS = {
    "unsupported_media_type": 415,
    "webrtc_not_allowed": 403,
    "webrtc_full": 503,
}
routes = web.RouteTableDef()


class PayloadTooLarge(DomainError):
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"


class WebRtcViewers(sc.Schema):
    room_id: sc.Id
    viewers_allowed: Annotated[bool, Field(description="viewers may watch over WHEP")]


async def peer_registry(app: web.Application) -> AsyncIterator[None]:
    """The registry lives with the app; at shutdown every peer is closed and freed."""
    settings = app[SETTINGS]
    ice = ice_configuration(
        settings.webrtc_ice_urls, settings.webrtc_ice_username, settings.webrtc_ice_credential
    )
    registry = PeerRegistry(ice, settings.webrtc_max_watchers)
    app[PEERS] = registry
    yield
    await registry.close_all()


def sdp_endpoint(handler: Handler) -> Handler:
    """Errors as `{"error": ...}` JSON (these paths are not under /api/), never cached."""

    async def answer(request: web.Request) -> web.StreamResponse:
        try:
            response = await handler(request)
        except (DomainError, ValidationError) as error:
            response = _error_response(error)
        response.headers["Cache-Control"] = "no-store"
        return response

    return answer


def _error_response(error: DomainError | ValidationError) -> web.Response:
    body = describe(error)
    assert body is not None
    status = WEBRTC_STATUS.get(body["code"]) or HTTP_STATUS.get(body["code"], 400)
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="podium"'
    if isinstance(error, webrtc.WebRtcUnavailable):
        body["fallback"] = error.fallback
        if status == 503:
            headers["Retry-After"] = str(webrtc.RETRY_AFTER_SECONDS)
    return web.json_response({"error": body}, status=status, headers=headers)


async def read_offer(request: web.Request) -> str:
    if request.content_type != SDP_TYPE:
        raise UnsupportedMediaType(f"send the SDP offer with Content-Type: {SDP_TYPE}")
    too_large = PayloadTooLarge(f"the SDP offer is larger than {MAX_SDP_BYTES} bytes")
    if (request.content_length or 0) > MAX_SDP_BYTES:
        raise too_large
    raw = await request.content.read(MAX_SDP_BYTES + 1)
    if len(raw) > MAX_SDP_BYTES:
        raise too_large
    try:
        offer = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput("the SDP offer is not UTF-8", fields={"body": "not UTF-8"}) from error
    if not offer.startswith("v=0"):
        raise InvalidInput("the body is not an SDP offer", fields={"body": "not SDP"})
    return offer


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    return header.removeprefix("Bearer ") if header.startswith("Bearer ") else None


def _created(request: web.Request, kind: str, room_id: int, session_id: str, answer: str):
    """201 with the answer; Location is the session to DELETE; Link offers the ICE servers."""
    settings = request.app[SETTINGS]
    links = []
    for url in settings.webrtc_ice_urls:
        link = f'<{url}>; rel="ice-server"'
        if settings.webrtc_ice_username and url.startswith("turn"):
            link += f'; username="{settings.webrtc_ice_username}"'
            link += f'; credential="{settings.webrtc_ice_credential}"; credential-type="password"'
        links.append(link)
    response = web.Response(status=201, text=answer, content_type=SDP_TYPE)
    response.headers["Location"] = f"/{kind}/rooms/{room_id}/sessions/{session_id}"
    for link in links:
        response.headers.add("Link", link)
    return response


# --- WHIP: publish a room's programme ------------------------------------------------------


@routes.post("/whip/rooms/{room_id}")
@sdp_endpoint
async def whip_publish(request: web.Request) -> web.StreamResponse:
    s = request.app[SERVICES]
    event, room = await webrtc.room_and_event(s, path_int(request, "room_id"))
    token = _bearer(request)
    if token is not None:
        webrtc.check_publish_token(room, token)
        actor = webrtc.INGEST_ACTOR
    else:  # the in-browser "go live" page: an organiser's session and its CSRF header
        actor = await current_actor(request)
        webrtc.check_publisher(actor, event)
    offer = await read_offer(request)
    session_id, answer = await webrtc.publish(s, request.app[PEERS], actor, event, room, offer)
    return _created(request, "whip", room.id, session_id, answer)


@routes.delete("/whip/rooms/{room_id}/sessions/{session_id}")
@sdp_endpoint
async def whip_stop(request: web.Request) -> web.StreamResponse:
    await _stop(request, "ingest")
    return web.Response(status=200)


# --- WHEP: watch a room with sub-second delay ----------------------------------------------


@routes.post("/whep/rooms/{room_id}")
@sdp_endpoint
async def whep_watch(request: web.Request) -> web.StreamResponse:
    s = request.app[SERVICES]
    event, room = await webrtc.room_and_event(s, path_int(request, "room_id"))
    token = _bearer(request)
    if token is not None and token.startswith(captions.TOKEN_PREFIX):
        await webrtc.check_captioner(s, token, room)
    else:
        actor: Actor = await current_actor(request)  # a viewer token, or staff session + CSRF
        if actor.kind == "public" and token is not None:
            raise NotAuthenticated("the bearer token is not valid here")
        await webrtc.check_watcher(s, actor, event, room)
    offer = await read_offer(request)
    session_id, answer = await webrtc.watch(s, request.app[PEERS], event, room, offer)
    return _created(request, "whep", room.id, session_id, answer)


@routes.delete("/whep/rooms/{room_id}/sessions/{session_id}")
@sdp_endpoint
async def whep_stop(request: web.Request) -> web.StreamResponse:
    await _stop(request, "watcher")
    return web.Response(status=200)


async def _stop(request: web.Request, role: str) -> None:
    room_id = path_int(request, "room_id")
    await webrtc.stop(request.app[PEERS], room_id, role, request.match_info["session_id"])


# --- organisers: publish tokens, who may watch, what is going on ---------------------------


@api(
    "GET",
    "/api/v1/events/{slug}/webrtc",
    "WebRTC per room: publishing, watchers, token set, viewers allowed; the watcher cap",
    STAFF,
)
async def webrtc_status(request: web.Request) -> web.Response:
    _actor, event = await guarded(request, STAFF)
    registry = request.app[PEERS]
    return web.json_response(await webrtc.status(request.app[SERVICES], registry, event))


@api(
    "POST",
    "/api/v1/events/{slug}/rooms/{room_id}/publish-token",
    "A new WHIP publish token for the room (replaces the old one); shown once",
    ADMINS,
)
async def create_publish_token(request: web.Request) -> web.Response:
    actor, event = await guarded(request, ADMINS)
    room_id = path_int(request, "room_id")
    s, registry = request.app[SERVICES], request.app[PEERS]
    result = await webrtc.create_publish_token(s, registry, actor, event, room_id)
    return web.json_response(result, status=201)


@api(
    "DELETE",
    "/api/v1/events/{slug}/rooms/{room_id}/publish-token",
    "Revoke the room's WHIP publish token",
    ADMINS,
)
async def revoke_publish_token(request: web.Request) -> web.Response:
    actor, event = await guarded(request, ADMINS)
    room_id = path_int(request, "room_id")
    s, registry = request.app[SERVICES], request.app[PEERS]
    return web.json_response(await webrtc.revoke_publish_token(s, registry, actor, event, room_id))


@api(
    "PUT",
    "/api/v1/events/{slug}/rooms/{room_id}/webrtc",
    "Let viewers (not only staff) watch the room over WHEP, or stop letting them",
    ADMINS,
    body=WebRtcViewers,
)
async def set_webrtc_viewers(request: web.Request) -> web.Response:
    actor, event = await guarded(request, ADMINS)
    data = WebRtcViewers.model_validate(with_path_ids(request, await read_json(request)))
    s, registry = request.app[SERVICES], request.app[PEERS]
    result = await webrtc.allow_viewers(
        s, registry, actor, event, data.room_id, data.viewers_allowed
    )
    return web.json_response(result)
