"""SQLite's connections: a close under way survives the stop SQLAlchemy forces on a cancel."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from server.store import sqlite_connections
from server.store.database import Database
from server.store.sqlite_connections import SqliteConnection


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
