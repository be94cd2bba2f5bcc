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
    numbered = await number(session, event_id, {stream: payloads})
    await store_numbered(session, event_id, numbered, datetime.now(UTC))
    return numbered[stream]


async def number(
    session: AsyncSession, event_id: int, streams: dict[str, list[dict[str, Any]]]
) -> dict[str, list[dict[str, Any]]]:
    """Give each stream's payloads their next numbers (one UPDATE for all the streams):
    each payload with its `seq`, by stream. Nothing is stored yet: see `store_numbered`."""
    counts = {stream: len(payloads) for stream, payloads in streams.items() if payloads}
    if not counts:
        return {stream: [] for stream in streams}
    columns = {stream: _SEQ_COLUMN[stream] for stream in counts}
    # The UPDATE takes the event row's lock, so concurrent writers number in commit order.
    result = await session.execute(
        update(EventRow)
        .where(EventRow.id == event_id)
        .values({column: column + counts[stream] for stream, column in columns.items()})
        .returning(*columns.values())
    )
    last = dict(zip(columns, result.one(), strict=True))
    numbered: dict[str, list[dict[str, Any]]] = {stream: [] for stream in streams}
    for stream, count in counts.items():
        first = last[stream] - count + 1
        numbered[stream] = [
            {"seq": first + offset, **payload} for offset, payload in enumerate(streams[stream])
        ]
    return numbered


async def store_numbered(
    session: AsyncSession,
    event_id: int,
    numbered: dict[str, list[dict[str, Any]]],
    now: datetime,
) -> None:
    """Store numbered entries (from `number`) in the log, every stream in one executemany."""
    rows = [
        {"event_id": event_id, "stream": stream, "seq": e["seq"], "payload": e, "created_at": now}
        for stream, entries in numbered.items()
        for e in entries
    ]
    if rows:
        await session.execute(insert(BroadcastRow.__table__), rows)


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
