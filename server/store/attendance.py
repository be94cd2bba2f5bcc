"""Attendance intervals and check-ins: written on join and leave, touched in batches."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.store.models import AttendanceIntervalRow, CheckInRow


async def open_interval(
    session: AsyncSession,
    *,
    event_id: int,
    room_id: int,
    viewer_key: str,
    channel: str,
    country: str | None,
    at: datetime,
) -> AttendanceIntervalRow:
    row = AttendanceIntervalRow(
        event_id=event_id,
        room_id=room_id,
        viewer_key=viewer_key,
        channel=channel,
        country=country,
        started_at=at,
        last_seen_at=at,
    )
    session.add(row)
    await session.flush()
    return row


async def close_interval(
    session: AsyncSession, interval_id: int, at: datetime | None, reason: str
) -> None:
    """End an open interval at `at`, or at its last heartbeat when `at` is None."""
    end = AttendanceIntervalRow.last_seen_at if at is None else at
    values = {"ended_at": end, "end_reason": reason}
    if at is not None:
        values["last_seen_at"] = at
    await session.execute(
        update(AttendanceIntervalRow)
        .where(AttendanceIntervalRow.id == interval_id, AttendanceIntervalRow.ended_at.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def touch(session: AsyncSession, last_seen: Mapping[int, datetime]) -> None:
    """Record many heartbeats in one statement (executemany); closed intervals stay closed."""
    if not last_seen:
        return
    statement = (
        update(AttendanceIntervalRow.__table__)
        .where(
            AttendanceIntervalRow.__table__.c.id == bindparam("interval_id"),
            AttendanceIntervalRow.__table__.c.ended_at.is_(None),
        )
        .values(last_seen_at=bindparam("seen"))
    )
    await session.execute(
        statement, [{"interval_id": key, "seen": seen} for key, seen in last_seen.items()]
    )


async def close_stale(session: AsyncSession, cutoff: datetime) -> int:
    """Close intervals whose page stopped saying it was there before `cutoff`."""
    result = await session.execute(
        update(AttendanceIntervalRow)
        .where(
            AttendanceIntervalRow.ended_at.is_(None),
            AttendanceIntervalRow.last_seen_at < cutoff,
        )
        .values(ended_at=AttendanceIntervalRow.last_seen_at, end_reason="timeout")
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


async def intervals(session: AsyncSession, event_id: int) -> list[AttendanceIntervalRow]:
    query = select(AttendanceIntervalRow).where(AttendanceIntervalRow.event_id == event_id)
    return list((await session.execute(query.order_by(AttendanceIntervalRow.id))).scalars())


async def check_in(
    session: AsyncSession, *, event_id: int, room_id: int, viewer_key: str, at: datetime
) -> bool:
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    result = await session.execute(
        insert(CheckInRow)
        .values(event_id=event_id, room_id=room_id, viewer_key=viewer_key, at=at)
        .on_conflict_do_nothing()
    )
    return result.rowcount == 1


async def check_ins(session: AsyncSession, event_id: int) -> list[CheckInRow]:
    query = select(CheckInRow).where(CheckInRow.event_id == event_id)
    return list((await session.execute(query.order_by(CheckInRow.id))).scalars())


async def close_all(session: AsyncSession, event_id: int, reason: str) -> None:
    await session.execute(
        update(AttendanceIntervalRow)
        .where(AttendanceIntervalRow.event_id == event_id, AttendanceIntervalRow.ended_at.is_(None))
        .values(ended_at=AttendanceIntervalRow.last_seen_at, end_reason=reason)
        .execution_options(synchronize_session=False)
    )
