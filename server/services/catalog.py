"""Events, rooms and agenda sessions: what organisers set up and everyone reads."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain.agenda_formats import (
    AgendaItem,
    parse_csv,
    parse_frab_json,
    to_ical,
)
from server.domain.errors import InvalidInput
from server.services.changes import announce_event
from server.services.context import Actor, Services
from server.services.views import as_utc, iso
from server.store import accounts
from server.store import events as event_store
from server.store import webcast as webcast_store
from server.store.models import AgendaSessionRow, EventRow, RoomRow

ROOM_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,200}")


async def event_by_slug(s: Services, slug: str) -> EventRow:
    async with s.db.read() as session:
        return await event_store.by_slug(session, slug)


async def event_by_id(s: Services, event_id: int) -> EventRow:
    """The socket path's lookup: from memory where the app keeps it (see live_state.py)."""
    if s.live is not None:
        return await s.live.event_by_id(event_id)
    async with s.db.read() as session:
        return await event_store.by_id(session, event_id)


async def list_events(s: Services) -> list[dict[str, Any]]:
    async with s.db.read() as session:
        return [
            {"slug": row.slug, "title": row.title} for row in await event_store.list_all(session)
        ]


async def event_detail(session: AsyncSession, event: EventRow) -> dict[str, Any]:
    rooms = await event_store.rooms(session, event.id)
    agenda = await event_store.agenda(session, event.id)
    return {
        "id": event.id,
        "slug": event.slug,
        "title": event.title,
        "description": event.description,
        "timezone": event.timezone,
        "auto_approve": event.auto_approve,
        "allow_anonymous": event.allow_anonymous,
        "max_question_length": event.max_question_length,
        "retention_days": event.retention_days,
        "registration_enabled": event.registration_enabled,
        "rooms": [{"id": r.id, "slug": r.slug, "name": r.name} for r in rooms],
        "sessions": [
            {
                "id": a.id,
                "title": a.title,
                "kind": a.kind,
                "room_id": a.room_id,
                "starts_at": iso(a.starts_at),
                "ends_at": iso(a.ends_at),
            }
            for a in agenda
        ],
    }


async def get_event_detail(s: Services, event: EventRow) -> dict[str, Any]:
    async with s.db.read() as session:
        return await event_detail(session, event)


async def create_event(s: Services, actor: Actor, fields: dict[str, Any]) -> dict[str, Any]:
    _check_length_cap(s, fields)
    try:
        async with s.db.write() as work:
            event = EventRow(**fields, public_seq=0, staff_seq=0, created_at=datetime.now(UTC))
            work.session.add(event)
            await work.session.flush()
            event_store.audit(work.session, event_id=event.id, actor=actor, action="EventCreated")
            return await event_detail(work.session, event)
    except IntegrityError as error:
        raise InvalidInput("an event with that slug exists", fields={"slug": "taken"}) from error


async def update_event(
    s: Services, actor: Actor, event: EventRow, fields: dict[str, Any]
) -> dict[str, Any]:
    _check_length_cap(s, fields)
    async with s.db.write(event.id) as work:
        row = await event_store.by_id(work.session, event.id)
        for key, value in fields.items():
            setattr(row, key, value)
        event_store.audit(
            work.session,
            event_id=event.id,
            actor=actor,
            action="EventSettingsChanged",
            details=fields,
        )
        detail = await event_detail(work.session, row)
        await announce_event(work, event.id, s.publisher, detail)
        return detail


async def add_room(s: Services, actor: Actor, event: EventRow, slug: str, name: str) -> dict:
    try:
        async with s.db.write(event.id) as work:
            count = len(await event_store.rooms(work.session, event.id))
            room = RoomRow(event_id=event.id, slug=slug, name=name, position=count)
            work.session.add(room)
            await work.session.flush()
            event_store.audit(
                work.session,
                event_id=event.id,
                actor=actor,
                action="RoomAdded",
                details={"room_id": room.id, "name": name},
            )
            await announce_event(
                work, event.id, s.publisher, await event_detail(work.session, event)
            )
            return {"id": room.id, "slug": room.slug, "name": room.name}
    except IntegrityError as error:
        raise InvalidInput("a room with that slug exists", fields={"slug": "taken"}) from error


async def add_session(
    s: Services, actor: Actor, event: EventRow, fields: dict[str, Any]
) -> dict[str, Any]:
    if fields["ends_at"] <= fields["starts_at"]:
        raise InvalidInput("a session must end after it starts", fields={"ends_at": "too early"})
    async with s.db.write(event.id) as work:
        if fields.get("room_id") is not None:
            await event_store.room(work.session, event.id, fields["room_id"])
        row = AgendaSessionRow(event_id=event.id, **fields)
        work.session.add(row)
        await work.session.flush()
        event_store.audit(
            work.session,
            event_id=event.id,
            actor=actor,
            action="SessionAdded",
            details={"session_id": row.id, "title": row.title},
        )
        detail = await event_detail(work.session, event)
        await announce_event(work, event.id, s.publisher, detail)
    return next(item for item in detail["sessions"] if item["id"] == row.id)


