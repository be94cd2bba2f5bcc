"""The engine, its sessions, and the write path that keeps broadcasts in commit order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine


class UnitOfWork:
    """One write transaction, plus what must happen right after it commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._after_commit: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the transaction has committed, still in commit order."""
        self._after_commit.append(callback)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        options: dict[str, Any] = {"pool_pre_ping": not self.is_sqlite}
        if not self.is_sqlite:
            options.update(pool_size=10, max_overflow=20)
        self.engine = create_async_engine(url, **options)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time anyway; serialising in-process avoids its
        # "database is locked" upgrade deadlock. On PostgreSQL only writes to the same
        # event are serialised, so that broadcast sequence numbers are published in order.
        self._global_write_lock = asyncio.Lock()
        self._event_locks: dict[int, asyncio.Lock] = {}

    def _lock_for(self, event_id: int | None) -> asyncio.Lock | None:
        if self.is_sqlite:
            return self._global_write_lock
        if event_id is None:
            return None
        return self._event_locks.setdefault(event_id, asyncio.Lock())

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self, event_id: int | None = None) -> AsyncIterator[UnitOfWork]:
        """A transaction that commits on success; after-commit callbacks run in order."""
        lock = self._lock_for(event_id)
        if lock is not None:
            await lock.acquire()
        try:
            async with self.sessions() as session:
                work = UnitOfWork(session)
                async with session.begin():
                    yield work
                for callback in work._after_commit:
                    callback()
        finally:
            if lock is not None:
                lock.release()

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
