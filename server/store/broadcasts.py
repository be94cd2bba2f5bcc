"""The numbered broadcast log of each event: one sequence per stream (public, staff)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server import json_text
from server.store import sqlite_batches
from server.store.models import BroadcastRow, EventRow

STREAMS = ("public", "staff")
EVENTS = EventRow.__table__
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
    # The UPDATE takes the event row's lock, so concurrent writers number in commit order.
    params = {
        "event_id": event_id,
        "public": counts.get("public", 0),
        "staff": counts.get("staff", 0),
    }
    last = (await session.execute(_NUMBER, params)).one()._asdict()
    numbered: dict[str, list[dict[str, Any]]] = {stream: [] for stream in streams}
    for stream, count in counts.items():
        first = last[stream] - count + 1
        numbered[stream] = [
            {"seq": first + offset, **payload} for offset, payload in enumerate(streams[stream])
        ]
    return numbered


# Built once, on the table, for every writer (a stream without entries moves by 0): an ORM
# UPDATE built for each call, and run through the ORM, cost several times running this.
_NUMBER = (
    update(EVENTS)
    .where(EVENTS.c.id == bindparam("event_id"))
    .values(
        public_seq=EVENTS.c.public_seq + bindparam("public"),
        staff_seq=EVENTS.c.staff_seq + bindparam("staff"),
    )
    .returning(EVENTS.c.public_seq.label("public"), EVENTS.c.staff_seq.label("staff"))
)


async def store_numbered(
    session: AsyncSession,
    event_id: int,
    numbered: dict[str, list[dict[str, Any]]],
    now: datetime,
) -> None:
    """Store numbered entries (from `number`: each stream's numbered one after another) in
    the log, every stream in one executemany."""
    rows = [(stream, e["seq"], e) for stream, entries in numbered.items() for e in entries]
    if not rows:
        return
    if session.bind.dialect.name == "sqlite":
        await _store_numbered_sqlite(session, event_id, rows, now)
        return
    await session.execute(
        insert(BroadcastRow.__table__),
        [
            {"event_id": event_id, "stream": s, "seq": seq, "payload": e, "created_at": now}
            for s, seq, e in rows
        ],
    )


_INSERT_SQLITE = """
    INSERT INTO broadcasts (event_id, stream, seq, payload, created_at) VALUES (?, ?, ?, ?, ?)
"""


async def _store_numbered_sqlite(
    session: AsyncSession, event_id: int, rows: list[tuple[str, int, dict]], now: datetime
) -> None:
    """Straight to the writer's sqlite3 connection, as `sqlite_batches` inserts questions:
    each payload its compact JSON text, `seq` first."""
    if unknown := {stream for stream, _seq, _entry in rows} - set(STREAMS):
        raise ValueError(f"no such streams: {sorted(unknown)}")
    connection = await sqlite_batches.writer_connection(session)
    at = sqlite_batches.stored_time(session, now)
    values = [(event_id, s, seq, json_text.dumps(e), at) for s, seq, e in rows]
    with sqlite_batches.sqlalchemy_errors(_INSERT_SQLITE):
        connection.executemany(_INSERT_SQLITE, values)


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
