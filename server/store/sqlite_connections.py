"""SQLite connections: their settings, and the writer's connection whose statements run inline.

Reads keep aiosqlite's thread; the one writer's statements run on the event loop's thread
(`InlineSqliteConnection`), all but those that may wait.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy import make_url

# How long a SQLite connection waits for another's lock (a command run beside the server).
BUSY_TIMEOUT_MS = 5000


def on_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling would not BEGIN before a SAVEPOINT, so savepoints
    # would not nest in the batch's transaction: SQLAlchemy emits BEGIN instead (see the
    # SQLAlchemy SQLite docs, "Enabling Non-Legacy SQLite Transactional Modes").
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def no_checkpoints_in_commits(dbapi_connection: Any, _record: Any) -> None:
    # The writer's commits leave checkpoints to `WalCheckpoints` (server/store/checkpoints.py).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def begin_with(statement: str, connection: Any) -> None:
    connection.exec_driver_sql(statement)


class InlineSqliteConnection(aiosqlite.Connection):
    """aiosqlite, except that statements run at once on the event loop's thread.

    A statement on a local SQLite file takes microseconds; handing each one to aiosqlite's
    thread and back costs far more than that (on a busy loop, a millisecond or more: the
    thread waits for the GIL, the answer for the loop's next turn). Only what may wait runs
    on the thread: COMMIT (it syncs to disk), and BEGIN IMMEDIATE when another connection
    holds the write lock (a command beside the server, a checkpoint restarting the WAL;
    tried first at once, without waiting). The writer's transactions hold
    the write lock from their BEGIN, so no statement run inline can wait for a lock.
    """

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        if args and isinstance(args[0], str) and args[0].startswith("BEGIN"):
            try:
                return self._begin_unless_locked(fn, *args, **kwargs)
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                    raise
            return await super()._execute(fn, *args, **kwargs)  # waits for the lock
        return fn(*args, **kwargs)

    def _begin_unless_locked(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """BEGIN at once, or SQLITE_BUSY at once when another connection holds the lock."""
        self._conn.execute("PRAGMA busy_timeout=0")
        try:
            return fn(*args, **kwargs)
        finally:
            self._conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

    async def commit(self) -> None:
        await super()._execute(self._conn.commit)


def inline_creator(url: str) -> Callable[[], Any]:
    path = make_url(url).database

    def connect() -> InlineSqliteConnection:
        connection = InlineSqliteConnection(
            partial(sqlite3.connect, path, check_same_thread=False), iter_chunk_size=64
        )
        connection._thread.daemon = True
        return connection

    return connect
