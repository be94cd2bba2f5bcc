"""Questions and votes: loading, optimistic saves, running orders and vote counts."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime

from sqlalchemy import (
    Row,
    bindparam,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from server.domain.errors import Conflict, NotFound
from server.domain.questions import Question, QuestionState
from server.store import sqlite_batches
from server.store.models import AgendaSessionRow, QuestionRow, VoteRow

QUESTIONS = QuestionRow.__table__
VOTES = VoteRow.__table__


def to_domain(row: QuestionRow) -> Question:
    return Question(
        id=row.id,
        author_viewer_id=row.viewer_id,
        state=QuestionState(row.state),
        text=row.text,
        starred=row.starred,
        stage_room_id=row.stage_room_id,
        reject_reason=row.reject_reason,
        merged_into_id=row.merged_into_id,
        session_id=row.session_id,
        forwarded_from_session_id=row.forwarded_from_session_id,
    )


async def get(session: AsyncSession, event_id: int, question_id: int) -> QuestionRow:
    row = await session.get(QuestionRow, question_id, populate_existing=True)
    if row is None or row.event_id != event_id:
        raise NotFound(f"question {question_id} does not exist in this event")
    return row


async def find_by_client_id(
    session: AsyncSession, viewer_id: int, client_id: str
) -> QuestionRow | None:
    query = select(QuestionRow).where(
        QuestionRow.viewer_id == viewer_id, QuestionRow.client_id == client_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def save(session: AsyncSession, row: QuestionRow, question: Question) -> None:
    """Write the domain state back, only if nobody else changed the row since it was read."""
    values = {
        "state": question.state.value,
        "text": question.text,
        "starred": question.starred,
        "stage_room_id": question.stage_room_id,
        "reject_reason": question.reject_reason,
        "merged_into_id": question.merged_into_id,
        "session_id": question.session_id,
        "forwarded_from_session_id": question.forwarded_from_session_id,
        "updated_at": datetime.now(UTC),
        "version": row.version + 1,
    }
    if question.state != QuestionState.QUEUED:
        values["queue_position"] = None
    result = await session.execute(
        update(QuestionRow)
        .where(QuestionRow.id == row.id, QuestionRow.version == row.version)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(f"question {row.id} was changed by someone else; try again")
    for key, value in values.items():
        set_committed_value(row, key, value)


async def list_for_event(
    session: AsyncSession, event_id: int, states: Sequence[QuestionState] | None = None
) -> list[QuestionRow]:
    query = select(QuestionRow).where(QuestionRow.event_id == event_id).order_by(QuestionRow.id)
    if states is not None:
        query = query.where(QuestionRow.state.in_([s.value for s in states]))
    return list((await session.execute(query)).scalars())


async def list_by_viewer(session: AsyncSession, viewer_id: int) -> list[QuestionRow]:
    query = select(QuestionRow).where(QuestionRow.viewer_id == viewer_id).order_by(QuestionRow.id)
    return list((await session.execute(query)).scalars())


async def running_order(session: AsyncSession, room_id: int) -> list[QuestionRow]:
    query = (
        select(QuestionRow)
        .where(QuestionRow.stage_room_id == room_id, QuestionRow.state == QuestionState.QUEUED)
        .order_by(QuestionRow.queue_position, QuestionRow.id)
    )
    return list((await session.execute(query)).scalars())


async def set_running_order(session: AsyncSession, question_ids: Sequence[int]) -> None:
    for position, question_id in enumerate(question_ids):
        await session.execute(
            update(QuestionRow)
            .where(QuestionRow.id == question_id)
            .values(queue_position=position)
            .execution_options(synchronize_session=False)
        )


async def on_stage(session: AsyncSession, room_id: int) -> QuestionRow | None:
    query = select(QuestionRow).where(
        QuestionRow.stage_room_id == room_id, QuestionRow.state == QuestionState.ON_STAGE
    )
    return (await session.execute(query)).scalar_one_or_none()


async def add_vote(session: AsyncSession, question_id: int, viewer_id: int) -> bool:
    """Record one viewer's vote; False when that viewer had already voted."""
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    result = await session.execute(
        insert(VoteRow)
        .values(question_id=question_id, viewer_id=viewer_id, created_at=datetime.now(UTC))
        .on_conflict_do_nothing()
    )
    if result.rowcount != 1:
        return False
    await _bump_votes(session, question_id, +1)
    return True


