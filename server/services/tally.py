"""Coalesced vote tallies: many votes, a few broadcasts a second."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable

from server.services.context import Publisher
from server.store import broadcasts
from server.store import questions as question_store
from server.store.database import Database

log = logging.getLogger(__name__)


# Each push of vote counts is a delivery to every viewer watching. Past this many deliveries
# a second at the configured interval, pushes come less often (every second at 10,000
# viewers, every half second at 5,000), so that they take a small, fixed share of the
# server however large the audience (about a tenth of a core at 10 µs a delivery).
VOTE_DELIVERIES_PER_SECOND = 10_000


class VoteTally:
    """Remembers which questions got votes, and pushes their counts every interval (longer
    for a large audience: see VOTE_DELIVERIES_PER_SECOND)."""

    def __init__(
        self,
        db: Database,
        publisher: Publisher,
        interval_seconds: float,
        audience: Callable[[], int] = lambda: 0,
    ) -> None:
        self.db = db
        self.publisher = publisher
        self.interval = interval_seconds
        self.audience = audience  # clients connected to this process
        self._dirty: dict[int, set[int]] = defaultdict(set)
        # One flush at a time: a flush returns only once every mark made before it was
        # counted and published, even those that an earlier flush, still running, had taken.
        self._flushing = asyncio.Lock()

    def mark(self, event_id: int, question_id: int) -> None:
        self._dirty[event_id].add(question_id)

    async def flush(self) -> None:
        """Broadcast the current counts of every question voted on since the last flush."""
        async with self._flushing:
            dirty, self._dirty = self._dirty, defaultdict(set)
            done: set[int] = set()
            try:
                for event_id, question_ids in dirty.items():
                    await self._flush_event(event_id, question_ids)
                    done.add(event_id)
            except BaseException:
                # Not published (a failed write, or cancelled at shutdown): marked again, so
                # the next flush counts them.
                for event_id, question_ids in dirty.items():
                    if event_id not in done:
                        self._dirty[event_id] |= question_ids
                raise

    async def _flush_event(self, event_id: int, question_ids: set[int]) -> None:
        async with self.db.write(event_id) as work:
            # Counted under the lock that numbers the broadcast: a count read earlier by
            # another worker can then never be numbered after this one.
            await broadcasts.hold_sequence(work.session, event_id)
            counts = await question_store.vote_counts(work.session, sorted(question_ids))
            payload = {
                "type": "votes",
                "votes": [{"id": qid, "votes": n} for qid, n in sorted(counts.items())],
            }
            numbered = {
                stream: await broadcasts.append(work.session, event_id, stream, [payload])
                for stream in broadcasts.STREAMS
            }

            def publish(numbered=numbered, event_id=event_id) -> None:
                for stream, entries in numbered.items():
                    self.publisher.publish(event_id, stream, entries)

            work.after_commit(publish)

    def pause(self) -> float:
        """Seconds until the next push."""
        return max(self.interval, self.audience() / VOTE_DELIVERIES_PER_SECOND)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.pause())
            try:
                await self.flush()
            except Exception:  # a failed flush must not stop later ones
                log.exception("vote tally flush failed")
