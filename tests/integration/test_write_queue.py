"""Queued writes: what is queued meanwhile is stored as one batch, and its callers are
answered before the next batch is stored."""

from __future__ import annotations

import asyncio
from typing import Any

from server.store.database import Database, UnitOfWork
from tests.integration import factories


async def test_callers_answered_by_a_batch_resume_before_the_next_batch_is_stored(
    db: Database,
):
    async with db.write() as work:
        event = await factories.event(work.session)
    order: list[str] = []
    first_batch_stored = asyncio.Event()
    more_queued = asyncio.Event()

    async def store(work: UnitOfWork, items: list[str]) -> list[Any]:
        await factories.viewer(work.session, event, display_name="+".join(items))
        order.append(f"stored {'+'.join(items)}")
        if not first_batch_stored.is_set():
            first_batch_stored.set()
            await more_queued.wait()  # the next items queue while this batch is open
        return [f"answer {item}" for item in items]

    async def caller(item: str) -> None:
        answer = await db.write_queued(event.id, store, item)
        order.append(answer)

    first = asyncio.create_task(caller("a"))
    await first_batch_stored.wait()
    later = [asyncio.create_task(caller(item)) for item in ("b", "c")]
    await asyncio.sleep(0)  # b and c are queued
    more_queued.set()
    await asyncio.wait_for(asyncio.gather(first, *later), timeout=5)

    # Each batch's callers have their answers before the next batch's statements run (on
    # SQLite they run inline, without yielding, for as long as the batch takes).
    assert order == ["stored a", "answer a", "stored b+c", "answer b", "answer c"]