async def remove_vote(session: AsyncSession, question_id: int, viewer_id: int) -> bool:
    """Take back one viewer's vote; False when there was none (or another request won)."""
    result = await session.execute(
        delete(VoteRow).where(VoteRow.question_id == question_id, VoteRow.viewer_id == viewer_id)
    )
    if result.rowcount != 1:
        return False
    await _bump_votes(session, question_id, -1)
    return True


async def move_votes(session: AsyncSession, from_id: int, into_id: int) -> int:
    """Give `into_id` every vote of `from_id`, each voter counted once; return the new count."""
    already = select(VoteRow.viewer_id).where(VoteRow.question_id == into_id)
    await session.execute(
        update(VoteRow)
        .where(VoteRow.question_id == from_id, VoteRow.viewer_id.not_in(already))
        .values(question_id=into_id)
        .execution_options(synchronize_session=False)
    )
    count_query = select(func.count()).where(VoteRow.question_id == into_id)
    total = (await session.execute(count_query)).scalar_one()
    await session.execute(
        update(QuestionRow)
        .where(QuestionRow.id == into_id)
        .values(votes=total)
        .execution_options(synchronize_session=False)
    )
    return total


async def voted_question_ids(session: AsyncSession, viewer_id: int) -> list[int]:
    query = select(VoteRow.question_id).where(VoteRow.viewer_id == viewer_id)
    return list((await session.execute(query)).scalars())


async def vote_counts(session: AsyncSession, question_ids: Sequence[int]) -> dict[int, int]:
    if _is_sqlite(session):
        return await sqlite_batches.vote_counts(session, question_ids)
    targets = await vote_targets(session, question_ids)
    return {question_id: row.votes for question_id, row in targets.items()}


async def _bump_votes(session: AsyncSession, question_id: int, delta: int) -> None:
    await session.execute(
        update(QuestionRow)
        .where(QuestionRow.id == question_id)
        .values(votes=QuestionRow.votes + delta)
        .execution_options(synchronize_session=False)
    )


# -- set-based statements for batches of submissions and votes ----------------------------
# They return Core rows (attribute access, like the ORM rows the views read) and skip the
# ORM's unit of work, which costs more than the statements themselves. On SQLite each vote
# statement is `sqlite_batches`': one fixed text, its rows one JSON text.


async def agenda_session_ids(
    session: AsyncSession, event_id: int, session_ids: Collection[int]
) -> set[int]:
    """Which of `session_ids` are agenda sessions of this event."""
    if not session_ids:
        return set()
    query = select(AgendaSessionRow.id).where(
        AgendaSessionRow.event_id == event_id, AgendaSessionRow.id.in_(set(session_ids))
    )
    return set((await session.execute(query)).scalars())


async def vote_targets(session: AsyncSession, question_ids: Collection[int]) -> dict[int, Row]:
    """What deciding a vote needs of each question: event, state, author, merge, count."""
    if _is_sqlite(session):
        return await sqlite_batches.vote_targets(session, question_ids)
    params = {"ids": list(set(question_ids))}
    return {row.id: row for row in (await session.execute(_VOTE_TARGETS, params)).all()}


# A vote batch's questions, each found in the primary key by a lookup of its own: one fixed
# text whatever the batch's size (`IN (...)` is a new statement for every size), and a kept
# plan that does not read the whole table (see `_REMOVE_VOTES`).
_VOTE_TARGETS = text(
    """
    SELECT q.id, q.event_id, q.state, q.viewer_id, q.merged_into_id, q.votes
    FROM unnest(CAST(:ids AS BIGINT[])) AS wanted(id)
    CROSS JOIN LATERAL (
        SELECT questions.id, questions.event_id, questions.state, questions.viewer_id,
               questions.merged_into_id, questions.votes
        FROM questions WHERE questions.id = wanted.id
        LIMIT 1
    ) AS q
    """
)


