"""PostgreSQL plans a prepared statement's generic plan once, while the tables may be small
(a fresh database's first batches), and keeps it as they grow until they are next analysed:
the submission and vote batches' statements must find each row through its index in a plan
made then, not read whole tables that grow by thousands of rows a second.

A table analysed at a page or two still gets plans that read it whole, as a plan for that
size should; autovacuum analyses it again once 50 rows and a tenth more have changed, and
the plans are made anew."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from server.store import batches, migrate
from server.store import questions as question_store

KEYS = 30


def plan_nodes(node: dict) -> Iterator[dict]:
    yield node
    for child in node.get("Plans", ()):
        yield from plan_nodes(child)


async def generic_plan(
    connection: AsyncConnection, name: str, statement, literals: dict[str, str]
) -> dict:
    """The plan PostgreSQL keeps for `statement` (prepared as asyncpg prepares it), given
    each parameter as an SQL literal."""
    compiled = statement.compile(dialect=connection.dialect)
    await connection.exec_driver_sql(f"PREPARE {name} AS {compiled}")
    args = ", ".join(literals[parameter] for parameter in compiled.positiontup)
    explained = await connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) EXECUTE {name}({args})")
    document = explained.scalar_one()
    return (json.loads(document) if isinstance(document, str) else document)[0]["Plan"]


def array_literal(items: Iterable[str]) -> str:
    return "'{" + ",".join(items) + "}'"


def tables_read(plan: dict) -> dict[str, set[str]]:
    """Each table the plan scans, and how: through an index (its name), or by a scan of
    another kind ("Seq Scan": the whole table; "Tid Scan": rows already found)."""
    reads: dict[str, set[str]] = {}
    for node in plan_nodes(plan):
        table = node.get("Relation Name")
        if table is not None and node["Node Type"].endswith("Scan"):
            reads.setdefault(table, set()).add(node.get("Index Name", node["Node Type"]))
    return reads


async def insert_event_and_viewers(connection: AsyncConnection) -> None:
    await connection.exec_driver_sql(
        "INSERT INTO events (slug, title, description, timezone, auto_approve, allow_anonymous,"
        " max_question_length, public_seq, staff_seq, created_at)"
        " VALUES ('plans', 'Plans', '', 'UTC', false, true, 300, 0, 0, now())"
    )
    await connection.exec_driver_sql(
        "INSERT INTO viewers (event_id, display_name, channel, blocked, created_at)"
        " SELECT 1, 'Viewer ' || n, 'remote', false, now() FROM generate_series(1, 2000) AS n"
    )


async def insert_questions(connection: AsyncConnection, count: int) -> None:
    await connection.exec_driver_sql(
        "INSERT INTO questions (event_id, viewer_id, client_id, channel, author_name, text,"
        " original_text, state, flags, starred, votes, version, created_at, updated_at)"
        " SELECT 1, 1 + n % 2000, 'stored-' || n, 'remote', 'Viewer', 'Why?', 'Why?',"
        " 'pending', '[]', false, 0, 1, now(), now()"
        f" FROM generate_series(1, {count}) AS n"
    )


@pytest.fixture
async def small_tables(database_url: str) -> AsyncIterator[AsyncConnection]:
    """A connection to a database whose tables were never analysed and hold a few rows, on
    which every statement prepared gets its generic plan at once."""
    await migrate.upgrade(database_url)
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            await insert_event_and_viewers(connection)
            await insert_questions(connection, 20)
            await connection.exec_driver_sql(
                "INSERT INTO votes SELECT n, n, now() FROM generate_series(1, 20) AS n"
            )
            await connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            yield connection
            await connection.rollback()
    finally:
        await engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_batch_reads_probe_indexes_in_plans_made_while_tables_were_small(
    small_tables: AsyncConnection,
):
    viewer_ids = array_literal(str(1 + n * 61 % 2000) for n in range(KEYS))
    client_ids = array_literal(f"client-{n}" for n in range(KEYS))
    context = await generic_plan(
        small_tables,
        "context",
        batches._CONTEXT,
        {
            "key_viewer_ids": viewer_ids,
            "key_client_ids": client_ids,
            "viewer_ids": viewer_ids,
            "count": str(KEYS),
        },
    )
    keys = [{"viewer_id": 1 + n, "client_id": f"stored-{n}"} for n in range(KEYS)]
    existing = await generic_plan(
        small_tables, "existing", batches._EXISTING, {"keys": f"'{json.dumps(keys)}'"}
    )

    assert tables_read(context) == {
        "questions": {"uq_question_client_id"},
        "viewers": {"viewers_pkey"},
    }
    assert tables_read(existing) == {"questions": {"uq_question_client_id"}}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_vote_batches_probe_the_primary_key_in_plans_made_while_tables_were_small(
    small_tables: AsyncConnection,
):
    ids = array_literal(str(1 + n) for n in range(KEYS))
    pairs = {"question_ids": ids, "viewer_ids": ids}
    removed = await generic_plan(small_tables, "remove_votes", question_store._REMOVE_VOTES, pairs)
    added = await generic_plan(
        small_tables, "add_votes", question_store._ADD_VOTES, pairs | {"now": "now()"}
    )
    targets = await generic_plan(
        small_tables, "vote_targets", question_store._VOTE_TARGETS, {"ids": ids}
    )

    # The delete finds each row by the primary key, then deletes it by its ctid.
    assert tables_read(removed) == {"votes": {"votes_pkey", "Tid Scan"}}
    assert tables_read(added) == {}  # conflicts are found by the insert, in the primary key
    assert tables_read(targets) == {"questions": {"questions_pkey"}}
