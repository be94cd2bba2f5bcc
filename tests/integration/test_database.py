"""The write path: committed means stored, failed means nothing stored and nothing published."""

from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import func, make_url, select, text

from bench.podium import with_database_name
from server.store import events as event_store
from server.store.database import POOL_SIZE, Database
from server.store.migrate import upgrade
from server.store.models import EventRow
from tests.integration import factories


class Boom(Exception):
    pass


async def test_a_committed_write_survives_closing_and_reopening_the_database(db: Database):
    async with db.write() as work:
        event = await factories.event(work.session, title="Kept")
    await db.dispose()

    reopened = Database(db.url)
    try:
        async with reopened.read() as session:
            assert (await event_store.by_id(session, event.id)).title == "Kept"
    finally:
        await reopened.dispose()


async def test_a_failed_write_stores_nothing_and_runs_no_after_commit_callbacks(db: Database):
    async with db.write() as work:
        event = await factories.event(work.session)
    published: list[str] = []

    with pytest.raises(Boom):
        async with db.write(event.id) as work:
            await factories.event(work.session, slug="never")
            work.after_commit(lambda: published.append("never"))
            raise Boom

    assert published == []
    async with db.read() as session:
        assert (await session.execute(select(func.count()).select_from(EventRow))).scalar() == 1


async def test_a_failed_write_releases_the_write_lock(db: Database):
    async with db.write() as work:
        event = await factories.event(work.session)

    with pytest.raises(Boom):
        async with db.write(event.id):
            raise Boom

    async def rename() -> None:
        async with db.write(event.id) as work:
            (await event_store.by_id(work.session, event.id)).title = "Renamed"

    await asyncio.wait_for(rename(), timeout=5)
    async with db.read() as session:
        assert (await event_store.by_id(session, event.id)).title == "Renamed"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_postgresql_keeps_every_connection_a_burst_opened(db: Database):
    """A connection opened for a burst of requests is kept for the next burst: opening a
    PostgreSQL backend for each request above a small pool's size costs more than it does."""
    opened: list[object] = []
    sqlalchemy_event.listen(
        db.engine.sync_engine, "connect", lambda connection, record: opened.append(connection)
    )
    burst = POOL_SIZE - 5
    held = asyncio.Event()

    async def one_request(started: list[int]) -> None:
        async with db.read() as session:
            await session.execute(select(1))
            started.append(1)
            if len(started) == burst:
                held.set()
            await held.wait()  # every request holds its connection at once

    for _ in range(2):
        started: list[int] = []
        held.clear()
        await asyncio.gather(*(one_request(started) for _ in range(burst)))

    assert len(opened) == burst  # all by the first burst; the second opened none
    assert db.engine.pool.checkedin() == burst


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_postgresql_serves_podium_over_its_unix_socket(database_url: str):
    """The deployment guide's advice for a database on the same machine works as given."""
    socket_url = os.environ.get("PODIUM_TEST_POSTGRES_SOCKET_URL")
    if not socket_url:
        pytest.skip("PODIUM_TEST_POSTGRES_SOCKET_URL is not set (run scripts/test)")
    url = with_database_name(socket_url, make_url(database_url).database)
    await upgrade(url)
    db = Database(url)
    try:
        async with db.write() as work:
            event = await factories.event(work.session, title="Over the socket")
        async with db.read() as session:
            assert (await event_store.by_id(session, event.id)).title == "Over the socket"
            # No server address: the connection is not TCP.
            assert (await session.execute(text("SELECT inet_server_addr()"))).scalar() is None
    finally:
        await db.dispose()
