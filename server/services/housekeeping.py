"""Periodic upkeep: the broadcast log keeps only what reconnecting clients can use."""

from __future__ import annotations

import asyncio
import logging

from server.store import broadcasts
from server.store import events as event_store
from server.store.database import Database

log = logging.getLogger(__name__)
PRUNE_INTERVAL_SECONDS = 60.0


async def prune_broadcast_logs(db: Database, keep: int) -> None:
    """Forget broadcasts older than the last `keep` of each stream; older clients resnapshot."""
    async with db.read() as session:
        event_ids = [event.id for event in await event_store.list_all(session)]
    for event_id in event_ids:
        async with db.write(event_id) as work:
            for stream in broadcasts.STREAMS:
                await broadcasts.prune(work.session, event_id, stream, keep)


async def run(db: Database, keep: int) -> None:
    while True:
        await asyncio.sleep(PRUNE_INTERVAL_SECONDS)
        try:
            await prune_broadcast_logs(db, keep)
        except Exception:  # upkeep failing must not take the server down
            log.exception("pruning the broadcast log failed")
