"""Submissions and votes stored a batch at a time: many callers, one transaction, each caller
answered (or refused alone) only after the commit, nothing half-stored when a batch fails."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import func, select, text

from server.domain.errors import Forbidden, InvalidInput, NotFound, ViewerBlocked
from server.services import asking, catalog, moderation, sync, views
from server.services.context import Actor, Services
from server.store.broadcasts import STREAMS
from server.store.database import Database
from server.store.models import AuditRow, BroadcastRow, QuestionRow, VoteRow
from tests.conftest import podium_with
from tests.support.clients import EVENT, Podium

QUIET = {"stream_check_seconds": 600, "heartbeat_flush_seconds": 300, "purge_check_minutes": 1440}
STAFF = Actor(kind="staff", id=None, name="Test moderator", role="moderator")


LIMITS = {"question_rate_per_minute": 600, "vote_rate_per_minute": 6000}


@pytest.fixture
async def podium(database_url: str, tmp_path: Path):
    async with podium_with(database_url, tmp_path, **QUIET, **LIMITS) as client:
        yield client


async def viewers(s: Services, event, count: int, name: str | None = "Viewer") -> list[Actor]:
    joined = [await asking.join(s, event, name and f"{name} {n}", "remote") for n in range(count)]
    return [
        Actor(kind="viewer", id=j["viewer"]["id"], name="viewer", role="viewer", event_id=event.id)
        for j in joined
    ]


async def ask(s: Services, actor: Actor, event, client_id: str | None = None, **extra) -> Any:
    fields = {"session_id": None, "anonymous": False} | extra
    question = fields.pop("text", "What will this cost?")
    client = client_id or uuid.uuid4().hex
    return await asking.submit(s, actor, event, client, question, **fields)


async def outcomes(*calls) -> list[Any]:
    """Start every call together (they queue for the same batch); results or errors."""
    return list(await asyncio.gather(*calls, return_exceptions=True))


async def count(db: Database, model, *where) -> int:
    async with db.read() as session:
        query = select(func.count()).select_from(model).where(*where)
        return (await session.execute(query)).scalar_one()


async def staff_log(db: Database, event_id: int) -> list[tuple[int, dict]]:
    async with db.read() as session:
        query = (
            select(BroadcastRow.seq, BroadcastRow.payload)
            .where(BroadcastRow.event_id == event_id, BroadcastRow.stream == "staff")
            .order_by(BroadcastRow.seq)
        )
        return [tuple(row) for row in (await session.execute(query)).all()]


async def log_entries(db: Database, event_id: int, stream: str) -> list[dict]:
    """A stream's stored payloads, in order, as the ORM reads them."""
    async with db.read() as session:
        query = (
            select(BroadcastRow.payload)
            .where(BroadcastRow.event_id == event_id, BroadcastRow.stream == stream)
            .order_by(BroadcastRow.seq)
        )
        return list((await session.execute(query)).scalars())


async def stored_text(db: Database, table: str, column: str, where: str, params: dict) -> str:
    """A column of one row as the database holds it, as text (no type of SQLAlchemy's)."""
    async with db.read() as session:
        query = text(f"SELECT CAST({column} AS TEXT) FROM {table} WHERE {where}")
        return (await session.execute(query, params)).scalar_one()


async def test_concurrent_submissions_share_few_commits_each_acknowledged_once_durable(
    podium: Podium,
):
    s = podium.services
    event = await catalog.event_by_slug(s, EVENT)
    authors = await viewers(s, event, 60)
    before = s.db.stats.queued_batches, s.db.stats.batches

    async def submit_then_read(actor: Actor) -> int:
        answer = await ask(s, actor, event)
        # Acknowledged: a separate connection already sees it.
        assert await count(s.db, QuestionRow, QuestionRow.id == answer["id"]) == 1
        return answer["id"]

    ids = await outcomes(*(submit_then_read(a) for a in authors))

    assert all(isinstance(i, int) for i in ids), ids
    assert len(set(ids)) == 60
    assert s.db.stats.queued_batches - before[0] <= 3
    assert s.db.stats.batches - before[1] <= 3
    log = await staff_log(s.db, event.id)
    seqs = [seq for seq, _ in log]
    assert seqs == list(range(1, len(log) + 1))  # contiguous
    logged = [p["question"]["id"] for _, p in log if p["type"] == "question"]
    assert logged == sorted(ids)  # numbered in the order the questions were stored
    audit = await count(s.db, AuditRow, AuditRow.action == "QuestionSubmitted")
    assert audit == 60


