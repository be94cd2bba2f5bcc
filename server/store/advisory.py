"""PostgreSQL advisory locks: how several Podium processes agree that only one does a job.

Advisory locks belong to one database, so two deployments on one PostgreSQL cluster never
contend. Each lock lives on a connection of its own (no pool): it lasts exactly as long as
that connection, so a process that dies lets go at once.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

# 64-bit keys: "Podium" in ASCII, then which lock.
LEADER = 0x506F_6469_756D_0001  # runs the once-per-deployment loops
MIGRATIONS = 0x506F_6469_756D_0002  # upgrades the schema


class SessionLock:
    """One session-level advisory lock, taken without waiting and held until released."""

    def __init__(self, url: str, key: int) -> None:
        self.key = key
        self._engine = create_async_engine(url, poolclass=NullPool)
        self._connection: AsyncConnection | None = None
        self.held = False

    async def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; False if another process does."""
        if self._connection is None:
            connection = await self._engine.connect()
            # Autocommit: a lock holder must not sit "idle in transaction" for hours.
            self._connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        try:
            query = text("SELECT pg_try_advisory_lock(:key)")
            self.held = bool((await self._connection.execute(query, {"key": self.key})).scalar())
        except Exception:
            await self._close()
            raise
        return self.held

    async def still_held(self) -> bool:
        """True while the lock's connection answers; a lost connection has lost the lock."""
        if not self.held or self._connection is None:
            return False
        try:
            await self._connection.execute(text("SELECT 1"))
        except Exception:
            log.warning("advisory lock %#x: its connection is gone", self.key, exc_info=True)
            await self._close()
            return False
        return True

    async def release(self) -> None:
        """Let go of the lock (closing the connection lets go even if unlocking fails)."""
        if self._connection is not None and self.held:
            with contextlib.suppress(Exception):
                await self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": self.key}
                )
        await self._close()

    async def dispose(self) -> None:
        await self.release()
        await self._engine.dispose()

    async def _close(self) -> None:
        self.held = False
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()


@contextlib.asynccontextmanager
async def exclusive(url: str, key: int) -> AsyncIterator[None]:
    """Wait for the lock, run the block, let go: one process at a time (none on SQLite,
    where only one process serves)."""
    if url.startswith("sqlite"):
        yield
        return
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            try:
                yield
            finally:
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    finally:
        await engine.dispose()
