"""Organisers' webcast use cases: sources, status, switching, now playing, forwarding."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp

from server.domain.errors import DomainError, InvalidInput
from server.services import views
from server.services.changes import announce_rooms
from server.services.context import Actor, Services
from server.services.lifecycle import change_question
from server.services.room_views import room_views
from server.store import events as event_store
from server.store import webcast as webcast_store
from server.store.database import UnitOfWork
from server.store.models import EventRow, RoomRow, StreamSourceRow
from streams.errors import InvalidSource
from streams.hls import check_playlist
from streams.sources import make_source
from streams.urls import check_url


class SourceUnhealthy(DomainError):
    code = "source_unhealthy"


async def set_source(
    s: Services,
    actor: Actor,
    event: EventRow,
    room_id: int,
    role: str,
    kind: str,
    url: str,
    label: str,
) -> dict[str, Any]:
    """Attach (or replace) a room's primary, backup, audio or interpreter feed."""
    try:
        normalised = make_source(kind, url)
    except InvalidSource as error:
        raise InvalidInput(error.message, fields={error.field: error.message}) from error
    async with s.db.write(event.id) as work:
        room = await event_store.room(work.session, event.id, room_id)
        row = await webcast_store.source(work.session, room_id, role)
        if row is None:
            row = StreamSourceRow(room_id=room_id, role=role, health="unknown")
            work.session.add(row)
        row.kind, row.url, row.label = kind, normalised.url, label
        row.health, row.health_reason, row.checked_at = "unknown", None, None
        return await _announce_room(
            s,
            work,
            event,
            actor,
            room,
            "StreamSourceSet",
            {"role": role, "kind": kind, "url": normalised.url},
        )


async def remove_source(
    s: Services, actor: Actor, event: EventRow, room_id: int, role: str
) -> dict[str, Any]:
    async with s.db.write(event.id) as work:
        room = await event_store.room(work.session, event.id, room_id)
        if room.active_role == role and room.stream_status == "live":
            raise InvalidInput(
                "switch away from this source before removing it",
                fields={"role": "in use while live"},
            )
        if not await webcast_store.remove_source(work.session, room_id, role):
            raise InvalidInput(f"the room has no {role} source", fields={"role": "not set"})
        if room.active_role == role:
            room.active_role = "primary"  # nothing left to play on that side
        return await _announce_room(
            s, work, event, actor, room, "StreamSourceRemoved", {"role": role}
        )


async def set_status(
    s: Services,
    actor: Actor,
    event: EventRow,
    room_id: int,
    status: str,
    slate_message: str | None,
    recording_url: str | None,
) -> dict[str, Any]:
    """Change what viewers are told about a room's stream; going live checks the source first."""
    if recording_url:
        try:
            recording_url = check_url(recording_url, field="recording_url")
        except InvalidSource as error:
            raise InvalidInput(error.message, fields={"recording_url": error.message}) from error
    if status == "live":
        await _require_playable(s, event, room_id)
    async with s.db.write(event.id) as work:
        room = await event_store.room(work.session, event.id, room_id)
        room.stream_status, room.slate_message = status, slate_message
        if recording_url is not None:
            room.recording_url = recording_url or None
        if status == "live" and room.live_started_at is None:
            room.live_started_at = datetime.now(UTC)
        return await _announce_room(
            s,
            work,
            event,
            actor,
            room,
            "StreamStatusChanged",
            {"status": status, "slate_message": slate_message},
        )


async def switch_source(
    s: Services, actor: Actor, event: EventRow, room_id: int, active: str
) -> dict[str, Any]:
    """Make every viewer's player follow the room's primary or backup source."""
    async with s.db.write(event.id) as work:
        room = await event_store.room(work.session, event.id, room_id)
        if await webcast_store.source(work.session, room_id, active) is None:
            raise InvalidInput(f"the room has no {active} source", fields={"active": "not set"})
        room.active_role = active
        return await _announce_room(
            s, work, event, actor, room, "StreamSwitched", {"active": active}
        )


async def set_now_playing(
    s: Services,
    actor: Actor,
    event: EventRow,
    room_id: int,
    session_id: int | None,
    auto_advance: bool | None,
) -> dict[str, Any]:
    async with s.db.write(event.id) as work:
        room = await event_store.room(work.session, event.id, room_id)
        if session_id is not None:
            await event_store.agenda_session(work.session, event.id, session_id)
        room.now_playing_session_id = session_id
        # Choosing by hand means the schedule no longer decides, unless asked to.
        room.auto_advance = bool(auto_advance)
        return await _announce_room(
            s,
            work,
            event,
            actor,
            room,
            "NowPlayingChanged",
            {"session_id": session_id, "auto_advance": room.auto_advance},
        )


async def forward_question(
    s: Services, actor: Actor, event: EventRow, question_id: int, session_id: int
) -> dict[str, Any]:
    """Give a question (from a workshop, say) to the agenda session that will take it."""

    async def move(work, _row, question, _changes):
        await event_store.agenda_session(work.session, event.id, session_id)
        return question.forward(session_id)

    return await change_question(s, actor, event, question_id, move, views.staff_question)


async def mark_source_health(
    s: Services, event_id: int, room_id: int, role: str, ok: bool, reason: str | None
) -> None:
    async with s.db.write(event_id) as work:
        row = await webcast_store.source(work.session, room_id, role)
        if row is not None:
            row.health, row.health_reason = ("ok" if ok else "failing"), reason
            row.checked_at = datetime.now(UTC)
            await announce_rooms(work, event_id, s.publisher, room_id)


async def _require_playable(s: Services, event: EventRow, room_id: int) -> None:
    async with s.db.read() as session:
        room = await event_store.room(session, event.id, room_id)
        source = await webcast_store.source(session, room_id, room.active_role)
    if source is None:
        raise InvalidInput(
            f"add a {room.active_role} source before going live", fields={"status": "no source"}
        )
    if source.kind == "hls":
        health = await check_playlist(http_client(s), source.url)
        await mark_source_health(s, event.id, room_id, source.role, health.ok, health.reason)
        if not health.ok:
            raise SourceUnhealthy(
                f"the HLS playlist does not play: {health.reason}",
                fields={"status": health.reason or "unplayable"},
            )


def http_client(s: Services) -> aiohttp.ClientSession:
    if s.http is None:
        raise RuntimeError("this Services has no HTTP client for stream checks")
    return s.http


async def _announce_room(
    s: Services,
    work: UnitOfWork,
    event: EventRow,
    actor: Actor,
    room: RoomRow,
    action: str,
    details: dict[str, Any],
) -> dict[str, Any]:
    event_store.audit(
        work.session,
        event_id=event.id,
        actor=actor,
        action=action,
        details={"room_id": room.id, **details},
    )
    await work.session.flush()
    await _track_stream_period(work, room)
    await announce_rooms(work, event.id, s.publisher, room.id)
    staff_views = await room_views(work.session, event.id, staff=True, room_ids=[room.id])
    return staff_views[str(room.id)]


async def _track_stream_period(work: UnitOfWork, room: RoomRow) -> None:
    """Start a new stream period when what the room plays changed, so that watch time can
    be attributed to the stream that was on."""
    playing = None
    if room.stream_status in ("live", "paused"):
        playing = await webcast_store.source(work.session, room.id, room.active_role)
    current = await webcast_store.open_stream_period(work.session, room.id)
    same = (current is None and playing is None) or (
        current is not None
        and playing is not None
        and (current.role, current.kind, current.label)
        == (playing.role, playing.kind, playing.label)
    )
    if not same:
        await webcast_store.begin_stream_period(work.session, room.id, playing, datetime.now(UTC))
