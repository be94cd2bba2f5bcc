"""PostgreSQL's pooled connections: pinged on checkout only after lying idle, and a dead one
found by the ping is replaced before anyone uses it."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import event, text

from server.store import idle_ping
from server.store.database import Database


@pytest.fixture
def postgresql(db: Database) -> Database:
    if db.is_sqlite:
        pytest.skip("SQLite's connections are files opened in-process: nothing to ping")
    return db


@pytest.fixture
def queries(postgresql: Database) -> list[str]:
    """The text of each query asyncpg sends outside prepared statements on the pool's
    connections: transaction control, and the ping's empty query."""
    seen: list[str] = []

    def log_queries(dbapi_connection, _record) -> None:
        dbapi_connection.driver_connection.add_query_logger(
            lambda record: seen.append(record.query)
        )

    event.listen(postgresql.engine.sync_engine.pool, "connect", log_queries)
    return seen


async def backend_pid(db: Database) -> int:
    async with db.read() as session:
        return (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()


async def test_a_connection_used_a_moment_ago_is_handed_out_again_without_a_ping(
    postgresql: Database, queries: list[str]
):
    first = await backend_pid(postgresql)
    queries.clear()

    again = await backend_pid(postgresql)

    assert again == first  # last in, first out
    assert queries == ["BEGIN;", "ROLLBACK;"]  # the read's own transaction, no ping


async def test_an_idle_connection_is_pinged_before_it_is_handed_out(
    postgresql: Database, queries: list[str], monkeypatch: pytest.MonkeyPatch
):
    first = await backend_pid(postgresql)
    monkeypatch.setattr(idle_ping, "PING_AFTER_IDLE_S", 0.0)
    queries.clear()

    again = await backend_pid(postgresql)

    assert again == first
    assert queries == ["BEGIN;", ";", "ROLLBACK;", "BEGIN;", "ROLLBACK;"]  # ping, then read


async def test_an_idle_connection_cut_by_the_server_is_replaced_unseen(
    postgresql: Database, monkeypatch: pytest.MonkeyPatch
):
    cut = await backend_pid(postgresql)
    admin = await asyncpg.connect(postgresql.url.replace("postgresql+asyncpg", "postgresql"))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", cut)
    finally:
        await admin.close()
    monkeypatch.setattr(idle_ping, "PING_AFTER_IDLE_S", 0.0)

    replacement = await backend_pid(postgresql)

    assert replacement != cut
