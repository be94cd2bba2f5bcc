"""Writes that come by the thousand (questions, votes): queued, and stored a batch at a time.

Callers queue plain items with `write_queued`; one writer per event and kind hands everything
queued meanwhile (up to `max_batch`) to the kind's store, which stores them with a few
set-based statements in one unit of work and says how each item fared. Each caller gets its
own outcome once the batch is durable.

A batch is taken once its writer's turn has come (everything queued while it waited), so
the busier the event, the larger the batches and the fewer the commits per item.

A store in two steps (`TwoStepStore`: reads, then one write statement) goes further on
PostgreSQL: each batch is read outside the write turn, while the batch before it is being
written, and its statements run outside a transaction block (`Database.autocommit`), the
write being atomic on its own. A key stored meanwhile (by the batch before, or another
process) fails the write whole, and the batch is read and written again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    from sqlalchemy.ext.asyncio import AsyncSession

    from server.store.database import UnitOfWork, WriteStats

log = logging.getLogger(__name__)

# Stores a batch of queued items in one unit of work: one outcome per item, in order, each a
# result for its caller or an exception raised to that caller alone.
Store = Callable[["UnitOfWork", list[Any]], Awaitable[list[Any]]]


@dataclass(frozen=True)
class TwoStepStore:
    """A store that reads and checks a batch (`prepare`, any session: it writes nothing),
    then writes it with one statement (`finish`), which nothing may follow but reads."""

    prepare: Callable[[AsyncSession, list[Any]], Awaitable[Any]]
    finish: Callable[[UnitOfWork, Any], Awaitable[list[Any]]]

    async def __call__(self, work: UnitOfWork, items: list[Any]) -> list[Any]:
        return await self.finish(work, await self.prepare(work.session, items))


Entry = tuple[Any, asyncio.Future]
QueueKey = tuple[Hashable, Store]


class QueuedWrites:
    """`Database`'s queued writes (it provides `write`, `write_alone`, `autocommit`,
    `max_batch`, `stats` and `is_sqlite`)."""

    max_batch: int
    is_sqlite: bool  # its writer's statements run inline, on the event loop
    stats: WriteStats
    write: Callable[[int | None], AbstractAsyncContextManager[UnitOfWork]]
    write_alone: Callable[[int | None], AbstractAsyncContextManager[UnitOfWork]]
    autocommit: Callable[[], AbstractAsyncContextManager[AsyncSession]]

    def _init_queues(self) -> None:
        self._queues: dict[QueueKey, deque[Entry]] = {}
        self._drains: dict[QueueKey, asyncio.Task] = {}
        self._writes: dict[QueueKey, asyncio.Task] = {}  # each two-step queue's last write

    async def write_queued(self, event_id: int | None, store: Store, item: Any) -> Any:
        """Queue `item` for `store`, which gets it together with everything else queued for
        the same event meanwhile (up to `max_batch`); return its outcome once it is durable."""
        key = (event_id, store)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
        done = asyncio.get_running_loop().create_future()
        queue.append((item, done))
        if key not in self._drains:
            task = asyncio.get_running_loop().create_task(self._drain(key, queue))
            self._drains[key] = task
        return await done

    async def _wait_for_queued_writes(self) -> None:
        while self._drains or self._writes:
            tasks = [*self._drains.values(), *self._writes.values()]
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _drain(self, key: QueueKey, queue: deque[Entry]) -> None:
        """The one writer of a queue: a batch at a time, until nothing is left."""
        try:
            if isinstance(key[1], TwoStepStore) and not self.is_sqlite:
                await self._drain_in_steps(key, queue)
            else:
                while queue:
                    await self._store_queued(key, queue)
                    if self.is_sqlite:
                        # Let the callers just answered send their answers (and the
                        # publisher its pushes) before the next batch, whose statements run
                        # inline for milliseconds without yielding. Over a network the next
                        # batch's first statement yields to them anyway.
                        await asyncio.sleep(0)
        finally:
            del self._drains[key]
            if queue:  # cancelled (the app is closing): nobody will store these
                for _item, done in queue:
                    done.cancel()
            del self._queues[key]

    async def _drain_in_steps(self, key: QueueKey, queue: deque[Entry]) -> None:
        """Read each batch while the one before it is written (perhaps by the last drain);
        write them one at a time, in order."""
        while queue:
            taken = self._take(queue)
            if not taken:
                continue
            try:
                async with self.autocommit() as session:
                    prepared = await key[1].prepare(session, [item for item, _ in taken])
            except BaseException as error:
                self._fail(taken, error)
                continue
            before = self._writes.get(key)
            if before is not None:
                await asyncio.wait([before])  # its failure is its callers', not ours
            write = asyncio.get_running_loop().create_task(
                self._write_prepared(key, taken, prepared)
            )
            self._writes[key] = write
            write.add_done_callback(partial(self._forget_write, key))

    def _forget_write(self, key: QueueKey, write: asyncio.Task) -> None:
        if self._writes.get(key) is write:
            del self._writes[key]

    async def _write_prepared(self, key: QueueKey, taken: list[Entry], prepared: Any) -> None:
        event_id, store = key
        try:
            try:
                async with self.write_alone(event_id) as work:
                    outcomes = await store.finish(work, prepared)
                    work.after_commit(partial(self._settle, taken, outcomes))
            except IntegrityError:
                # A key stored since the batch was read: read it again, in the write turn.
                async with self.write_alone(event_id) as work:
                    outcomes = await store(work, [item for item, _done in taken])
                    work.after_commit(partial(self._settle, taken, outcomes))
        except BaseException as error:
            self._fail(taken, error)

    def _take(self, queue: deque[Entry]) -> list[Entry]:
        """Everything queued so far, up to `max_batch`, but for callers that gave up."""
        taken: list[Entry] = []
        while queue and len(taken) < self.max_batch:
            entry = queue.popleft()
            if not entry[1].done():
                taken.append(entry)
        return taken

    async def _store_queued(self, key: QueueKey, queue: deque[Entry]) -> None:
        """One batch, start to finish in the write turn."""
        event_id, store = key
        taken: list[Entry] = []
        try:
            for attempt in range(2):
                try:
                    async with self.write(event_id) as work:
                        # Taken once our turn has come: everything queued while we waited.
                        taken = taken or self._take(queue)
                        if not taken:
                            return
                        outcomes = await store(work, [item for item, _done in taken])
                        # Answered in the commit's own turn of the loop, right after the
                        # batch's pushes are queued, rather than once this task resumes:
                        # the callers then send their answers while the publisher's cork
                        # holds those pushes, and each client gets both in one write.
                        work.after_commit(partial(self._settle, taken, outcomes))
                    break
                except IntegrityError:
                    # Another process stored the same row meanwhile: the retry reads it.
                    if attempt == 1 or not taken:
                        raise
        except BaseException as error:
            self._fail(taken, error)

    def _fail(self, taken: list[Entry], error: BaseException) -> None:
        for _item, done in taken:
            if done.done():
                continue
            if isinstance(error, Exception):
                done.set_exception(error)
            else:
                done.cancel()
        if not isinstance(error, Exception):
            raise error
        log.warning("a batch of %d queued writes failed: %r", len(taken), error)

    def _settle(self, taken: list[Entry], outcomes: list[Any]) -> None:
        self.stats.queued_batches += 1
        self.stats.queued_items += len(taken)
        for (_item, done), outcome in zip(taken, outcomes, strict=True):
            if done.done():
                continue
            if isinstance(outcome, BaseException):
                done.set_exception(outcome)
            else:
                done.set_result(outcome)
