"""The write path: committed means stored, failed means nothing stored and nothing published."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from server.store import events as event_store
from server.store.database import Database
from server.store.models import EventRow
from tests.integration import factories


class Boom(Exception):
    pass


async def test_a_committed_write_survives_closing_and_reopening_the_database(db: Database):
    async with db.write() as work:
        event = await factories.event(work.session, title="Kept")
    await db.dispose()

    reopened = Database(db.url)
    try:
        async with reopened.read() as session:
            assert (await event_store.by_id(session, event.id)).title == "Kept"
    finally:
        await reopened.dispose()


async def test_a_failed_write_stores_nothing_and_runs_no_after_commit_callbacks(db: Database):
    async with db.write() as work:
        event = await factories.event(work.session)
    published: list[str] = []

    with pytest.raises(Boom):
        async with db.write(event.id) as work:
            await factories.event(work.session, slug="never")
            work.after_commit(lambda: published.append("never"))
            raise Boom

    assert published == []
    async with db.read() as session:
        assert (await session.execute(select(func.count()).select_from(EventRow))).scalar() == 1


async def test_a_failed_write_releases_the_write_lock(db: Database):
    async with db.write() as work:
        event = await factories.event(work.session)

    with pytest.raises(Boom):
        async with db.write(event.id):
            raise Boom

    async def rename() -> None:
        async with db.write(event.id) as work:
            (await event_store.by_id(work.session, event.id)).title = "Renamed"

    await asyncio.wait_for(rename(), timeout=5)
    async with db.read() as session:
        assert (await event_store.by_id(session, event.id)).title == "Renamed"