async def add_votes(
    session: AsyncSession, pairs: Collection[tuple[int, int]]
) -> set[tuple[int, int]]:
    """Record (question id, viewer id) votes; the pairs that were new."""
    if not pairs:
        return set()
    now = datetime.now(UTC)
    if _is_sqlite(session):
        return await sqlite_batches.add_votes(session, pairs, now)
    params = _pair_arrays(pairs) | {"now": now}
    return {tuple(row) for row in (await session.execute(_ADD_VOTES, params)).all()}


async def remove_votes(
    session: AsyncSession, pairs: Collection[tuple[int, int]]
) -> set[tuple[int, int]]:
    """Take back (question id, viewer id) votes; the pairs that existed."""
    if not pairs:
        return set()
    if _is_sqlite(session):
        return await sqlite_batches.remove_votes(session, pairs)
    params = _pair_arrays(pairs)
    return {tuple(row) for row in (await session.execute(_REMOVE_VOTES, params)).all()}


def _pair_arrays(pairs: Collection[tuple[int, int]]) -> dict[str, list[int]]:
    pairs = list(pairs)
    return {
        "question_ids": [question for question, _viewer in pairs],
        "viewer_ids": [viewer for _question, viewer in pairs],
    }


# One fixed text, whatever the batch's size (asyncpg prepares each new text in a round trip
# of its own, and PostgreSQL plans it afresh).
_ADD_VOTES = text(
    """
    INSERT INTO votes (question_id, viewer_id, created_at)
    SELECT k.question_id, k.viewer_id, CAST(:now AS TIMESTAMPTZ)
    FROM unnest(CAST(:question_ids AS BIGINT[]), CAST(:viewer_ids AS BIGINT[]))
         AS k(question_id, viewer_id)
    ON CONFLICT DO NOTHING
    RETURNING question_id, viewer_id
    """
)


# Each pair's row found by its own lookup in the primary key, then deleted by its ctid. A vote
# a merge moves to another question meanwhile is a new row version, which the ctid no longer
# names, and is left, as a delete by the pair would leave it. A LATERAL lookup with `LIMIT 1`
# keeps a plan made while the table was small (PostgreSQL keeps one generic plan per prepared
# statement until the table is next analysed) from reading the whole table for every batch
# as it grows: see `batches._CONTEXT`.
_REMOVE_VOTES = text(
    """
    DELETE FROM votes
    WHERE ctid = ANY(ARRAY(
        SELECT found.ctid
        FROM unnest(CAST(:question_ids AS BIGINT[]), CAST(:viewer_ids AS BIGINT[]))
             AS k(question_id, viewer_id)
        CROSS JOIN LATERAL (
            SELECT votes.ctid FROM votes
            WHERE votes.question_id = k.question_id AND votes.viewer_id = k.viewer_id
            LIMIT 1
        ) AS found
    ))
    RETURNING question_id, viewer_id
    """
)


async def bump_votes(session: AsyncSession, deltas: dict[int, int]) -> None:
    """Add each question's change to its vote counter, in one statement (an executemany on
    PostgreSQL)."""
    changed = [(qid, delta) for qid, delta in deltas.items() if delta]
    if not changed:
        return
    if _is_sqlite(session):
        await sqlite_batches.bump_votes(session, changed)
        return
    await session.execute(
        update(QUESTIONS)
        .where(QUESTIONS.c.id == bindparam("qid"))
        .values(votes=QUESTIONS.c.votes + bindparam("delta")),
        [{"qid": qid, "delta": delta} for qid, delta in changed],
    )


def _is_sqlite(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "sqlite"
