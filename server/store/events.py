"""Events, rooms, agenda sessions, the audit log and moderation counts."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain.errors import NotFound
from server.store.models import (
    AgendaSessionRow,
    AuditRow,
    EventRow,
    QuestionRow,
    RoomRow,
    VoteRow,
)

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


async def by_slug(session: AsyncSession, slug: str) -> EventRow:
    if not SLUG.fullmatch(slug):  # not even worth asking the database
        raise NotFound(f"event {slug!r} does not exist")
    row = (
        await session.execute(select(EventRow).where(EventRow.slug == slug))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"event {slug!r} does not exist")
    return row


async def by_id(session: AsyncSession, event_id: int) -> EventRow:
    row = await session.get(EventRow, event_id)
    if row is None:
        raise NotFound(f"event {event_id} does not exist")
    return row


async def list_all(session: AsyncSession) -> list[EventRow]:
    return list((await session.execute(select(EventRow).order_by(EventRow.id))).scalars())


async def rooms(session: AsyncSession, event_id: int) -> list[RoomRow]:
    query = select(RoomRow).where(RoomRow.event_id == event_id)
    return list((await session.execute(query.order_by(RoomRow.position, RoomRow.id))).scalars())


async def room(session: AsyncSession, event_id: int, room_id: int) -> RoomRow:
    row = await session.get(RoomRow, room_id)
    if row is None or row.event_id != event_id:
        raise NotFound(f"room {room_id} does not exist in this event")
    return row


async def agenda(session: AsyncSession, event_id: int) -> list[AgendaSessionRow]:
    query = select(AgendaSessionRow).where(AgendaSessionRow.event_id == event_id)
    query = query.order_by(AgendaSessionRow.starts_at, AgendaSessionRow.id)
    return list((await session.execute(query)).scalars())


async def agenda_session(session: AsyncSession, event_id: int, session_id: int) -> AgendaSessionRow:
    row = await session.get(AgendaSessionRow, session_id)
    if row is None or row.event_id != event_id:
        raise NotFound(f"agenda session {session_id} does not exist in this event")
    return row


def audit(
    session: AsyncSession,
    *,
    event_id: int,
    actor: Any,
    action: str,
    question_id: int | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditRow(
            event_id=event_id,
            question_id=question_id,
            actor_kind=actor.kind,
            actor_id=actor.id,
            actor_name=actor.name,
            action=action,
            reason=reason,
            details=details or {},
            created_at=datetime.now(UTC),
        )
    )


async def audit_log(session: AsyncSession, event_id: int, limit: int) -> list[AuditRow]:
    query = select(AuditRow).where(AuditRow.event_id == event_id)
    return list((await session.execute(query.order_by(AuditRow.id.desc()).limit(limit))).scalars())


async def moderation_counts(session: AsyncSession, event_id: int) -> dict[str, Any]:
    """Questions received, by current state, and rejections by reason code."""
    by_state = select(QuestionRow.state, func.count()).where(QuestionRow.event_id == event_id)
    states = dict((await session.execute(by_state.group_by(QuestionRow.state))).all())
    by_reason = (
        select(QuestionRow.reject_reason, func.count())
        .where(QuestionRow.event_id == event_id, QuestionRow.state == "rejected")
        .group_by(QuestionRow.reject_reason)
    )
    reasons = {reason or "none": n for reason, n in (await session.execute(by_reason)).all()}
    return {"by_state": states, "rejected_by_reason": reasons}


async def question_counts_by_session(
    session: AsyncSession, event_id: int
) -> dict[int | None, dict[str, int]]:
    """Per agenda session (None: the whole event): asked, approved, answered, votes cast."""
    query = (
        select(QuestionRow.session_id, QuestionRow.state, func.count())
        .where(QuestionRow.event_id == event_id)
        .group_by(QuestionRow.session_id, QuestionRow.state)
    )
    counts: dict[int | None, dict[str, int]] = {}
    for session_id, state, n in (await session.execute(query)).all():
        for key in {None, session_id}:
            bucket = counts.setdefault(key, {"asked": 0, "approved": 0, "answered": 0})
            bucket["asked"] += n
            if state in ("approved", "queued", "on_stage", "answered"):
                bucket["approved"] += n
            if state == "answered":
                bucket["answered"] += n
    votes = (
        select(QuestionRow.session_id, func.count())
        .join(VoteRow, VoteRow.question_id == QuestionRow.id)
        .where(QuestionRow.event_id == event_id)
        .group_by(QuestionRow.session_id)
    )
    for session_id, n in (await session.execute(votes)).all():
        for key in {None, session_id}:
            counts.setdefault(key, {"asked": 0, "approved": 0, "answered": 0})
            counts[key]["votes"] = counts[key].get("votes", 0) + n
    return counts
