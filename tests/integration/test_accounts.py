"""Staff login sessions expire at the stored instant on either database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.store import accounts
from server.store.database import Database
from tests.integration import factories


async def test_a_staff_session_is_found_until_it_expires(db: Database):
    now = datetime.now(UTC)
    async with db.write() as work:
        user = await factories.staff_user(work.session)
        live = await factories.staff_session(work.session, user, now + timedelta(minutes=5))
        expired = await factories.staff_session(work.session, user, now - timedelta(seconds=1))

    async with db.read() as session:
        assert (await accounts.staff_session(session, live.token_hash)).user_id == user.id
        assert await accounts.staff_session(session, expired.token_hash) is None
        assert await accounts.staff_session(session, "unknown") is None


async def test_logging_out_deletes_only_that_session(db: Database):
    in_an_hour = datetime.now(UTC) + timedelta(hours=1)
    async with db.write() as work:
        user = await factories.staff_user(work.session)
        leaving = await factories.staff_session(work.session, user, in_an_hour)
        staying = await factories.staff_session(work.session, user, in_an_hour)

    async with db.write() as work:
        await accounts.delete_staff_session(work.session, leaving.token_hash)

    async with db.read() as session:
        assert await accounts.staff_session(session, leaving.token_hash) is None
        assert await accounts.staff_session(session, staying.token_hash) is not None