async def test_on_postgresql_a_batch_of_any_size_is_the_same_two_statements(podium: Podium):
    """One read (authors, used client ids, new ids) and one write (numbering, questions,
    audit rows, broadcasts), each with one text whatever the batch's size: prepared once;
    and outside a transaction block (the write is atomic alone): no BEGIN, no COMMIT."""
    s = podium.services
    if s.db.is_sqlite:
        pytest.skip("SQLite's batch is a statement per table; a local file has no round trip")
    event = await catalog.event_by_slug(s, EVENT)
    authors = await viewers(s, event, 40)
    statements: list[str] = []
    transaction_control: list[str] = []
    logged: set[int] = set()

    def record(_conn, _cursor, statement, _params, _context, _many) -> None:
        statements.append(statement)

    def log_transaction_control(dbapi_connection, _record, _proxy) -> None:
        # asyncpg's query logger sees what it sends outside prepared statements: BEGIN,
        # COMMIT and ROLLBACK among them (and its own first look at a type or setting).
        if id(dbapi_connection) not in logged:
            logged.add(id(dbapi_connection))
            dbapi_connection.driver_connection.add_query_logger(
                lambda record: transaction_control.append(record.query.strip().split()[0])
            )

    for engine in s.db.engines:
        sqlalchemy_event.listen(engine.sync_engine, "before_cursor_execute", record)
        sqlalchemy_event.listen(engine.sync_engine.pool, "checkout", log_transaction_control)
    try:
        texts = []
        for size in (3, 40):
            statements.clear()
            answers = await outcomes(*(ask(s, a, event) for a in authors[:size]))
            assert all(isinstance(a, dict) for a in answers), answers
            texts.append(list(statements))
    finally:
        for engine in s.db.engines:
            sqlalchemy_event.remove(engine.sync_engine, "before_cursor_execute", record)
            sqlalchemy_event.remove(engine.sync_engine.pool, "checkout", log_transaction_control)

    assert len(texts[0]) == 2, texts[0]
    assert texts[0] == texts[1]
    assert logged  # the batches' connections were watched...
    assert not {"BEGIN", "BEGIN;", "COMMIT", "COMMIT;"} & set(transaction_control), (
        transaction_control  # ...and sent no BEGIN and no COMMIT
    )
    assert await count(s.db, QuestionRow, QuestionRow.event_id == event.id) == 43
    assert await count(s.db, AuditRow, AuditRow.action == "QuestionSubmitted") == 43
    seqs = [seq for seq, _ in await staff_log(s.db, event.id)]
    assert seqs == list(range(1, len(seqs) + 1))


async def test_on_sqlite_batches_of_any_size_run_the_same_statements(
    database_url: str, tmp_path: Path
):
    """What SQLAlchemy runs for a batch of submissions (BEGIN, authors, earlier questions,
    numbering) or of votes has one text whatever the batch's size, its rows as one JSON
    parameter, never an executemany; the new rows (questions, audit rows, broadcasts) go to
    sqlite3 as one prepared statement per table, run once per row in C."""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's batch is two statements: see the test above")
    # No vote tally flush (a write of its own) among the statements recorded.
    quiet_tally = {"vote_broadcast_interval_ms": 5000}
    async with podium_with(database_url, tmp_path, **QUIET, **LIMITS, **quiet_tally) as podium:
        asked, voted, inserted, counts = await _batch_statements(podium.services)

    for small, large in (asked, voted):
        assert small == large
        assert not any(many for _statement, many in small), small
    assert len(asked[0]) == 4, asked[0]  # BEGIN, 2 reads, numbering
    # Straight to sqlite3: a question, its audit row and its staff log entry each, for each
    # question of the batch (3, then 40), and nothing more.
    assert inserted == [
        {"questions": size, "audit_log": size, "broadcasts": size} for size in (3, 40)
    ]
    assert counts == (44, 40)


