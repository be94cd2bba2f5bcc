"""SQLite's statements for batches of submissions and votes: each has one fixed text, whatever
the batch's size, and takes its rows as one JSON text that SQLite's built-in `json_each` turns
back into rows (as `json_to_recordset` does on PostgreSQL: see `batches`).

SQLite runs the writer's statements on the event loop's thread, where SQLAlchemy's
processing of each row's parameters (an executemany, or a multi-row VALUES) cost more than
the statements themselves. Here a batch's rows are one `json_text.dumps`, and what every row
shares (the event, the time) is bound once with its column's type, so that it is stored
exactly as the ORM stores it. (The broadcast log's statement, the same idea, is in
`broadcasts`.)

A JSON column (`flags`, a broadcast's `payload`) gets the text SQLite renders of the row's
value: compact, its keys in order, read back by SQLAlchemy's JSON type as the same value.
Text is encoded as UTF-8 (`ensure_ascii=False`), so that text SQLite could not store fails
here as it fails when bound alone.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from server import json_text
from server.store.models import QuestionRow, ViewerRow, VoteRow

QUESTIONS = QuestionRow.__table__
_NOW = bindparam("now", type_=QUESTIONS.c.created_at.type)


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

# The columns of a new question that `_INSERT_QUESTIONS` takes from each row, in order: each
# row is an array, a shorter text to write and quicker for SQLite to read than an object.
# (PostgreSQL's insert takes the same, with the id taken ahead: `batches`.)
QUESTION_FIELDS = (
    "viewer_id",
    "client_id",
    "session_id",
    "channel",
    "author_name",
    "text",
    "state",
    "flags",
)
_INSERT_QUESTIONS = text(
    """
    INSERT INTO questions (event_id, viewer_id, client_id, session_id, channel, author_name,
                           text, original_text, state, flags, starred, votes, version,
                           created_at, updated_at)
    SELECT :event_id, json_extract(value, '$[0]'), json_extract(value, '$[1]'),
           json_extract(value, '$[2]'), json_extract(value, '$[3]'),
           json_extract(value, '$[4]'), json_extract(value, '$[5]'),
           json_extract(value, '$[5]'), json_extract(value, '$[6]'),
           json_extract(value, '$[7]'), 0, 0, 1, :now, :now
    FROM json_each(:rows)
    RETURNING id, viewer_id, client_id
    """
).bindparams(_NOW)

# Likewise an audit row's columns, in order.
_AUDIT_FIELDS = ("question_id", "actor_kind", "actor_id", "actor_name", "action")
_INSERT_AUDITS = text(
    """
    INSERT INTO audit_log (event_id, question_id, actor_kind, actor_id, actor_name, action,
                           reason, details, created_at)
    SELECT :event_id, json_extract(value, '$[0]'), json_extract(value, '$[1]'),
           json_extract(value, '$[2]'), json_extract(value, '$[3]'),
           json_extract(value, '$[4]'), NULL, '{}', :now
    FROM json_each(:rows)
    """
).bindparams(_NOW)


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
    rows = json_text.dumps([[q[field] for field in QUESTION_FIELDS] for q in questions])
    result = await session.execute(
        _INSERT_QUESTIONS, {"event_id": event_id, "now": now, "rows": rows}
    )
    return {(viewer_id, client_id): id_ for id_, viewer_id, client_id in result}


async def insert_audits(
    session: AsyncSession, event_id: int, now: datetime, audits: list[dict[str, Any]]
) -> None:
    """Append audit rows (question_id, actor_kind, actor_id, actor_name, action; no reason,
    no details, made `now`)."""
    if audits:
        rows = json_text.dumps([[audit[field] for field in _AUDIT_FIELDS] for audit in audits])
        await session.execute(_INSERT_AUDITS, {"event_id": event_id, "now": now, "rows": rows})


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
