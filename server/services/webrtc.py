"""WebRTC use cases: publish tokens, who may publish or watch, and the room's sources that
follow an ingest (a `webrtc` source while someone publishes, and optionally local HLS)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from pathlib import Path
from typing import Any

from server.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
)
from server.services import captions, webcast
from server.services.changes import announce_rooms
from server.services.context import Actor, Services
from server.services.room_views import player_of
from server.store import events as event_store
from server.store import webcast as webcast_store
from server.store.models import EventRow, RoomRow
from streams import peers
from streams.peers import PeerRegistry
from streams.webrtc_hls import PLAYLIST, HlsPackager

log = logging.getLogger(__name__)
TOKEN_PREFIX = "whip_"
ROLE = "webrtc"  # the room's source role for its live WebRTC ingest
LABEL = "Live from Podium (WebRTC)"
HLS_LABEL = "Live from Podium (HLS)"
INGEST_ACTOR = Actor(kind="system", id=None, name="WHIP publisher", role="system")
STAFF_WATCHERS = frozenset({"moderator", "chair", "admin"})
PUBLISHERS = frozenset({"admin"})
RETRY_AFTER_SECONDS = 30


class WebRtcUnavailable(DomainError):
    """This caller cannot watch over WebRTC; `fallback` is the room's HLS or embed player."""

    def __init__(self, message: str, fallback: dict[str, Any] | None) -> None:
        super().__init__(message)
        self.fallback = fallback


class WebRtcFull(WebRtcUnavailable):
    """The per-process cap on WebRTC watchers is reached."""

    code = "webrtc_full"


class WebRtcNotAllowed(WebRtcUnavailable):
    """The organiser has not opened this room's WebRTC feed to viewers."""

    code = "webrtc_not_allowed"


def whep_path(room_id: int) -> str:
    return f"/whep/rooms/{room_id}"


def hls_folder(s: Services, room_id: int) -> Path:
    return Path(s.settings.data_dir) / "media" / "live" / str(room_id)


def hls_url(s: Services, room_id: int) -> str:
    return f"{s.settings.effective_public_url}/media/live/{room_id}/{PLAYLIST}"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- organisers ---------------------------------------------------------------------------


async def create_publish_token(
    s: Services, registry: PeerRegistry, actor: Actor, event: EventRow, room_id: int
) -> dict[str, Any]:
    """A new WHIP token for the room, replacing any earlier one; shown this once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    room = await _change_room(
        s, registry, actor, event, room_id, "PublishTokenCreated", token=_hash(token)
    )
    return {**room, "token": token}


async def revoke_publish_token(
    s: Services, registry: PeerRegistry, actor: Actor, event: EventRow, room_id: int
) -> dict[str, Any]:
    """Stop the token working for new publishes (a running ingest goes on until stopped)."""
    return await _change_room(s, registry, actor, event, room_id, "PublishTokenRevoked", token=None)


async def allow_viewers(
    s: Services, registry: PeerRegistry, actor: Actor, event: EventRow, room_id: int, allowed: bool
) -> dict[str, Any]:
    """Let viewers (not only staff) watch the room's ingest over WHEP, or stop letting them."""
    return await _change_room(
        s, registry, actor, event, room_id, "WebRtcViewersSet", viewers=allowed
    )


async def _change_room(
    s: Services,
    registry: PeerRegistry,
    actor: Actor,
    event: EventRow,
    room_id: int,
    action: str,
    **change: Any,
) -> dict[str, Any]:
    async with s.db.write(event.id) as work:
        room = await event_store.room(work.session, event.id, room_id)
        details: dict[str, Any] = {"room_id": room_id}
        if "token" in change:
            room.publish_token_hash = change["token"]
        if "viewers" in change:
            room.webrtc_viewers = details["viewers"] = change["viewers"]
        event_store.audit(
            work.session, event_id=event.id, actor=actor, action=action, details=details
        )
        await work.session.flush()
        # Viewers' room views show the WebRTC player only where they may use it.
        await announce_rooms(work, event.id, s.publisher, room_id)
    return _room_status(registry, room)


def _room_status(registry: PeerRegistry, room: RoomRow) -> dict[str, Any]:
    return {
        "room_id": room.id,
        "publishing": registry.is_publishing(room.id),
        "watchers": registry.watchers_of(room.id),
        "viewers_allowed": room.webrtc_viewers,
        "token_set": room.publish_token_hash is not None,
        "whip_url": f"/whip/rooms/{room.id}",
        "whep_url": whep_path(room.id),
    }


async def status(s: Services, registry: PeerRegistry, event: EventRow) -> dict[str, Any]:
    """What staff consoles show: who publishes, how many watch, and the process-wide cap."""
    async with s.db.read() as session:
        rooms = await event_store.rooms(session, event.id)
    return {
        "max_watchers": registry.max_watchers,
        "watchers": registry.counts()["watchers"],
        "rooms": [_room_status(registry, room) for room in rooms],
    }


# --- who may publish or watch --------------------------------------------------------------


