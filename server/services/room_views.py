"""What viewers and staff see of a room's webcast: source, status, now and next, captions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.services.views import iso
from server.store import events as event_store
from server.store import webcast as webcast_store
from server.store.models import AgendaSessionRow, RoomRow, StreamSourceRow
from streams.errors import InvalidSource
from streams.sources import make_source

STATUSES = ("scheduled", "starting_soon", "live", "paused", "ended")
SOURCE_ROLES = ("primary", "backup", "audio", "interpreter", "webrtc")


def player_of(source: StreamSourceRow | None) -> dict[str, Any] | None:
    if source is None:
        return None
    try:
        return {**make_source(source.kind, source.url).player, "label": source.label}
    except InvalidSource:  # stored before a rule tightened: better no player than a bad one
        return None


def _session_summary(item: AgendaSessionRow | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return {
        "id": item.id,
        "title": item.title,
        "kind": item.kind,
        "starts_at": iso(item.starts_at),
        "ends_at": iso(item.ends_at),
    }


def _next_up(room: RoomRow, agenda: Sequence[AgendaSessionRow]) -> AgendaSessionRow | None:
    in_room = [a for a in agenda if a.room_id == room.id]
    current = next((a for a in in_room if a.id == room.now_playing_session_id), None)
    if current is None:
        return None
    later = [a for a in in_room if a.starts_at >= current.ends_at and a.id != current.id]
    return min(later, key=lambda a: a.starts_at, default=None)


def room_view(
    room: RoomRow,
    sources: Sequence[StreamSourceRow],
    agenda: Sequence[AgendaSessionRow],
    *,
    captions_available: bool,
    staff: bool,
) -> dict[str, Any]:
    by_role = {s.role: s for s in sources if s.room_id == room.id}
    active = by_role.get(room.active_role) or by_role.get("primary")
    now_playing = next((a for a in agenda if a.id == room.now_playing_session_id), None)
    view: dict[str, Any] = {
        "id": room.id,
        "slug": room.slug,
        "name": room.name,
        "status": room.stream_status,
        "slate_message": room.slate_message,
        "recording_url": room.recording_url,
        "active": room.active_role,
        "source": player_of(active),
        "audio": player_of(by_role.get("audio")),
        "interpreter": player_of(by_role.get("interpreter")),
        "now_playing": _session_summary(now_playing),
        "next_up": _session_summary(_next_up(room, agenda)),
        "captions": {"available": captions_available},
    }
    # While someone publishes over WHIP: staff always see it, viewers where it is allowed.
    webrtc = by_role.get("webrtc")
    if webrtc is not None and (staff or room.webrtc_viewers):
        view["webrtc"] = player_of(webrtc)
    if staff:
        view["auto_advance"] = room.auto_advance
        view["sources"] = [
            {
                "role": s.role,
                "kind": s.kind,
                "url": s.url,
                "label": s.label,
                "health": s.health,
                "health_reason": s.health_reason,
                "checked_at": iso(s.checked_at) if s.checked_at else None,
            }
            for s in sorted(by_role.values(), key=lambda s: SOURCE_ROLES.index(s.role))
        ]
    return view


async def room_views(
    session: AsyncSession, event_id: int, *, staff: bool, room_ids: Sequence[int] | None = None
) -> dict[str, dict[str, Any]]:
    """Views of the event's rooms (or just `room_ids`), keyed by room id as a string."""
    rooms = await event_store.rooms(session, event_id)
    if room_ids is not None:
        rooms = [room for room in rooms if room.id in room_ids]
    ids = [room.id for room in rooms]
    sources = await webcast_store.sources_of(session, ids)
    agenda = await event_store.agenda(session, event_id)
    tokens = await webcast_store.caption_tokens(session, ids)
    with_captions = {t.room_id for t in tokens if not t.revoked}
    return {
        str(room.id): room_view(
            room, sources, agenda, captions_available=room.id in with_captions, staff=staff
        )
        for room in rooms
    }
