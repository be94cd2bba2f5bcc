"""The numbered broadcast log of each event: one sequence per stream (public, staff)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from server import json_text
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
    the log, every stream in one statement (an executemany on PostgreSQL)."""
    if session.bind.dialect.name == "sqlite":
        if any(numbered.values()):
            await session.execute(_STORE_NUMBERED_SQLITE, _sqlite_streams(event_id, numbered, now))
        return
    rows = [
        {"event_id": event_id, "stream": stream, "seq": e["seq"], "payload": e, "created_at": now}
        for stream, entries in numbered.items()
        for e in entries
    ]
    if rows:
        await session.execute(insert(BroadcastRow.__table__), rows)


# Each stream's entries are one JSON array (see `sqlite_batches`): the payload column gets
# each entry's JSON text as it is (its `seq` the first key), and its `seq` is the stream's
# first plus the entry's place in the array (cheaper for SQLite than reading the entry's).
_STORE_NUMBERED_SQLITE = text(
    """
    INSERT INTO broadcasts (event_id, stream, seq, payload, created_at)
    SELECT :event_id, 'public', :public_first + key, value, :now FROM json_each(:public)
    UNION ALL
    SELECT :event_id, 'staff', :staff_first + key, value, :now FROM json_each(:staff)
    """
).bindparams(bindparam("now", type_=BroadcastRow.__table__.c.created_at.type))


def _sqlite_streams(
    event_id: int, numbered: dict[str, list[dict[str, Any]]], now: datetime
) -> dict[str, Any]:
    """`_STORE_NUMBERED_SQLITE`'s parameters: each stream's entries and its first number."""
    if not set(numbered) <= set(STREAMS):
        raise ValueError(f"no such streams: {sorted(set(numbered) - set(STREAMS))}")
    params: dict[str, Any] = {"event_id": event_id, "now": now}
    for stream in STREAMS:
        entries = numbered.get(stream, [])
        first = entries[0]["seq"] if entries else 0
        if entries and entries[-1]["seq"] != first + len(entries) - 1:
            raise ValueError(f"the {stream} entries are not numbered one after another")
        params[f"{stream}_first"] = first
        params[stream] = json_text.dumps(entries)
    return params


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
