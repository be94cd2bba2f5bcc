"""The engine, its sessions, and the write path: group commit, in commit order.

Writers queue for a *lane* (one for the whole SQLite database, since it has one writer at a
time anyway; one per event on PostgreSQL, so that broadcast sequence numbers are published in
order). The writer at the head of a lane opens a transaction; each writer's body then runs in
turn inside its own SAVEPOINT, so a body that raises undoes only itself. When nobody else is
waiting (or the batch is full) the batch commits once, every unit's after-commit callbacks run
in commit order, and only then does each writer's `async with db.write()` return: an
acknowledgement always follows a durable commit. An idle lane commits its first writer at
once; writers that arrive while a batch commits share the next one.

Across processes (several workers on PostgreSQL) nothing here is needed for correctness: the
event row's lock, taken when a broadcast is numbered, orders batches from different workers.

Writes that come by the thousand (questions, votes) go one step further with `write_queued`
(see `write_queue`): queued items, stored a batch at a time in one unit of work. On
PostgreSQL a batch whose write is one statement runs outside a transaction block
(`autocommit`, `write_alone`), still in the event's turn.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import event, make_url, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from server.store import sqlite_connections
from server.store.checkpoints import WalCheckpoints
from server.store.idle_ping import ping_when_idle
from server.store.write_queue import QueuedWrites

log = logging.getLogger(__name__)

DEFAULT_MAX_BATCH = 256
# PostgreSQL connections a worker may hold: for requests and group-commit batches, and for
# submission batches' statements outside a transaction block (two busy per event being asked).
POOL_SIZE = 30
AUTOCOMMIT_POOL_SIZE = 12


class UnitOfWork:
    """One writer's share of a transaction, plus what must happen right after it commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._after_commit: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the transaction has committed, still in commit order."""
        self._after_commit.append(callback)


@dataclass
class WriteStats:
    """Counters for tests and benchmarks: how well writers are being grouped."""

    batches: int = 0  # transactions committed
    units: int = 0  # writers whose work those transactions committed
    failed_units: int = 0  # writers whose body raised (only their own work rolled back)
    largest_batch: int = 0
    queued_batches: int = 0  # `write_queued` stores (each one unit of work)
    queued_items: int = 0  # the items those stores committed, successful or refused alone


@dataclass
class _Batch:
    session: AsyncSession
    units: list[UnitOfWork] = field(default_factory=list)
    # One future per unit, settled by the commit: a writer cancelled while it waits cancels
    # only its own (a shared future would need a shield: one more turn of the loop each).
    waiting: list[asyncio.Future] = field(default_factory=list)
    entered: int = 0
    broken: BaseException | None = None  # the transaction itself failed: nothing commits


class _Lane:
    """A FIFO turn: one writer's body (or one commit) at a time, the open batch between them."""

    def __init__(self) -> None:
        self.held = False
        self.waiters: deque[asyncio.Future] = deque()
        self.batch: _Batch | None = None

    def has_waiters(self) -> bool:
        return any(not waiter.done() for waiter in self.waiters)

    def wake_next(self) -> bool:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return True
        return False


