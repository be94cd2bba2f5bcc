"""Group commit: writers queued behind a transaction share the next one, each after the first
in a savepoint, and each is acknowledged only once its batch has committed."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import func, make_url, select

from server.store.database import Database
from server.store.models import ViewerRow
from tests.integration import factories
from tests.support.waiting import wait_until


class Boom(Exception):
    pass


async def _event(db: Database):
    async with db.write() as work:
        return await factories.event(work.session)


async def _viewer_count(db: Database, event_id: int) -> int:
    async with db.read() as session:
        query = select(func.count()).select_from(ViewerRow).where(ViewerRow.event_id == event_id)
        return (await session.execute(query)).scalar_one()


async def _viewer_names(db: Database, event_id: int) -> list[str]:
    async with db.read() as session:
        query = select(ViewerRow.display_name).where(ViewerRow.event_id == event_id)
        return sorted((await session.execute(query)).scalars())


async def _held_open(db: Database, event, release: asyncio.Event, order: list[str]) -> str:
    """A writer whose body waits, so that the writers started meanwhile queue behind it."""
    async with db.write(event.id) as work:
        await factories.viewer(work.session, event, display_name="first")
        order.append("body first")
        work.after_commit(lambda: order.append("after first"))
        await release.wait()
    return "first"


async def test_a_lone_writer_commits_at_once_in_a_batch_of_its_own(db: Database):
    event = await _event(db)
    before = db.stats.batches

    async with db.write(event.id) as work:
        await factories.viewer(work.session, event)

    assert db.stats.batches == before + 1
    assert await _viewer_count(db, event.id) == 1


async def test_writers_queued_behind_a_transaction_share_the_next_commit(db: Database):
    event = await _event(db)
    before_batches, before_units = db.stats.batches, db.stats.units

    async def writer(n: int) -> int:
        async with db.write(event.id) as work:
            viewer = await factories.viewer(work.session, event, display_name=f"V{n}")
        return viewer.id

    ids = await asyncio.gather(*(writer(n) for n in range(40)))

    assert len(set(ids)) == 40
    assert db.stats.units - before_units == 40
    assert db.stats.batches - before_batches < 40
    assert await _viewer_count(db, event.id) == 40


async def test_a_failing_writer_rolls_back_only_itself_and_only_it_raises(db: Database):
    event = await _event(db)
    release, order = asyncio.Event(), []
    first = asyncio.create_task(_held_open(db, event, release, order))
    await wait_until(lambda: order == ["body first"])  # it holds the batch: the rest queue

    async def writer(n: int) -> str:
        async with db.write(event.id) as work:
            await factories.viewer(work.session, event, display_name=f"V{n}")
            if n == 2:
                raise Boom
        return f"V{n}"

    queued = [asyncio.create_task(writer(n)) for n in range(5)]
    await asyncio.sleep(0.05)
    before = db.stats.batches
    release.set()
    results = await asyncio.gather(first, *queued, return_exceptions=True)

    assert isinstance(results[3], Boom)  # V2
    assert [r for r in results[1:] if not isinstance(r, Exception)] == ["V0", "V1", "V3", "V4"]
    assert db.stats.batches == before + 1  # one commit for all of them
    assert await _viewer_names(db, event.id) == ["V0", "V1", "V3", "V4", "first"]


async def test_when_the_first_writer_of_a_batch_fails_the_writers_behind_it_still_commit(
    db: Database,
):
    """The first writer has no savepoint of its own (its undo is the whole transaction's
    rollback): those queued behind it then start the transaction afresh, and commit."""
    event = await _event(db)
    release = asyncio.Event()

    written: list[str] = []

    async def failing_first() -> None:
        async with db.write(event.id) as work:
            await factories.viewer(work.session, event, display_name="failed")
            written.append("failed")
            await release.wait()
            raise Boom

    async def writer(n: int) -> str:
        async with db.write(event.id) as work:
            await factories.viewer(work.session, event, display_name=f"V{n}")
        return f"V{n}"

    first = asyncio.create_task(failing_first())
    await wait_until(lambda: written == ["failed"])  # it holds the batch: the rest queue
    queued = [asyncio.create_task(writer(n)) for n in range(3)]
    await asyncio.sleep(0.05)
    before = db.stats.batches
    release.set()
    results = await asyncio.gather(first, *queued, return_exceptions=True)

    assert isinstance(results[0], Boom)
    assert results[1:] == ["V0", "V1", "V2"]
    assert db.stats.batches == before + 1
    assert await _viewer_names(db, event.id) == ["V0", "V1", "V2"]


async def test_after_commit_callbacks_run_in_commit_order_before_anyone_returns(db: Database):
    event = await _event(db)
    release, order = asyncio.Event(), []
    first = asyncio.create_task(_held_open(db, event, release, order))
    await wait_until(lambda: order == ["body first"])  # it holds the batch: the rest queue

    async def writer(n: int) -> None:
        async with db.write(event.id) as work:
            await factories.viewer(work.session, event)
            order.append(f"body {n}")
            work.after_commit(lambda: order.append(f"after {n}"))
        order.append(f"returned {n}")

    queued = [asyncio.create_task(writer(n)) for n in range(4)]
    await asyncio.sleep(0.05)
    release.set()
    await asyncio.gather(first, *queued)

    bodies = [o for o in order if o.startswith("body")]
    afters = [o.replace("after", "body") for o in order if o.startswith("after")]
    assert bodies == ["body first", "body 0", "body 1", "body 2", "body 3"]
    assert afters == bodies
    last_callback = max(i for i, o in enumerate(order) if o.startswith("after"))
    first_return = min(i for i, o in enumerate(order) if o.startswith("returned"))
    assert last_callback < first_return  # acknowledged only after the batch committed


async def test_a_writer_cancelled_while_queued_leaves_the_others_to_commit(db: Database):
    event = await _event(db)
    release, order = asyncio.Event(), []
    first = asyncio.create_task(_held_open(db, event, release, order))
    await wait_until(lambda: order == ["body first"])  # it holds the batch: the rest queue

    async def writer(n: int) -> None:
        async with db.write(event.id) as work:
            await factories.viewer(work.session, event, display_name=f"V{n}")

    queued = [asyncio.create_task(writer(n)) for n in range(3)]
    await asyncio.sleep(0.05)
    queued[1].cancel()
    release.set()
    results = await asyncio.gather(first, *queued, return_exceptions=True)

    assert isinstance(results[2], asyncio.CancelledError)
    assert await _viewer_count(db, event.id) == 3  # first, V0, V2
    await asyncio.wait_for(writer(9), timeout=5)  # and the lane is free again


async def test_a_writer_cancelled_while_its_batch_commits_leaves_the_others_acknowledged(
    db: Database,
):
    event = await _event(db)
    gates = {name: asyncio.Event() for name in ("before", "after")}
    written: list[str] = []
    returned: list[str] = []

    async def writer(name: str) -> None:
        async with db.write(event.id) as work:
            await factories.viewer(work.session, event, display_name=name)
            written.append(name)
            if name in gates:
                await gates[name].wait()
        returned.append(name)

    before = asyncio.create_task(writer("before"))  # holds the batch open
    await wait_until(lambda: written == ["before"])
    cancelled = asyncio.create_task(writer("cancelled"))
    after = asyncio.create_task(writer("after"))
    await asyncio.sleep(0.05)
    gates["before"].set()  # "cancelled" writes, then waits for the batch; "after" holds it
    await wait_until(lambda: written == ["before", "cancelled", "after"])
    assert returned == [] and not cancelled.done()
    cancelled.cancel()
    await asyncio.sleep(0.05)
    gates["after"].set()
    await asyncio.wait_for(asyncio.gather(before, after), timeout=5)

    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert sorted(returned) == ["after", "before"]
    # The cancelled writer's row was in the batch, which committed for the others.
    assert await _viewer_names(db, event.id) == ["after", "before", "cancelled"]


async def test_a_writer_waits_for_another_connections_write_lock_without_stalling_the_loop(
    db: Database,
):
    if not db.is_sqlite:
        pytest.skip("PostgreSQL has no database-wide write lock")
    event = await _event(db)
    other = sqlite3.connect(make_url(db.url).database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # a command run beside the server, holding the lock
    try:

        async def writer() -> None:
            async with db.write(event.id) as work:
                await factories.viewer(work.session, event, display_name="after the lock")

        writing = asyncio.create_task(writer())
        ticks = 0
        for _ in range(20):
            await asyncio.sleep(0.01)
            ticks += 1
        assert not writing.done()  # waiting for the lock, on aiosqlite's thread
    finally:
        other.execute("COMMIT")
        other.close()
    await asyncio.wait_for(writing, timeout=5)

    assert ticks == 20
    assert await _viewer_names(db, event.id) == ["after the lock"]


@pytest.mark.parametrize("writers", [60])
async def test_nothing_acknowledged_is_lost_when_the_database_is_closed_and_reopened(
    db: Database, writers: int
):
    event = await _event(db)
    acknowledged: list[int] = []

    async def writer(n: int) -> None:
        async with db.write(event.id) as work:
            viewer = await factories.viewer(work.session, event, display_name=f"V{n}")
        acknowledged.append(viewer.id)

    tasks = [asyncio.create_task(writer(n)) for n in range(writers)]
    await asyncio.sleep(0)  # some are committing, some queued
    await asyncio.gather(*tasks)
    await db.dispose()

    reopened = Database(db.url)
    try:
        async with reopened.read() as session:
            stored = (
                await session.execute(select(ViewerRow.id).where(ViewerRow.event_id == event.id))
            ).scalars()
            assert sorted(stored) == sorted(acknowledged)
    finally:
        await reopened.dispose()
    assert len(acknowledged) == writers
