"""Once-per-deployment work: with several workers, only the leader runs it.

Which background loop runs where (see docs/deployment.md):
- in every worker, because its data lives in that process: the vote tally flush (votes cast
  here), attendance heartbeat batches (heartbeats received here; its timeout sweep is one
  idempotent UPDATE), viewer counting (sockets connected here) and the publisher;
- in the leader only, because N copies would repeat or contradict each other: broadcast-log
  pruning, stream checks with failover (failure counts must add up in one place, and one
  switch must be announced once), and the retention purge.

The leader is the process holding a PostgreSQL advisory lock. The others try again every few
seconds, so when the leader stops or dies another takes over. On SQLite only one process
serves, so it always leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from server.store import advisory

log = logging.getLogger(__name__)
CHECK_SECONDS = 5.0

Job = Callable[[], Awaitable[None]]


class Leadership:
    """Runs `jobs` while this process holds the leader lock; stands by otherwise."""

    def __init__(
        self, database_url: str, jobs: Sequence[Job], check_seconds: float = CHECK_SECONDS
    ) -> None:
        self.jobs = list(jobs)
        self.check_seconds = check_seconds
        self._lock = (
            None
            if database_url.startswith("sqlite")
            else advisory.SessionLock(database_url, advisory.LEADER)
        )
        self.is_leader = False

    async def run(self) -> None:
        if self._lock is None:
            self.is_leader = True
            await _run_all(self.jobs)
            return
        try:
            while True:
                if await self._try_to_lead():
                    await self._lead()
                await asyncio.sleep(self.check_seconds)
        finally:
            await self._lock.dispose()

    async def _try_to_lead(self) -> bool:
        try:
            return await self._lock.try_acquire()
        except Exception:  # the database is away: try again later
            log.warning("cannot reach the database to ask for leadership", exc_info=True)
            return False

    async def _lead(self) -> None:
        log.info("this process leads: it runs the once-per-deployment jobs")
        self.is_leader = True
        jobs = asyncio.create_task(_run_all(self.jobs))
        try:
            while True:
                await asyncio.sleep(self.check_seconds)
                if not await self._lock.still_held():
                    log.warning("lost leadership; standing by")
                    return
        finally:
            self.is_leader = False
            jobs.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await jobs
            await self._lock.release()


async def _run_all(jobs: Sequence[Job]) -> None:
    tasks = [asyncio.create_task(job()) for job in jobs]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