async def _batch_statements(s: Services) -> tuple[list, list, list, tuple[int, int]]:
    """The statements SQLAlchemy runs for a batch of 3 and of 40 submissions, then of votes
    (each statement and whether it was an executemany); for each batch of submissions, the
    rows inserted straight through sqlite3, by table; how many questions and votes there
    are then."""
    event = await catalog.event_by_slug(s, EVENT)
    author, *others = await viewers(s, event, 41)
    question = await approved_question(s, author, event)
    statements: list[tuple[str, bool]] = []
    raw: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, many) -> None:
        statements.append((statement, many))

    def trace(connection, *_args) -> None:
        connection.driver_connection._conn.set_trace_callback(raw.append)

    def untrace(connection, *_args) -> None:
        connection.driver_connection._conn.set_trace_callback(None)

    async def recorded(calls) -> list[tuple[str, bool]]:
        statements.clear()
        raw.clear()
        results = await outcomes(*calls)
        assert all(isinstance(r, dict) for r in results), results
        return list(statements)

    def inserts() -> dict[str, int]:
        tables = [sql.split("INSERT INTO ", 1)[1].split()[0] for sql in raw if "INSERT INTO" in sql]
        return {table: tables.count(table) for table in sorted(set(tables))}

    engine = s.db.write_engine.sync_engine
    sqlalchemy_event.listen(engine, "before_cursor_execute", record)
    sqlalchemy_event.listen(engine.pool, "checkout", trace)
    sqlalchemy_event.listen(engine.pool, "checkin", untrace)
    try:
        asked, inserted = [], []
        for size in (3, 40):
            asked.append(await recorded(ask(s, a, event) for a in others[:size]))
            inserted.append(inserts())
        voted = [
            await recorded(asking.vote(s, a, event, question, True) for a in others[:size])
            for size in (3, 40)
        ]
    finally:
        sqlalchemy_event.remove(engine, "before_cursor_execute", record)
        sqlalchemy_event.remove(engine.pool, "checkout", trace)
        sqlalchemy_event.remove(engine.pool, "checkin", untrace)
    counts = (
        await count(s.db, QuestionRow, QuestionRow.event_id == event.id),
        await count(s.db, VoteRow, VoteRow.question_id == question),
    )
    return asked, voted, inserted, counts


