"""SQLite's statements for batches of submissions and votes: each has one fixed text, whatever
the batch's size.

Reads take their keys as one JSON text that SQLite's built-in `json_each` turns back into
rows (as `json_to_recordset` does on PostgreSQL: see `batches`). The inserts of new
questions and their audit rows go straight to the writer's sqlite3 connection, one prepared
statement run for each row in C: SQLAlchemy's processing of each row's parameters (an
executemany, or a multi-row VALUES) cost more than the statements themselves, and reading
each column back out of a JSON row (`json_extract` parses the row again for every column)
cost SQLite about 20 µs a question, against 6 here. What every row shares (the event, the
time) is bound exactly as the ORM binds it, so that it is stored the same way.

The writer's statements run inline on the event loop's thread (`InlineSqliteConnection`), so
these run in its transaction, in order with everything SQLAlchemy sent before them.

A JSON column (`flags`, a broadcast's `payload`) gets compact text, its keys in order, read
back by SQLAlchemy's JSON type as the same value.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from server import json_text
from server.store.models import QuestionRow, ViewerRow, VoteRow
from server.store.sqlite_connections import InlineSqliteConnection

QUESTIONS = QuestionRow.__table__


_AUTHORS = text(
    """
    SELECT id, event_id, display_name, channel, blocked FROM viewers
    WHERE id IN (SELECT value FROM json_each(:ids))
    """
).columns(
    ViewerRow.id, ViewerRow.event_id, ViewerRow.display_name, ViewerRow.channel, ViewerRow.blocked
)

# One probe of the unique (viewer id, client id) index per key. (In one statement with the
# authors, as on PostgreSQL, SQLite would read the keys again for every author.)
_EXISTING = text(
    f"""
    SELECT {", ".join(f"q.{column.name}" for column in QUESTIONS.c)}
    FROM json_each(:keys) AS k
    JOIN questions AS q
      ON q.viewer_id = json_extract(k.value, '$[0]') AND q.client_id = json_extract(k.value, '$[1]')
    """
).columns(*QUESTIONS.c)

_INSERT_QUESTION = """
    INSERT INTO questions (event_id, viewer_id, client_id, session_id, channel, author_name,
                           text, original_text, state, flags, starred, votes, version,
                           created_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 1, ?, ?)
"""
_INSERT_AUDIT = """
    INSERT INTO audit_log (event_id, question_id, actor_kind, actor_id, actor_name, action,
                           reason, details, created_at)
    VALUES (?, ?, ?, ?, ?, ?, NULL, '{}', ?)
"""


async def authors(session: AsyncSession, viewer_ids: Collection[int]) -> dict[int, Row]:
    """Who may be asking: id, event_id, display_name, channel, blocked; by viewer id."""
    result = await session.execute(_AUTHORS, {"ids": json_text.dumps(list(viewer_ids))})
    return {row.id: row for row in result.all()}


async def existing(session: AsyncSession, keys: Collection[tuple[int, str]]) -> list[Row]:
    """Questions already stored under any of these (viewer id, client id) pairs."""
    return list((await session.execute(_EXISTING, {"keys": json_text.dumps(list(keys))})).all())


async def insert_questions(
    session: AsyncSession, event_id: int, now: datetime, questions: list[dict[str, Any]]
) -> dict[tuple[int, str], int]:
    """Insert new questions (each `original_text` its `text`, unstarred, unvoted, at version
    1, made `now`); each one's id, by its (viewer id, client id)."""
    if not questions:
        return {}
    connection, at = await writer_connection(session), stored_time(session, now)
    cursor = connection.cursor()
    ids = {}
    with sqlalchemy_errors(_INSERT_QUESTION):
        for q in questions:
            cursor.execute(
                _INSERT_QUESTION,
                (
                    event_id,
                    q["viewer_id"],
                    q["client_id"],
                    q["session_id"],
                    q["channel"],
                    q["author_name"],
                    q["text"],
                    q["text"],  # original_text
                    q["state"],
                    json_text.dumps(q["flags"]),
                    at,
                    at,
                ),
            )
            ids[q["viewer_id"], q["client_id"]] = cursor.lastrowid
    return ids


