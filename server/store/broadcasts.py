"""The numbered broadcast log of each event: one sequence per stream (public, staff)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.store.models import BroadcastRow, EventRow

STREAMS = ("public", "staff")
_SEQ_COLUMN = {"public": EventRow.public_seq, "staff": EventRow.staff_seq}


async def append(
    session: AsyncSession, event_id: int, stream: str, payloads: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Number `payloads` on `stream`, store them, and return them with their `seq`."""
    if not payloads:
        return []
    column = _SEQ_COLUMN[stream]
    # The UPDATE takes the event row's lock, so concurrent writers number in commit order.
    result = await session.execute(
        update(EventRow)
        .where(EventRow.id == event_id)
        .values({column: column + len(payloads)})
        .returning(column)
    )
    first = result.scalar_one() - len(payloads) + 1
    now = datetime.now(UTC)
    numbered = [{"seq": first + offset, **payload} for offset, payload in enumerate(payloads)]
    # One executemany, not an ORM object each: a batch of submissions logs hundreds.
    rows = [
        {"event_id": event_id, "stream": stream, "seq": e["seq"], "payload": e, "created_at": now}
        for e in numbered
    ]
    await session.execute(insert(BroadcastRow.__table__), rows)
    return numbered


async def hold_sequence(session: AsyncSession, event_id: int) -> None:
    """Take the event row's lock before reading what will be broadcast, so that what is read
    later is also numbered later (across processes too; SQLite has one writer anyway)."""
    await session.execute(select(EventRow.id).where(EventRow.id == event_id).with_for_update())


async def current_seq(session: AsyncSession, event_id: int, stream: str) -> int:
    query = select(_SEQ_COLUMN[stream]).where(EventRow.id == event_id)
    return (await session.execute(query)).scalar_one()


async def since(
    session: AsyncSession, event_id: int, stream: str, after_seq: int, limit: int
) -> list[dict[str, Any]] | None:
    """Entries after `after_seq` in order, or None when they are no longer all kept."""
    query = (
        select(BroadcastRow.seq, BroadcastRow.payload)
        .where(
            BroadcastRow.event_id == event_id,
            BroadcastRow.stream == stream,
            BroadcastRow.seq > after_seq,
        )
        .order_by(BroadcastRow.seq)
        .limit(limit + 1)
    )
    rows = (await session.execute(query)).all()
    if len(rows) > limit or (rows and rows[0].seq != after_seq + 1):
        return None
    if not rows and await current_seq(session, event_id, stream) > after_seq:
        return None  # everything after after_seq was pruned
    return [row.payload for row in rows]


async def prune(session: AsyncSession, event_id: int, stream: str, keep: int) -> None:
    """Forget all but the newest `keep` entries; older reconnects get a snapshot."""
    newest = await current_seq(session, event_id, stream)
    await session.execute(
        delete(BroadcastRow).where(
            BroadcastRow.event_id == event_id,
            BroadcastRow.stream == stream,
            BroadcastRow.seq <= newest - keep,
        )
    )
