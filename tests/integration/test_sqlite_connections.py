"""SQLite's connections: a close under way survives the stop SQLAlchemy forces on a cancel."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from server.store import sqlite_connections
from server.store.database import Database
from server.store.sqlite_connections import SqliteConnection
from tests.support.waiting import wait_until

# A read that takes a few milliseconds, so that a cancel lands while it runs.
SLOW_READ = text(
    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 20000)"
    " SELECT count(*) FROM n"
)


async def test_a_close_under_way_returns_when_the_connection_is_stopped_meanwhile(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'podium.db'}"
    connection = await sqlite_connections.reader_creator(url)()
    closing = asyncio.ensure_future(connection.close())
    await asyncio.sleep(0)  # the close has queued its step on the connection's thread
    connection.stop()  # as SQLAlchemy's force close does when a cancel interrupts a close

    await asyncio.wait_for(closing, timeout=5)  # aiosqlite's own close waits forever here
    await asyncio.to_thread(connection._thread.join, 5)
    assert not connection._thread.is_alive()


async def test_every_sqlite_connection_the_database_opens_is_safe_to_stop(tmp_path: Path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'podium.db'}")
    try:
        async with db.read() as session:
            await session.execute(text("SELECT 1"))
            _assert_safe(await (await session.connection()).get_raw_connection())
        async with db.write() as work:
            _assert_safe(await (await work.session.connection()).get_raw_connection())
    finally:
        await db.dispose()


def _assert_safe(raw) -> None:
    assert isinstance(raw.driver_connection, SqliteConnection)
    assert raw.driver_connection._thread.daemon  # one left open cannot hold the exit


async def test_a_read_cancelled_twice_leaves_no_close_waiting_forever(tmp_path: Path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'podium.db'}")

    async def read_on_and_on() -> None:
        while True:
            async with db.read() as session:
                await session.execute(SLOW_READ)

    try:
        for trial in range(20):
            reading = asyncio.create_task(read_on_and_on())
            await asyncio.sleep(0.005)
            reading.cancel()
            for _ in range(trial % 4):  # the second cancel lands as SQLAlchemy closes
                await asyncio.sleep(0)
            reading.cancel()
            await asyncio.wait({reading}, timeout=5)
            assert reading.done()

        def nothing_left() -> bool:
            return asyncio.all_tasks() == {asyncio.current_task()}

        # With aiosqlite's own connection, SQLAlchemy's graceful close of nearly every one
        # of those connections is still pending here, and stays so.
        await wait_until(nothing_left, timeout=5, what="every connection's close to end")
    finally:
        await db.dispose()
