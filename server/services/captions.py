"""Live captions: tokens for captioners, lines pushed to a room's watchers, WebVTT after."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any

from server.domain.captions import CaptionLine, to_webvtt, validate_caption_text
from server.domain.errors import NotAuthenticated, NotFound
from server.realtime.publisher import watch_room
from server.services.changes import announce_rooms
from server.services.context import Actor, Services
from server.services.views import as_utc, iso
from server.store import events as event_store
from server.store import webcast as webcast_store
from server.store.models import CaptionTokenRow, EventRow, RoomRow

TOKEN_PREFIX = "cap_"
RECENT_LINES = 20


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def line_view(room_id: int, seq: int, text: str, at: datetime) -> dict[str, Any]:
    return {"room_id": room_id, "seq": seq, "text": text, "at": iso(at)}


async def create_token(
    s: Services, actor: Actor, event: EventRow, room_id: int, label: str
) -> dict[str, Any]:
    """A new caption token for one room; its secret is shown this once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(24)
    async with s.db.write(event.id) as work:
        await event_store.room(work.session, event.id, room_id)
        row = CaptionTokenRow(
            room_id=room_id,
            token_hash=_hash(token),
            label=label,
            revoked=False,
            created_at=datetime.now(UTC),
        )
        work.session.add(row)
        await work.session.flush()
        event_store.audit(
            work.session,
            event_id=event.id,
            actor=actor,
            action="CaptionTokenCreated",
            details={"room_id": room_id, "label": label},
        )
        await announce_rooms(work, event.id, s.publisher, room_id)
    return {"id": row.id, "room_id": room_id, "label": label, "token": token}


async def revoke_token(s: Services, actor: Actor, event: EventRow, token_id: int) -> dict[str, Any]:
    async with s.db.write(event.id) as work:
        row = await work.session.get(CaptionTokenRow, token_id)
        room = await work.session.get(RoomRow, row.room_id) if row else None
        if row is None or room is None or room.event_id != event.id:
            raise NotFound(f"caption token {token_id} does not exist in this event")
        row.revoked = True
        event_store.audit(
            work.session,
            event_id=event.id,
            actor=actor,
            action="CaptionTokenRevoked",
            details={"token_id": token_id},
        )
        await announce_rooms(work, event.id, s.publisher, row.room_id)
    return {"id": token_id, "revoked": True}


async def tokens(s: Services, event: EventRow) -> list[dict[str, Any]]:
    async with s.db.read() as session:
        rooms = await event_store.rooms(session, event.id)
        rows = await webcast_store.caption_tokens(session, [r.id for r in rooms])
    return [
        {
            "id": r.id,
            "room_id": r.room_id,
            "label": r.label,
            "revoked": r.revoked,
            "created_at": iso(r.created_at),
        }
        for r in rows
    ]


async def room_for_token(s: Services, token: str) -> tuple[EventRow, RoomRow]:
    """The event and room a caption token may post to, or refuse it."""
    if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        raise NotAuthenticated("a caption token is needed")
    async with s.db.read() as session:
        row = await webcast_store.caption_token(session, _hash(token))
        if row is None:
            raise NotAuthenticated("this caption token is not valid (or was revoked)")
        room = await session.get(RoomRow, row.room_id)
        event = await event_store.by_id(session, room.event_id)
    return event, room


async def post_line(s: Services, token: str, text: str) -> dict[str, Any]:
    """Store a caption line from a token's holder, then push it to the room's watchers."""
    event, room = await room_for_token(s, token)
    cleaned = validate_caption_text(text)  # a refused line costs nothing from the budget
    s.caption_limiter.take(("captions", _hash(token)))  # each captioner has their own
    async with s.db.write(event.id) as work:
        row = await webcast_store.add_caption_line(
            work.session, room.id, cleaned, datetime.now(UTC)
        )
        line = line_view(room.id, row.seq, row.text, row.at)
        work.after_commit(
            lambda: s.publisher.to_room(
                ("/viewer", "/stage"), watch_room(event.id, room.id), "caption", line
            )
        )
    return line


async def recent_lines(s: Services, event: EventRow, room_id: int) -> list[dict[str, Any]]:
    async with s.db.read() as session:
        await event_store.room(session, event.id, room_id)
        rows = await webcast_store.caption_lines(session, room_id, newest=RECENT_LINES)
    return [line_view(room_id, r.seq, r.text, r.at) for r in rows]


async def transcript_vtt(s: Services, event: EventRow, room_id: int) -> str:
    """The room's whole caption transcript, timed from when its stream first went live."""
    async with s.db.read() as session:
        room = await event_store.room(session, event.id, room_id)
        rows = await webcast_store.caption_lines(session, room_id)
    lines = [CaptionLine(seq=r.seq, text=r.text, at=as_utc(r.at)) for r in rows]
    origin = as_utc(room.live_started_at) if room.live_started_at else None
    if origin is None or (lines and lines[0].at < origin):
        origin = lines[0].at if lines else datetime.now(UTC)
    return to_webvtt(lines, origin)