async def room_and_event(s: Services, room_id: int) -> tuple[EventRow, RoomRow]:
    async with s.db.read() as session:
        room = await webcast_store.room_by_id(session, room_id)
        if room is None:
            raise NotFound(f"room {room_id} does not exist")
        return await event_store.by_id(session, room.event_id), room


def check_publish_token(room: RoomRow, token: str) -> None:
    """Refuse a missing, wrong or revoked token, in time that does not depend on the token."""
    expected = room.publish_token_hash or ""
    if not (expected and hmac.compare_digest(_hash(token), expected)):
        raise NotAuthenticated("send the room's publish token as: Authorization: Bearer whip_...")


def check_publisher(actor: Actor, event: EventRow) -> None:
    if actor.kind != "staff":
        raise NotAuthenticated("send the room's publish token, or log in as an organiser")
    if actor.role not in PUBLISHERS:
        raise Forbidden(f"a {actor.role} may not publish")


async def check_watcher(s: Services, actor: Actor, event: EventRow, room: RoomRow) -> None:
    """Staff may always watch; viewers of this event only where the organiser allows it."""
    if actor.kind == "staff" and actor.role in STAFF_WATCHERS:
        return
    if actor.kind == "viewer" and actor.event_id == event.id:
        if room.webrtc_viewers:
            return
        raise WebRtcNotAllowed(
            "this room is watched over HLS or the embed, not WebRTC", await fallback(s, room)
        )
    if actor.kind == "public":
        raise NotAuthenticated("log in, or send your viewer token as: Authorization: Bearer ...")
    raise Forbidden("this token may not watch this room")


async def check_captioner(s: Services, token: str, room: RoomRow) -> None:
    """A captioner has a token and no session; they may watch the room they caption."""
    _event, captioned = await captions.room_for_token(s, token)
    if captioned.id != room.id:
        raise Forbidden("this caption token is for another room")


async def fallback(s: Services, room: RoomRow) -> dict[str, Any] | None:
    """The room's own player (HLS or embed) for those WebRTC cannot serve."""
    async with s.db.read() as session:
        by_role = {row.role: row for row in await webcast_store.sources_of(session, [room.id])}
    active = by_role.get(room.active_role) or by_role.get("primary")
    return player_of(active) if active is not None and active.kind != "webrtc" else None


# --- ingest and playback -------------------------------------------------------------------


async def publish(
    s: Services, registry: PeerRegistry, actor: Actor, event: EventRow, room: RoomRow, offer: str
) -> tuple[str, str]:
    """Start the room's ingest; its `webrtc` source (and local HLS) follow it."""
    sinks = []
    if s.settings.webrtc_hls == "on":
        sinks.append(
            HlsPackager(
                hls_folder(s, room.id),
                s.settings.webrtc_hls_segment_seconds,
                s.settings.webrtc_hls_preset,
            )
        )

    async def ended(_peer: peers.Peer) -> None:
        await _ingest_ended(s, event, room.id)

    try:
        peer, answer = await registry.publish(room.id, offer, sinks=sinks, on_closed=ended)
    except peers.RoomBusy as error:
        raise Conflict(str(error)) from error
    except peers.BadOffer as error:
        raise InvalidInput(str(error), fields={"body": str(error)}) from error
    try:
        await webcast.set_source(
            s, actor, event, room.id, ROLE, "webrtc", whep_path(room.id), LABEL
        )
        if sinks:
            await _offer_local_hls(s, actor, event, room.id)
    except BaseException:
        await registry.close(peer.id)
        raise
    return peer.id, answer


async def _offer_local_hls(s: Services, actor: Actor, event: EventRow, room_id: int) -> None:
    """Make the packaged HLS the room's primary, unless the organiser set another one."""
    url = hls_url(s, room_id)
    async with s.db.read() as session:
        primary = await webcast_store.source(session, room_id, "primary")
    if primary is None or primary.url == url:
        await webcast.set_source(s, actor, event, room_id, "primary", "hls", url, HLS_LABEL)


async def _ingest_ended(s: Services, event: EventRow, room_id: int) -> None:
    try:
        await webcast.remove_source(s, INGEST_ACTOR, event, room_id, ROLE)
    except DomainError as error:  # the organiser removed it already, or the room is gone
        log.info("WebRTC ingest of room %s ended: %s", room_id, error.message)


async def watch(
    s: Services, registry: PeerRegistry, event: EventRow, room: RoomRow, offer: str
) -> tuple[str, str]:
    try:
        peer, answer = await registry.watch(room.id, offer)
    except peers.NotPublishing as error:
        raise NotFound(str(error)) from error
    except peers.WatchersFull as error:
        raise WebRtcFull(str(error), await fallback(s, room)) from error
    except peers.BadOffer as error:
        raise InvalidInput(str(error), fields={"body": str(error)}) from error
    return peer.id, answer


async def stop(registry: PeerRegistry, room_id: int, role: str, session_id: str) -> None:
    """End a WHIP or WHEP session; its unguessable id is what authorises this."""
    peer = registry.peer(session_id)
    if peer is None or peer.room_id != room_id or peer.role != role:
        raise NotFound("no such WebRTC session (it may have ended already)")
    await registry.close(session_id)
