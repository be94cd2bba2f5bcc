"""Coalesced vote tallies: many votes, a few broadcasts a second."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from server.services.context import Publisher
from server.store import broadcasts
from server.store import questions as question_store
from server.store.database import Database

log = logging.getLogger(__name__)


class VoteTally:
    """Remembers which questions got votes, and pushes their counts every interval."""

    def __init__(self, db: Database, publisher: Publisher, interval_seconds: float) -> None:
        self.db = db
        self.publisher = publisher
        self.interval = interval_seconds
        self._dirty: dict[int, set[int]] = defaultdict(set)

    def mark(self, event_id: int, question_id: int) -> None:
        self._dirty[event_id].add(question_id)

    async def flush(self) -> None:
        """Broadcast the current counts of every question voted on since the last flush."""
        dirty, self._dirty = self._dirty, defaultdict(set)
        for event_id, question_ids in dirty.items():
            async with self.db.write(event_id) as work:
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

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.flush()
            except Exception:  # a failed flush must not stop later ones
                log.exception("vote tally flush failed")