async def test_a_batch_stores_what_the_orm_would_and_logs_the_views_of_what_it_stored(
    podium: Podium,
):
    """Timestamps stored by the batch's statements are stored exactly as the ORM stores the
    same moment; flags, audit rows and each stream's payloads read back (through the ORM) as
    the views of the questions read back."""
    s = podium.services
    event = await catalog.event_by_slug(s, EVENT)
    await catalog.update_event(s, STAFF, event, {"auto_approve": True})
    event = await catalog.event_by_slug(s, EVENT)
    authors = await viewers(s, event, 3)
    texts = [
        "Mail me at jo@example.com: « ça coûte combien » ? 😀",
        'Say "why" \\ \n twice',
        "Why?",
    ]
    before = {stream: len(await log_entries(s.db, event.id, stream)) for stream in STREAMS}

    answers = await outcomes(
        *(ask(s, a, event, text=t) for a, t in zip(authors, texts, strict=True))
    )

    ids = [answer["id"] for answer in answers]
    async with s.db.read() as session:
        rows = [await session.get(QuestionRow, id_) for id_ in ids]
        audit_query = select(AuditRow).where(AuditRow.question_id.in_(ids)).order_by(AuditRow.id)
        audits = (await session.execute(audit_query)).scalars().all()
    assert [row.text for row in rows] == texts
    assert [row.flags for row in rows] == [["email"], [], []]
    assert [row.state for row in rows] == ["pending", "approved", "approved"]
    assert answers == [{**views.author_question(row), "duplicate": False} for row in rows]
    logged = {
        stream: (await log_entries(s.db, event.id, stream))[before[stream] :] for stream in STREAMS
    }
    approved = ["QuestionSubmitted", "QuestionApproved"]
    assert [entry.pop("seq") for entry in logged["staff"]] == [
        before["staff"] + n for n in (1, 2, 3)
    ]
    assert logged["staff"] == [
        {"type": "question", "causes": causes, "question": views.staff_question(row)}
        for row, causes in zip(rows, [["QuestionSubmitted"], approved, approved], strict=True)
    ]
    assert [entry.pop("seq") for entry in logged["public"]] == [
        before["public"] + n for n in (1, 2)
    ]
    assert logged["public"] == [
        {"type": "question", "causes": approved, "question": views.public_question(row)}
        for row in rows[1:]
    ]
    submitted = {(a.question_id, a.actor_id) for a in audits if a.action == "QuestionSubmitted"}
    assert submitted == {(row.id, author.id) for row, author in zip(rows, authors, strict=True)}
    approvals = [(a.question_id, a.actor_kind) for a in audits if a.action == "QuestionApproved"]
    assert approvals == [(rows[1].id, "system"), (rows[2].id, "system")]
    assert all(a.reason is None and a.details == {} for a in audits)

    # The same moment stored through the ORM is stored as the same text.
    moment = datetime.fromisoformat(answers[0]["created_at"])
    async with s.db.write(event.id) as work:
        copy = QuestionRow(
            **{c.key: getattr(rows[0], c.key) for c in QuestionRow.__table__.c if c.key != "id"}
            | {"client_id": "orm-copy", "created_at": moment, "updated_at": moment}
        )
        work.session.add(copy)
        await work.session.flush()
        work.session.add(
            AuditRow(
                event_id=event.id,
                question_id=copy.id,
                actor_kind="system",
                actor_name="Podium",
                action="Copied",
                created_at=moment,
            )
        )
        payload = {"seq": 10**6, "type": "copy"}
        work.session.add(
            BroadcastRow(
                event_id=event.id, stream="staff", seq=10**6, payload=payload, created_at=moment
            )
        )
    written = {  # by the batch, and by the ORM
        "questions": [("id = :id", {"id": rows[0].id}), ("id = :id", {"id": copy.id})],
        "audit_log": [
            ("question_id = :id", {"id": rows[0].id}),
            ("question_id = :id", {"id": copy.id}),
        ],
        "broadcasts": [
            ("stream = 'staff' AND seq = :seq", {"seq": before["staff"] + 1}),
            ("stream = 'staff' AND seq = :seq", {"seq": 10**6}),
        ],
    }
    times = set()
    for table, ((batch, batch_key), (orm, orm_key)) in written.items():
        for column in ("created_at", "updated_at") if table == "questions" else ("created_at",):
            by_batch = await stored_text(s.db, table, column, batch, batch_key)
            assert by_batch == await stored_text(s.db, table, column, orm, orm_key), table
            times.add(by_batch)
    assert len(times) == 1, times


async def test_a_client_id_repeated_within_and_across_batches_stores_one_question(
    podium: Podium,
):
    s = podium.services
    event = await catalog.event_by_slug(s, EVENT)
    (alice, bob) = await viewers(s, event, 2)

    together = await outcomes(
        ask(s, alice, event, "same"), ask(s, alice, event, "same"), ask(s, bob, event, "same")
    )
    later = await ask(s, alice, event, "same", text="A different wording")

    first, second, bobs = together
    assert first["duplicate"] is False and bobs["duplicate"] is False
    assert second == {**first, "duplicate": True}
    assert later == {**first, "duplicate": True}
    assert bobs["id"] != first["id"]
    assert await count(s.db, QuestionRow, QuestionRow.client_id == "same") == 2


async def test_a_client_id_used_by_one_viewer_is_new_for_another_in_the_same_batch(
    podium: Podium,
):
    s = podium.services
    event = await catalog.event_by_slug(s, EVENT)
    (alice, bob) = await viewers(s, event, 2)
    earlier = await ask(s, alice, event, "alices")

    bobs, alices_again, alices_new = await outcomes(
        ask(s, bob, event, "alices"), ask(s, alice, event, "alices"), ask(s, alice, event, "new")
    )

    assert bobs["duplicate"] is False and bobs["id"] != earlier["id"]
    assert alices_again == {**earlier, "duplicate": True}
    assert alices_new["duplicate"] is False
    assert await count(s.db, QuestionRow, QuestionRow.client_id == "alices") == 2