async def insert_audits(
    session: AsyncSession, event_id: int, now: datetime, audits: list[dict[str, Any]]
) -> None:
    """Append audit rows (question_id, actor_kind, actor_id, actor_name, action; no reason,
    no details, made `now`)."""
    if not audits:
        return
    connection, at = await writer_connection(session), stored_time(session, now)
    rows = [
        (
            event_id,
            audit["question_id"],
            audit["actor_kind"],
            audit["actor_id"],
            audit["actor_name"],
            audit["action"],
            at,
        )
        for audit in audits
    ]
    with sqlalchemy_errors(_INSERT_AUDIT):
        connection.executemany(_INSERT_AUDIT, rows)


async def writer_connection(session: AsyncSession) -> sqlite3.Connection:
    """The sqlite3 connection under the writer's session, in its transaction."""
    connection = await (await session.connection()).get_raw_connection()
    driver = connection.driver_connection
    if not isinstance(driver, InlineSqliteConnection):
        raise TypeError("only the writer's statements run inline")
    return driver._conn


def stored_time(session: AsyncSession, moment: datetime) -> Any:
    """`moment` as SQLAlchemy binds a timestamp column on this dialect."""
    dialect = session.bind.dialect
    return QUESTIONS.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)(moment)


@contextmanager
def sqlalchemy_errors(statement: str) -> Iterator[None]:
    """sqlite3's errors raised as SQLAlchemy raises them (an IntegrityError, which the queued
    writer retries, among them)."""
    try:
        yield
    except sqlite3.Error as error:
        raise DBAPIError.instance(statement, None, error, sqlite3.Error) from error


# -- votes: each (question id, viewer id) pair a two-element array ---------------------------

_VOTE_TARGETS = text(
    """
    SELECT id, event_id, state, viewer_id, merged_into_id, votes FROM questions
    WHERE id IN (SELECT value FROM json_each(:ids))
    """
)

_VOTE_COUNTS = text(
    "SELECT id, votes FROM questions WHERE id IN (SELECT value FROM json_each(:ids))"
)

# `WHERE true` tells SQLite's parser that ON CONFLICT is the upsert clause, not a join's.
_ADD_VOTES = text(
    """
    INSERT INTO votes (question_id, viewer_id, created_at)
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), :now
    FROM json_each(:pairs) WHERE true
    ON CONFLICT DO NOTHING
    RETURNING question_id, viewer_id
    """
).bindparams(bindparam("now", type_=VoteRow.__table__.c.created_at.type))

_REMOVE_VOTES = text(
    """
    DELETE FROM votes
    WHERE (question_id, viewer_id) IN (
        SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:pairs)
    )
    RETURNING question_id, viewer_id
    """
)

# Each question's change once (the deltas come from a dict keyed by question id).
_BUMP_VOTES = text(
    """
    UPDATE questions SET votes = votes + json_extract(change.value, '$[1]')
    FROM json_each(:deltas) AS change
    WHERE questions.id = json_extract(change.value, '$[0]')
    """
)


async def vote_targets(session: AsyncSession, question_ids: Collection[int]) -> dict[int, Row]:
    result = await session.execute(_VOTE_TARGETS, {"ids": json_text.dumps(list(question_ids))})
    return {row.id: row for row in result.all()}


async def vote_counts(session: AsyncSession, question_ids: Collection[int]) -> dict[int, int]:
    result = await session.execute(_VOTE_COUNTS, {"ids": json_text.dumps(list(question_ids))})
    return dict(result.all())


async def add_votes(
    session: AsyncSession, pairs: Collection[tuple[int, int]], now: datetime
) -> set[tuple[int, int]]:
    result = await session.execute(_ADD_VOTES, {"pairs": json_text.dumps(list(pairs)), "now": now})
    return {tuple(row) for row in result.all()}


async def remove_votes(
    session: AsyncSession, pairs: Collection[tuple[int, int]]
) -> set[tuple[int, int]]:
    result = await session.execute(_REMOVE_VOTES, {"pairs": json_text.dumps(list(pairs))})
    return {tuple(row) for row in result.all()}


async def bump_votes(session: AsyncSession, changes: list[tuple[int, int]]) -> None:
    await session.execute(_BUMP_VOTES, {"deltas": json_text.dumps(changes)})