async def import_agenda(
    s: Services, actor: Actor, event: EventRow, text: str, source_format: str
) -> dict[str, Any]:
    """Add every session of a CSV or pretalx/frab schedule; rooms are matched (or made) by name."""
    items = parse_csv(text, event.timezone) if source_format == "csv" else parse_frab_json(text)
    for number, item in enumerate(items, start=1):
        if item.room is not None and not ROOM_NAME.fullmatch(item.room):
            raise InvalidInput(
                f"session {number}: a room name has 1 to 200 characters on one line",
                fields={"room": "1 to 200 characters, one line"},
            )
    async with s.db.write(event.id) as work:
        rooms = {
            room.name.casefold(): room for room in await event_store.rooms(work.session, event.id)
        }
        for item in items:
            room = rooms.get((item.room or "").casefold()) if item.room else None
            if item.room and room is None:
                room = RoomRow(
                    event_id=event.id,
                    slug=_unique_slug(item.room, rooms.values()),
                    name=item.room,
                    position=len(rooms),
                )
                work.session.add(room)
                await work.session.flush()
                rooms[item.room.casefold()] = room
            work.session.add(
                AgendaSessionRow(
                    event_id=event.id,
                    room_id=room.id if room else None,
                    title=item.title,
                    kind=item.kind,
                    starts_at=item.starts_at,
                    ends_at=item.ends_at,
                )
            )
        event_store.audit(
            work.session,
            event_id=event.id,
            actor=actor,
            action="AgendaImported",
            details={"format": source_format, "sessions": len(items)},
        )
        await work.session.flush()
        detail = await event_detail(work.session, event)
        await announce_event(work, event.id, s.publisher, detail)
    return {"imported": len(items), "event": detail}


async def agenda_ical(s: Services, event: EventRow) -> str:
    async with s.db.read() as session:
        rooms = {room.id: room.name for room in await event_store.rooms(session, event.id)}
        agenda = await event_store.agenda(session, event.id)
    items = [
        AgendaItem(
            title=a.title,
            kind=a.kind,
            room=rooms.get(a.room_id),
            starts_at=as_utc(a.starts_at),
            ends_at=as_utc(a.ends_at),
        )
        for a in agenda
    ]
    host = urlsplit(s.settings.effective_public_url).hostname or "podium.invalid"
    return to_ical(
        items,
        calendar_name=event.title,
        uid_domain=host,
        uids=[f"{event.slug}-session-{a.id}" for a in agenda],
        now=datetime.now(UTC),
    )


def _unique_slug(name: str, rooms) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:50] or "room"
    taken = {room.slug for room in rooms}
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


async def stream_origins(s: Services, event_id: int) -> tuple[str, ...]:
    """Origins (scheme://host[:port]) of the event's HLS and audio sources, for the CSP."""
    async with s.db.read() as session:
        rooms = await event_store.rooms(session, event_id)
        sources = await webcast_store.sources_of(session, [r.id for r in rooms])
    origins = set()
    for source in sources:
        if source.kind in ("hls", "audio") and source.url.startswith(("http://", "https://")):
            parts = urlsplit(source.url)
            origins.add(f"{parts.scheme}://{parts.netloc}")
    return tuple(sorted(origins))


async def audit_log(s: Services, event: EventRow, limit: int) -> list[dict[str, Any]]:
    async with s.db.read() as session:
        rows = await event_store.audit_log(session, event.id, limit)
    return [
        {
            "id": r.id,
            "at": iso(r.created_at),
            "actor": {"kind": r.actor_kind, "id": r.actor_id, "name": r.actor_name},
            "action": r.action,
            "question_id": r.question_id,
            "reason": r.reason,
            "details": r.details,
        }
        for r in rows
    ]


async def moderation_stats(s: Services, event: EventRow) -> dict[str, Any]:
    """Questions received, approved and rejected (by reason): what organisers publish."""
    async with s.db.read() as session:
        counts = await event_store.moderation_counts(session, event.id)
    by_state = counts["by_state"]
    never_public = {"pending", "rejected", "withdrawn", "merged"}
    return {
        "received": sum(by_state.values()),
        "approved": sum(n for state, n in by_state.items() if state not in never_public),
        "answered": by_state.get("answered", 0),
        "pending": by_state.get("pending", 0),
        "rejected": by_state.get("rejected", 0),
        "withdrawn": by_state.get("withdrawn", 0),
        "merged": by_state.get("merged", 0),
        "rejected_by_reason": counts["rejected_by_reason"],
    }


async def staff_list(s: Services) -> list[dict[str, Any]]:
    async with s.db.read() as session:
        return [
            {"id": u.id, "username": u.username, "display_name": u.display_name, "role": u.role}
            for u in await accounts.staff_list(session)
        ]


def _check_length_cap(s: Services, fields: dict[str, Any]) -> None:
    limit = fields.get("max_question_length")
    if limit is not None and limit > s.settings.question_length_cap:
        raise InvalidInput(
            f"at most {s.settings.question_length_cap} characters",
            fields={"max_question_length": f"at most {s.settings.question_length_cap}"},
        )