async def test_an_invalid_submission_fails_alone_with_its_usual_error(podium: Podium):
    s = podium.services
    event = await catalog.event_by_slug(s, EVENT)
    fine, blocked, nameless = [*await viewers(s, event, 2), *await viewers(s, event, 1, None)]
    await moderation.set_viewer_blocked(s, STAFF, event, blocked.id, True)
    other = await catalog.create_event(s, Actor.system(), {"slug": "other", "title": "Other"})
    other_event = await catalog.event_by_slug(s, "other")
    foreign_session = (
        await catalog.add_session(
            s,
            Actor.system(),
            other_event,
            {
                "title": "Elsewhere",
                "kind": "panel",
                "starts_at": datetime(2026, 11, 21, 9, tzinfo=UTC),
                "ends_at": datetime(2026, 11, 21, 10, tzinfo=UTC),
            },
        )
    )["id"]
    assert other["id"] != event.id
    before = s.db.stats.queued_batches

    results = await outcomes(
        ask(s, fine, event),
        ask(s, blocked, event),
        ask(s, fine, event, session_id=foreign_session),
        ask(s, nameless, event),
        ask(s, nameless, event, anonymous=True),
        ask(s, fine, event, session_id=podium.sessions["Panel"]),
    )

    assert s.db.stats.queued_batches - before == 1  # all in one batch
    assert isinstance(results[0], dict) and isinstance(results[5], dict)
    assert results[5]["session_id"] == podium.sessions["Panel"]
    assert isinstance(results[1], ViewerBlocked)
    assert isinstance(results[2], NotFound)
    assert str(results[2]) == f"agenda session {foreign_session} does not exist in this event"
    assert isinstance(results[3], InvalidInput)
    assert results[3].fields == {"anonymous": "a display name is needed to ask with your name"}
    assert results[4]["author"] is None
    assert await count(s.db, QuestionRow, QuestionRow.event_id == event.id) == 3


async def test_a_database_error_fails_the_whole_batch_and_stores_none_of_it(
    podium: Podium, database_url: str
):
    s = podium.services
    event = await catalog.event_by_slug(s, EVENT)
    authors = await viewers(s, event, 5)
    await _refuse_text_in_the_database(s.db, "refused by the database")
    seq_before = len(await staff_log(s.db, event.id))

    results = await outcomes(
        *(ask(s, a, event) for a in authors[:4]),
        ask(s, authors[4], event, text="refused by the database"),
    )

    assert all(isinstance(r, Exception) for r in results), results
    assert not any(isinstance(r, InvalidInput | NotFound) for r in results)
    assert await count(s.db, QuestionRow, QuestionRow.event_id == event.id) == 0
    assert await count(s.db, AuditRow, AuditRow.question_id.is_not(None)) == 0
    assert len(await staff_log(s.db, event.id)) == seq_before
    retried = await outcomes(*(ask(s, a, event) for a in authors[:4]))
    assert all(isinstance(r, dict) for r in retried), retried
    assert [p["seq"] for p in [entry for _, entry in await staff_log(s.db, event.id)]] == list(
        range(1, seq_before + 5)
    )


async def _refuse_text_in_the_database(db: Database, refused: str) -> None:
    """A trigger that makes the database itself refuse one text: a failure no check foresees."""
    async with db.engine.begin() as connection:
        if db.is_sqlite:
            await connection.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON questions "
                    f"WHEN NEW.text = '{refused}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
        else:
            await connection.execute(
                text(
                    "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                    f"IF NEW.text = '{refused}' THEN RAISE EXCEPTION 'refused'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            await connection.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON questions "
                    "FOR EACH ROW EXECUTE FUNCTION refuse()"
                )
            )


