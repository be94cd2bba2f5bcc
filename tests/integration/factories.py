"""Rows inserted straight through the models, with only the fields a test cares about."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.domain.questions import QuestionState
from server.store.models import (
    EventRow,
    QuestionRow,
    RoomRow,
    StaffSessionRow,
    StaffUserRow,
    ViewerRow,
)

_serial = itertools.count(1)


async def _added(session: AsyncSession, row: Any) -> Any:
    session.add(row)
    await session.flush()
    return row


async def event(session: AsyncSession, **fields: Any) -> EventRow:
    n = next(_serial)
    fields = {"slug": f"event-{n}", "title": f"Event {n}", "created_at": datetime.now(UTC)} | fields
    return await _added(session, EventRow(**fields))


async def room(session: AsyncSession, event: EventRow, **fields: Any) -> RoomRow:
    n = next(_serial)
    fields = {"event_id": event.id, "slug": f"room-{n}", "name": f"Room {n}"} | fields
    return await _added(session, RoomRow(**fields))


async def viewer(session: AsyncSession, event: EventRow, **fields: Any) -> ViewerRow:
    fields = {"event_id": event.id, "created_at": datetime.now(UTC)} | fields
    return await _added(session, ViewerRow(**fields))


async def viewers(session: AsyncSession, event: EventRow, count: int) -> list[ViewerRow]:
    return [await viewer(session, event) for _ in range(count)]


async def question(
    session: AsyncSession, event: EventRow, author: ViewerRow, **fields: Any
) -> QuestionRow:
    n = next(_serial)
    now = datetime.now(UTC)
    fields = {
        "event_id": event.id,
        "viewer_id": author.id,
        "client_id": f"client-{n}",
        "channel": "remote",
        "text": f"Question {n}?",
        "original_text": f"Question {n}?",
        "state": QuestionState.APPROVED.value,
        "created_at": now,
        "updated_at": now,
    } | fields
    return await _added(session, QuestionRow(**fields))


async def staff_user(session: AsyncSession, **fields: Any) -> StaffUserRow:
    n = next(_serial)
    fields = {
        "username": f"staff-{n}",
        "display_name": f"Staff {n}",
        "password_hash": "not-a-hash",
        "role": "moderator",
        "created_at": datetime.now(UTC),
    } | fields
    return await _added(session, StaffUserRow(**fields))


async def staff_session(
    session: AsyncSession, user: StaffUserRow, expires_at: datetime
) -> StaffSessionRow:
    n = next(_serial)
    row = StaffSessionRow(
        token_hash=f"token-{n}", user_id=user.id, csrf_token=f"csrf-{n}", expires_at=expires_at
    )
    return await _added(session, row)
