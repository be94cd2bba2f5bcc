"""The numbered broadcast log: gap-free per-stream sequences, published in order, caught up."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from sqlalchemy import select, text

from server.store import broadcasts
from server.store.database import Database
from server.store.models import BroadcastRow
from tests.integration import factories


async def new_events(db: Database, count: int) -> list[int]:
    async with db.write() as work:
        return [(await factories.event(work.session)).id for _ in range(count)]


async def append(db: Database, event_id: int, stream: str, count: int) -> list[dict]:
    async with db.write(event_id) as work:
        payloads = [{"type": "test", "n": n} for n in range(count)]
        return await broadcasts.append(work.session, event_id, stream, payloads)


async def stored_seqs(db: Database, event_id: int, stream: str) -> list[int]:
    query = (
        select(BroadcastRow.seq)
        .where(BroadcastRow.event_id == event_id, BroadcastRow.stream == stream)
        .order_by(BroadcastRow.seq)
    )
    async with db.read() as session:
        return list((await session.execute(query)).scalars())


async def since(db: Database, event_id: int, after_seq: int, limit: int) -> list[int] | None:
    async with db.read() as session:
        entries = await broadcasts.since(session, event_id, "public", after_seq, limit)
    return None if entries is None else [entry["seq"] for entry in entries]


async def test_each_stream_of_each_event_is_numbered_from_one_independently(db: Database):
    events = await new_events(db, 2)
    for event_id in events:
        for stream, count in (("public", 3), ("staff", 1), ("public", 2), ("staff", 2)):
            await append(db, event_id, stream, count)

    for event_id in events:
        assert await stored_seqs(db, event_id, "public") == [1, 2, 3, 4, 5]
        assert await stored_seqs(db, event_id, "staff") == [1, 2, 3]
        async with db.read() as session:
            assert await broadcasts.current_seq(session, event_id, "public") == 5


async def test_appended_entries_carry_their_seq_in_the_stored_payload(db: Database):
    [event_id] = await new_events(db, 1)
    numbered = await append(db, event_id, "public", 2)

    assert numbered == [{"seq": 1, "type": "test", "n": 0}, {"seq": 2, "type": "test", "n": 1}]
    async with db.read() as session:
        assert await broadcasts.since(session, event_id, "public", 0, 10) == numbered


async def test_stored_payloads_read_back_as_the_values_numbered_seq_first(db: Database):
    [event_id] = await new_events(db, 1)
    odd = {
        "type": "test",
        "text": '« ça coûte » 😀 "quoted" \\ \n\t\u2028',
        "nothing": [{}, [], None, True, False],
        "numbers": [0, -1, 2**53, 2**62],
    }
    payloads = {"public": [odd, {"type": "test"}], "staff": [{"type": "test"}, odd, odd]}
    async with db.write(event_id) as work:
        numbered = await broadcasts.number(work.session, event_id, payloads)
        await broadcasts.store_numbered(work.session, event_id, numbered, datetime.now(UTC))

    assert numbered["staff"][1] == {"seq": 2, **odd}
    async with db.read() as session:
        for stream in broadcasts.STREAMS:
            assert await broadcasts.since(session, event_id, stream, 0, 10) == numbered[stream]
        query = text("SELECT CAST(payload AS TEXT) FROM broadcasts WHERE event_id = :event")
        stored = (await session.execute(query, {"event": event_id})).scalars().all()
    assert len(stored) == 5
    assert {next(iter(json.loads(payload))) for payload in stored} == {"seq"}


async def test_concurrent_writers_number_gap_free_and_publish_in_sequence_order(db: Database):
    events = await new_events(db, 2)
    published: dict[int, list[int]] = {event_id: [] for event_id in events}

    async def write(event_id: int, count: int) -> None:
        async with db.write(event_id) as work:
            payloads = [{"type": "test"}] * count
            entries = await broadcasts.append(work.session, event_id, "public", payloads)
            await asyncio.sleep(0)  # let the other writers in, if anything would let them
            work.after_commit(lambda: published[event_id].extend(entry["seq"] for entry in entries))

    writes = [(events[i % 2], 1 + i % 3) for i in range(60)]
    await asyncio.gather(*(write(event_id, count) for event_id, count in writes))

    for event_id in events:
        total = sum(count for target, count in writes if target == event_id)
        assert published[event_id] == list(range(1, total + 1))
        assert await stored_seqs(db, event_id, "public") == list(range(1, total + 1))


async def test_since_returns_exactly_the_missed_entries(db: Database):
    [event_id] = await new_events(db, 1)
    await append(db, event_id, "public", 10)

    assert await since(db, event_id, after_seq=7, limit=5) == [8, 9, 10]
    assert await since(db, event_id, after_seq=5, limit=5) == [6, 7, 8, 9, 10]
    assert await since(db, event_id, after_seq=10, limit=5) == []


async def test_since_gives_up_when_more_than_the_limit_are_missing(db: Database):
    [event_id] = await new_events(db, 1)
    await append(db, event_id, "public", 10)

    assert await since(db, event_id, after_seq=4, limit=5) is None
    assert await since(db, event_id, after_seq=0, limit=5) is None


async def test_since_gives_up_when_missed_entries_were_pruned(db: Database):
    [event_id] = await new_events(db, 1)
    await append(db, event_id, "public", 10)
    async with db.write(event_id) as work:
        await broadcasts.prune(work.session, event_id, "public", keep=3)

    assert await since(db, event_id, after_seq=5, limit=100) is None
    assert await since(db, event_id, after_seq=6, limit=100) is None
    assert await since(db, event_id, after_seq=7, limit=100) == [8, 9, 10]


async def test_prune_keeps_the_newest_entries_of_that_stream_only(db: Database):
    events = await new_events(db, 2)
    for event_id in events:
        await append(db, event_id, "public", 10)
        await append(db, event_id, "staff", 4)

    async with db.write(events[0]) as work:
        await broadcasts.prune(work.session, events[0], "public", keep=3)

    assert await stored_seqs(db, events[0], "public") == [8, 9, 10]
    assert await stored_seqs(db, events[0], "staff") == [1, 2, 3, 4]
    assert await stored_seqs(db, events[1], "public") == list(range(1, 11))
    await append(db, events[0], "public", 1)
    assert await stored_seqs(db, events[0], "public") == [8, 9, 10, 11]
