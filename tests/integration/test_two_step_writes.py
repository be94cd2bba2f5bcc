"""Queued writes in two steps (`TwoStepStore`): on PostgreSQL each batch is read while the one
before it is written, and written outside a transaction block; a key stored in between sends
the batch back to be read again. On SQLite the two steps run as one, in the write turn."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import select, text

from server.services import catalog
from server.store.database import Database, UnitOfWork
from server.store.models import QuestionRow
from server.store.write_queue import TwoStepStore
from tests.integration import factories
from tests.integration.test_submission_batch import ask, count, viewers
from tests.support.clients import EVENT, Podium
from tests.support.waiting import wait_until


async def test_a_batch_is_read_while_the_one_before_is_written_on_postgresql_only(db: Database):
    async with db.write() as work:
        event = await factories.event(work.session)
    order: list[str] = []
    first_writing, release = asyncio.Event(), asyncio.Event()

    async def prepare(session, items: list[str]) -> list[str]:
        await session.execute(select(1))
        order.append(f"read {'+'.join(items)}")
        return items

    async def finish(work: UnitOfWork, items: list[str]) -> list[Any]:
        name = "+".join(items)
        if items == ["a"]:
            first_writing.set()
            await release.wait()  # b and c queue while a is being written
        await factories.viewer(work.session, event, display_name=name)
        work.after_commit(lambda: order.append(f"published {name}"))
        return [f"answer {item}" for item in items]

    store = TwoStepStore(prepare, finish)
    first = asyncio.create_task(db.write_queued(event.id, store, "a"))
    await first_writing.wait()
    later = [asyncio.create_task(db.write_queued(event.id, store, item)) for item in "bc"]
    try:
        if db.is_sqlite:
            await asyncio.sleep(0.05)
            assert order == ["read a"]  # one step: b and c wait for a's turn to end
        else:
            await wait_until(lambda: "read b+c" in order, what="b and c to be read")
    finally:
        release.set()
    answers = await asyncio.wait_for(asyncio.gather(first, *later), timeout=5)

    assert answers == ["answer a", "answer b", "answer c"]
    assert order == ["read a", "read b+c", "published a", "published b+c"] or db.is_sqlite
    assert order == ["read a", "published a", "read b+c", "published b+c"] or not db.is_sqlite
    async with db.read() as session:
        query = select(factories.ViewerRow.display_name).where(
            factories.ViewerRow.event_id == event.id
        )
        assert sorted((await session.execute(query)).scalars()) == ["a", "b+c"]


async def test_a_retry_read_before_its_first_copy_was_stored_is_answered_as_a_duplicate(
    podium: Podium,
):
    """The retry's batch is read while the first copy's batch waits to be written (another
    worker holds the event row); its write then finds the key taken, and it is read again."""
    s = podium.services
    if s.db.is_sqlite:
        pytest.skip("SQLite reads a batch in its write turn, after the batch before commits")
    event = await catalog.event_by_slug(s, EVENT)
    [author] = await viewers(s, event, 1)
    statements: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many) -> None:
        statements.append(statement)

    engine = s.db.autocommit_engine.sync_engine
    sqlalchemy_event.listen(engine, "before_cursor_execute", record)
    try:
        async with s.db.engine.connect() as other_worker:
            lock = text("SELECT id FROM events WHERE id = :id FOR UPDATE")
            await other_worker.execute(lock, {"id": event.id})
            first = asyncio.create_task(ask(s, author, event, "same-client-id"))
            await wait_until(lambda: len(statements) == 2)  # read, then the write waits
            retry = asyncio.create_task(ask(s, author, event, "same-client-id"))
            await wait_until(lambda: len(statements) == 3)  # read: the key is not yet stored
            await other_worker.rollback()
        answers = await asyncio.wait_for(asyncio.gather(first, retry), timeout=5)
    finally:
        sqlalchemy_event.remove(engine, "before_cursor_execute", record)

    assert answers[0]["id"] == answers[1]["id"]
    assert [a["duplicate"] for a in answers] == [False, True]
    assert await count(s.db, QuestionRow, QuestionRow.event_id == event.id) == 1


async def test_writing_alone_commits_the_batch_open_before_it_and_keeps_commit_order(
    db: Database,
):
    """A unit written alone takes the event's turn behind a group-commit batch still open,
    whose lock on the event row its statement also needs: that batch commits first."""
    if db.is_sqlite:
        pytest.skip("SQLite has no statements outside a transaction here: its writer is inline")
    async with db.write() as work:
        event = await factories.event(work.session)
    bump = text("UPDATE events SET public_seq = public_seq + 1 WHERE id = :id")
    order: list[str] = []
    release = asyncio.Event()

    async def grouped(name: str, wait: bool = False) -> None:
        async with db.write(event.id) as work:
            await work.session.execute(bump, {"id": event.id})
            work.after_commit(lambda: order.append(f"published {name}"))
            if wait:
                await release.wait()

    async def alone() -> None:
        async with db.write_alone(event.id) as work:
            await work.session.execute(bump, {"id": event.id})
            work.after_commit(lambda: order.append("published alone"))

    first = asyncio.create_task(grouped("first", wait=True))
    await asyncio.sleep(0.05)
    behind = [asyncio.create_task(grouped("second")), asyncio.create_task(alone())]
    await asyncio.sleep(0.05)
    release.set()
    await asyncio.wait_for(asyncio.gather(first, *behind), timeout=5)

    assert order == ["published first", "published second", "published alone"]
    async with db.read() as session:
        seq = await session.execute(
            text("SELECT public_seq FROM events WHERE id = :id"), {"id": event.id}
        )
        assert seq.scalar_one() == 3