class Database(QueuedWrites):
    checkpoints: WalCheckpoints | None = None  # SQLite's, run beside the writer

    def __init__(self, url: str, max_batch: int = DEFAULT_MAX_BATCH) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.max_batch = max_batch
        if self.is_sqlite:
            # Reads keep aiosqlite's thread; the one writer runs its statements inline.
            self.engine = create_async_engine(
                url, async_creator=sqlite_connections.reader_creator(url)
            )
            self.write_engine = create_async_engine(
                url,
                async_creator=sqlite_connections.inline_creator(url),
                pool_size=2,
                max_overflow=2,
            )
            for engine, begin in ((self.engine, "BEGIN"), (self.write_engine, "BEGIN IMMEDIATE")):
                event.listen(engine.sync_engine, "connect", sqlite_connections.on_connect)
                event.listen(
                    engine.sync_engine, "begin", partial(sqlite_connections.begin_with, begin)
                )
            path = make_url(url).database
            if path and path != ":memory:":
                self.checkpoints = WalCheckpoints(path)
                event.listen(
                    self.write_engine.sync_engine,
                    "connect",
                    sqlite_connections.no_checkpoints_in_commits,
                )
            self.autocommit_engine = None
        else:
            # Last in, first out: under light load the same few connections serve, and the
            # rest lie idle (pinged when next used); under load, the busiest stay warm.
            # Every connection opened is kept (no overflow): SQLAlchemy closes an overflow
            # connection as it is returned, so under a burst of requests above the pool's
            # size nearly each one opened a PostgreSQL backend of its own (viewers joining:
            # 160 new connections a second, and half as many joins a second).
            self.engine = self.write_engine = create_async_engine(
                url, pool_size=POOL_SIZE, max_overflow=0, pool_use_lifo=True
            )
            # Statements outside a transaction block, each its own transaction: no BEGIN
            # and COMMIT round trips for a batch whose reads and one write need none.
            self.autocommit_engine = create_async_engine(
                url,
                pool_size=AUTOCOMMIT_POOL_SIZE,
                max_overflow=0,
                pool_use_lifo=True,
                isolation_level="AUTOCOMMIT",
            )
            for engine in (self.engine, self.autocommit_engine):
                ping_when_idle(engine)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._autocommit_sessions = (
            async_sessionmaker(self.autocommit_engine, expire_on_commit=False)
            if self.autocommit_engine is not None
            else None
        )
        self.stats = WriteStats()
        self._lanes: dict[int | None, _Lane] = {}
        self._commits: set[asyncio.Task] = set()
        self._init_queues()

    @property
    def engines(self) -> tuple[AsyncEngine, ...]:
        """Every engine this database talks through (one, or a reader and a writer, or the
        engine and its autocommit twin)."""
        engines = [self.engine, self.write_engine, self.autocommit_engine]
        return tuple(dict.fromkeys(engine for engine in engines if engine is not None))

    def _lane_for(self, event_id: int | None) -> _Lane:
        # SQLite: one lane, which also avoids its "database is locked" upgrade deadlock.
        key = None if self.is_sqlite else event_id
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane()
        return lane

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self, event_id: int | None = None) -> AsyncIterator[UnitOfWork]:
        """A share of a transaction that commits on success; returns once it is durable."""
        lane = self._lane_for(event_id)
        await self._take_turn(lane)
        try:
            batch = lane.batch
            if batch is None:
                batch = lane.batch = self._open_batch()
            batch.entered += 1
            work = UnitOfWork(batch.session)
            session = batch.session
            # The batch's first unit needs no savepoint (two round trips on PostgreSQL): to
            # undo it, the transaction, which holds nothing else, is rolled back.
            savepoint = None
            if batch.units:
                try:
                    savepoint = await session.begin_nested()
                except BaseException as error:
                    batch.broken = batch.broken or error
                    raise
            try:
                yield work
            except BaseException:
                self.stats.failed_units += 1
                await self._undo(batch, savepoint)
                raise
            try:
                if savepoint is None:
                    await session.flush()
                else:
                    await savepoint.commit()  # flushes, then RELEASE SAVEPOINT
            except BaseException:
                self.stats.failed_units += 1
                await self._undo(batch, savepoint)
                raise
            # Detach what this unit loaded, so that a later unit's rollback cannot expire
            # objects this writer still reads after the commit.
            session.expunge_all()
            batch.units.append(work)
            settled = asyncio.get_running_loop().create_future()
            batch.waiting.append(settled)
        finally:
            self._end_turn(lane)
        await settled

    async def _take_turn(self, lane: _Lane) -> None:
        if not lane.held and not lane.waiters:
            lane.held = True
            return
        waiter = asyncio.get_running_loop().create_future()
        lane.waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._end_turn(lane)  # handed the turn just as we were cancelled: pass it on
            else:
                waiter.cancel()
            raise

    def _open_batch(self) -> _Batch:
        return _Batch(session=self._write_sessions())

    async def _undo(self, batch: _Batch, savepoint: Any) -> None:
        try:
            if savepoint is None:
                await batch.session.rollback()
            elif savepoint.is_active:
                await savepoint.rollback()
            batch.session.expunge_all()
        except BaseException as error:  # the connection is gone: the whole batch fails
            batch.broken = batch.broken or error

    def _end_turn(self, lane: _Lane) -> None:
        """Hand the open batch to the next writer, or commit it; then hand the lane on."""
        batch = lane.batch
        if batch is not None:
            room = batch.entered < self.max_batch and batch.broken is None
            if room and lane.has_waiters():
                lane.wake_next()
                return
            lane.batch = None
            task = asyncio.get_running_loop().create_task(self._commit(lane, batch))
            self._commits.add(task)
            task.add_done_callback(self._commits.discard)
            return
        if not lane.wake_next():
            lane.held = False

    async def _commit(self, lane: _Lane, batch: _Batch) -> None:
        try:
            await self._commit_batch(batch)
        finally:
            self._end_turn(lane)

    async def _commit_batch(self, batch: _Batch) -> None:
        """Commit, run the after-commit callbacks in order, then let the writers return."""
        try:
            if batch.broken is not None:
                raise batch.broken
            if batch.units:
                await batch.session.commit()
        except BaseException as error:
            log.warning("a batch of %d writes failed to commit: %r", len(batch.units), error)
            await _quietly(batch.session.rollback())
            for settled in batch.waiting:
                if not settled.done():
                    settled.set_exception(error)
        else:
            if batch.units:
                self.stats.batches += 1
                self.stats.units += len(batch.units)
                self.stats.largest_batch = max(self.stats.largest_batch, len(batch.units))
            for work in batch.units:
                _run_after_commit(work)
            for settled in batch.waiting:
                if not settled.done():
                    settled.set_result(None)
            if self.checkpoints is not None and batch.units:
                self.checkpoints.nudge()
        finally:
            await _quietly(batch.session.close())

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[AsyncSession]:
        """PostgreSQL: a session outside any transaction block, each statement committing
        alone (none of the BEGIN and COMMIT round trips a transaction costs)."""
        if self._autocommit_sessions is None:
            raise RuntimeError("SQLite has no autocommit sessions: its one writer runs inline")
        async with self._autocommit_sessions() as session:
            yield session

    @asynccontextmanager
    async def write_alone(self, event_id: int | None = None) -> AsyncIterator[UnitOfWork]:
        """PostgreSQL: a unit of work for a body whose writes are one statement, which
        commits as it runs (`autocommit`). It takes the event's write turn, as `write` does,
        first committing the batch open there (which may hold the locks the statement
        takes), so that after-commit callbacks still run in commit order: right after the
        body returns. A body that raises has committed nothing, if its write came last."""
        lane = self._lane_for(event_id)
        await self._take_turn(lane)
        try:
            if lane.batch is not None:
                batch, lane.batch = lane.batch, None
                await self._commit_batch(batch)
            async with self.autocommit() as session:
                work = UnitOfWork(session)
                yield work
            self.stats.batches += 1
            self.stats.units += 1
            _run_after_commit(work)
        finally:
            self._end_turn(lane)

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self._wait_for_queued_writes()
        if self._commits:
            await asyncio.gather(*self._commits, return_exceptions=True)
        if self.checkpoints is not None:
            await self.checkpoints.close()
        for engine in self.engines:
            await engine.dispose()


def _run_after_commit(work: UnitOfWork) -> None:
    for callback in work._after_commit:
        try:
            callback()
        except Exception:  # the write is durable; one bad callback stops no other
            log.exception("an after-commit callback failed")


async def _quietly(awaitable: Any) -> None:
    try:
        await awaitable
    except Exception:
        log.debug("ignored while cleaning up a batch", exc_info=True)
