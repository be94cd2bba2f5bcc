"""SQLite connections: their settings, and the writer's connection whose statements run inline.

Reads keep aiosqlite's thread (`SqliteConnection`); the one writer's statements run on the
event loop's thread (`InlineSqliteConnection`), all but those that may wait.
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


class SqliteConnection(aiosqlite.Connection):
    """aiosqlite's connection, whose thread may be told to stop more than once.

    When a cancel interrupts SQLAlchemy's graceful close of a connection, it stops the
    connection's thread at once (`stop()`, its "force close"); the graceful close, still
    running, stops it again in its last step and waits for that second stop, which the
    ended thread never answers: aiosqlite 0.22's `close()` then never returns, and whatever
    awaits it (a task being cancelled, an async generator closing at the loop's end) hangs
    with it. Here a second stop is a no-op."""

    def stop(self) -> Any:
        if not self._running:
            return None  # already stopped: the thread ends after the first stop's step
        return super().stop()


class InlineSqliteConnection(SqliteConnection):
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


def reader_creator(url: str) -> Callable[[], Any]:
    """Connections for reads: aiosqlite's, safe to stop twice."""
    return _creator(url, SqliteConnection)


def inline_creator(url: str) -> Callable[[], Any]:
    """Connections for the one writer: statements inline, but for those that may wait."""
    return _creator(url, InlineSqliteConnection)


def _creator(url: str, kind: type[SqliteConnection]) -> Callable[[], Any]:
    path = make_url(url).database

    def connect() -> SqliteConnection:
        connection = kind(
            partial(sqlite3.connect, path, check_same_thread=False), iter_chunk_size=64
        )
        # aiosqlite 0.22's threads hold the process at exit until their connection closes:
        # one left open by a fault must not keep a stopped server from exiting.
        connection._thread.daemon = True
        return connection

    return connect