async def test_every_acknowledged_question_is_there_after_the_app_stops(
    database_url: str, tmp_path: Path
):
    async with podium_with(database_url, tmp_path, question_rate_per_minute=600) as podium:
        s = podium.services
        event = await catalog.event_by_slug(s, EVENT)
        authors = await viewers(s, event, 40)
        answers = await outcomes(*(ask(s, a, event) for a in authors))
        event_id = event.id

    reopened = Database(database_url)
    try:
        async with reopened.read() as session:
            query = select(QuestionRow.id).where(QuestionRow.event_id == event_id)
            stored = set((await session.execute(query)).scalars())
    finally:
        await reopened.dispose()
    assert {a["id"] for a in answers} <= stored


async def test_memory_of_each_author_matches_the_database_after_a_batch(podium: Podium):
    s = podium.services
    event = await catalog.event_by_slug(s, EVENT)
    authors = await viewers(s, event, 8)
    for actor in authors:  # their state is now held in memory
        await s.live.viewer_sync(actor.id, event, None)
    loads = s.live.loads

    await outcomes(*(ask(s, a, event) for a in authors), *(ask(s, a, event) for a in authors))
    await s.publisher.drain()

    assert s.live.loads == loads
    for actor in authors:
        memory = await s.live.viewer_sync(actor.id, event, None)
        fresh = await sync.viewer_sync_from_database(s, actor, event, None)
        assert len(memory["mine"]) == 2
        assert memory == fresh


# -- votes ------------------------------------------------------------------------------


async def approved_question(s: Services, author: Actor, event) -> int:
    question = await ask(s, author, event)
    await moderation.approve(s, STAFF, event, question["id"])
    return question["id"]


async def test_identical_concurrent_votes_count_once(podium: Podium):
    s = podium.services
    event = await catalog.event_by_slug(s, EVENT)
    author, fan = await viewers(s, event, 2)
    question = await approved_question(s, author, event)

    results = await outcomes(*(asking.vote(s, fan, event, question, True) for _ in range(20)))

    assert sum(r["changed"] for r in results) == 1
    assert {r["votes"] for r in results} == {1}
    assert await count(s.db, QuestionRow, QuestionRow.id == question, QuestionRow.votes == 1) == 1


async def test_a_batch_of_votes_applies_each_viewers_votes_in_order(podium: Podium):
    s = podium.services
    event = await catalog.event_by_slug(s, EVENT)
    author, *fans = await viewers(s, event, 6)
    question = await approved_question(s, author, event)
    await asking.vote(s, fans[0], event, question, True)
    before = s.db.stats.queued_batches

    results = await outcomes(
        *(asking.vote(s, fan, event, question, True) for fan in fans[1:]),  # 4 new votes
        asking.vote(s, fans[0], event, question, False),  # taken back ...
        asking.vote(s, fans[0], event, question, True),  # ... and given again
        asking.vote(s, fans[1], event, question, False),  # the new vote, taken back
    )

    assert s.db.stats.queued_batches - before == 1
    assert [r["changed"] for r in results] == [True] * 7
    assert {r["votes"] for r in results} == {4}
    async with s.db.read() as session:
        stored = (await session.get(QuestionRow, question)).votes
        voters = select(func.count()).select_from(VoteRow).where(VoteRow.question_id == question)
        assert stored == (await session.execute(voters)).scalar_one() == 4


async def test_votes_that_cannot_count_are_refused_alone_with_the_usual_errors(podium: Podium):
    s = podium.services
    event = await catalog.event_by_slug(s, EVENT)
    author, fan = await viewers(s, event, 2)
    votable = await approved_question(s, author, event)
    pending = (await ask(s, author, event))["id"]
    merged = await approved_question(s, author, event)
    await moderation.merge(s, STAFF, event, merged, votable)

    results = await outcomes(
        asking.vote(s, fan, event, pending, True),
        asking.vote(s, author, event, votable, True),
        asking.vote(s, fan, event, 10**9, True),
        asking.vote(s, fan, event, merged, True),
    )

    assert isinstance(results[0], InvalidInput)
    assert str(results[0]) == "cannot vote on a question that is pending"
    assert isinstance(results[1], Forbidden)
    assert str(results[1]) == "you cannot vote on your own question"
    assert isinstance(results[2], NotFound)
    assert results[3] == {"question_id": votable, "voted": True, "votes": 1, "changed": True}
