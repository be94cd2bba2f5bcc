"""A batch of submissions' reads and writes, in as few round trips as each database allows.

On SQLite (a library call away) the authors and the questions already stored under the
batch's keys are read a statement each, with one fixed text, their keys one JSON text that
SQLite's `json_each` reads; new questions, their audit rows and broadcasts go straight to
sqlite3, a prepared statement per table run for each row (`sqlite_batches`).

On PostgreSQL the ids are taken from the table's sequence ahead, so the whole batch is
written by one statement: it numbers the broadcasts (taking the event row's lock, which
orders writers) and inserts the questions, their audit rows and their broadcasts. Each
statement has one fixed text, whatever the batch's size: the rows travel as one JSON
document that `json_to_recordset` turns back into rows, so each is prepared once per
connection (a multi-row VALUES list is a new statement for every batch size, and asyncpg
prepares each new one in a round trip of its own), and encoding is one `json_text.dumps`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from server import json_text
from server.store import sqlite_batches
from server.store.models import QuestionRow

QUESTIONS = QuestionRow.__table__

# Read for retried submissions only. `LIMIT 1`: see `_CONTEXT` below.
_EXISTING = text(
    """
    SELECT q.* FROM json_to_recordset(CAST(:keys AS JSON)) AS k(viewer_id BIGINT, client_id TEXT)
    CROSS JOIN LATERAL (
        SELECT * FROM questions
        WHERE questions.viewer_id = k.viewer_id AND questions.client_id = k.client_id
        LIMIT 1
    ) AS q
    """
).columns(*QUESTIONS.c)

# The authors, which of the batch's keys are already used, and ids for the new questions, in
# one round trip. asyncpg prepares the statement once per connection, and PostgreSQL soon
# keeps one generic plan for it, planned while the tables may have been small (a fresh
# database's first batches), until the tables are next analysed: a plain join would keep
# the hash join over whole tables that was cheapest then while they grew. So each row is
# found by its own index lookup, a LATERAL subquery per key whose `LIMIT 1` (a key names at
# most one row) keeps the planner from flattening the lookups back into such a join. The
# sequence is named once, not for each id it hands out.
_CONTEXT = text(
    """
    WITH used AS (
        SELECT k.viewer_id, array_agg(k.client_id) AS client_ids
        FROM unnest(CAST(:key_viewer_ids AS BIGINT[]), CAST(:key_client_ids AS TEXT[]))
             AS k(viewer_id, client_id)
        CROSS JOIN LATERAL (
            SELECT FROM questions AS q
            WHERE q.viewer_id = k.viewer_id AND q.client_id = k.client_id
            LIMIT 1
        ) AS stored
        GROUP BY k.viewer_id
    )
    SELECT v.id, v.event_id, v.display_name, v.channel, v.blocked,
           COALESCE(used.client_ids, CAST(ARRAY[] AS TEXT[])) AS used_client_ids,
           reserved.ids AS reserved_ids
    FROM unnest(CAST(:viewer_ids AS BIGINT[])) AS author(id)
    CROSS JOIN LATERAL (
        SELECT viewers.id, viewers.event_id, viewers.display_name, viewers.channel,
               viewers.blocked
        FROM viewers WHERE viewers.id = author.id
        LIMIT 1
    ) AS v
    CROSS JOIN (
        SELECT ARRAY(
            SELECT nextval((SELECT CAST(pg_get_serial_sequence('questions', 'id') AS REGCLASS)))
            FROM generate_series(1, :count)
        ) AS ids
    ) AS reserved
    LEFT JOIN used ON used.viewer_id = v.id
    """
)

# Each broadcast's payload arrives without its number, which is only known once the event
# row is locked: it is spliced in as the payload's first key.
_INSERT_SUBMISSIONS = text(
    """
    WITH numbered AS (
        UPDATE events
        SET public_seq = public_seq + :public_count, staff_seq = staff_seq + :staff_count
        WHERE id = :event_id
        RETURNING public_seq - :public_count AS public_base, staff_seq - :staff_count AS staff_base
    ), asked AS (
        INSERT INTO questions (id, event_id, viewer_id, client_id, session_id, channel,
                               author_name, text, original_text, state, flags, starred, votes,
                               version, created_at, updated_at)
        SELECT r.id, :event_id, r.viewer_id, r.client_id, r.session_id, r.channel,
               r.author_name, r.text, r.text, r.state, r.flags, false, 0, 1, :now, :now
        FROM json_to_recordset(CAST(:questions AS JSON))
             AS r(id BIGINT, viewer_id BIGINT, client_id TEXT, session_id BIGINT, channel TEXT,
                  author_name TEXT, text TEXT, state TEXT, flags JSON)
    ), audited AS (
        INSERT INTO audit_log (event_id, question_id, actor_kind, actor_id, actor_name, action,
                               reason, details, created_at)
        SELECT :event_id, a.question_id, a.actor_kind, a.actor_id, a.actor_name, a.action,
               NULL, CAST('{}' AS JSON), :now
        FROM json_to_recordset(CAST(:audits AS JSON))
             AS a(question_id BIGINT, actor_kind TEXT, actor_id BIGINT, actor_name TEXT,
                  action TEXT)
    ), logged AS (
        INSERT INTO broadcasts (event_id, stream, seq, payload, created_at)
        SELECT :event_id, b.stream, b.seq,
               CAST('{"seq": ' || b.seq || ', ' || substr(CAST(b.payload AS TEXT), 2) AS JSON),
               :now
        FROM (
            SELECT e.stream, e.payload,
                   e.position + CASE e.stream WHEN 'public' THEN numbered.public_base
                                              ELSE numbered.staff_base END AS seq
            FROM json_to_recordset(CAST(:entries AS JSON))
                 AS e(stream TEXT, position BIGINT, payload JSON)
            CROSS JOIN numbered
        ) AS b
    )
    SELECT public_base, staff_base FROM numbered
    """
)
# The columns of a new question that `_INSERT_SUBMISSIONS` takes from each row.
_QUESTION_FIELDS = (
    "id",
    "viewer_id",
    "client_id",
    "session_id",
    "channel",
    "author_name",
    "text",
    "state",
    "flags",
)


def _is_postgresql(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "postgresql"


async def existing(session: AsyncSession, keys: Collection[tuple[int, str]]) -> list[Row]:
    """Questions already stored under any of these (viewer id, client id) pairs."""
    if not _is_postgresql(session):
        return await sqlite_batches.existing(session, keys)
    rows = json_text.dumps([{"viewer_id": viewer, "client_id": client} for viewer, client in keys])
    return list((await session.execute(_EXISTING, {"keys": rows})).all())


@dataclass
class SubmissionContext:
    """What checking a batch of submissions needs to know, read in as few round trips as
    the database allows."""

    authors: dict[int, Any]  # viewer id: id, event_id, display_name, channel, blocked
    # Each (viewer id, client id) already used: its question, or None where it is not read
    # yet (`existing` reads it when it is wanted: only a retried submission needs it).
    earlier: dict[tuple[int, str], Row | None]
    # Ids for new questions, taken ahead (PostgreSQL); None where the database only hands
    # them out as it inserts (SQLite: `sqlite_batches.insert_questions` returns them). An id
    # taken but not used is never used: ids may have gaps, and mean nothing else.
    reserved_ids: list[int] | None


async def submission_context(
    session: AsyncSession, keys: Collection[tuple[int, str]]
) -> SubmissionContext:
    """The authors of these (viewer id, client id) keys, which keys are already used, and
    (PostgreSQL) as many ids for new questions as there are keys."""
    viewer_ids = list({viewer for viewer, _client in keys})
    if not _is_postgresql(session):
        stored = await sqlite_batches.existing(session, keys)
        return SubmissionContext(
            authors=await sqlite_batches.authors(session, viewer_ids),
            earlier={(row.viewer_id, row.client_id): row for row in stored},
            reserved_ids=None,
        )
    params = {
        "viewer_ids": viewer_ids,
        "key_viewer_ids": [viewer for viewer, _client in keys],
        "key_client_ids": [client for _viewer, client in keys],
        "count": len(keys),
    }
    rows = (await session.execute(_CONTEXT, params)).all()
    return SubmissionContext(
        authors={row.id: row for row in rows},
        earlier={(row.id, client): None for row in rows for client in row.used_client_ids},
        reserved_ids=list(rows[0].reserved_ids) if rows else [],
    )


async def insert_submissions(
    session: AsyncSession,
    event_id: int,
    now: datetime,
    questions: list[dict[str, Any]],
    audits: list[dict[str, Any]],
    streams: dict[str, list[dict[str, Any]]],
) -> dict[str, list[dict[str, Any]]]:
    """PostgreSQL: in one statement, insert new questions (with ids from
    `submission_context`; each `original_text` is its `text`, each new question unstarred,
    unvoted, at version 1, made `now`), their audit rows (no reason, no details), and each
    stream's broadcast payloads, numbered. Return the payloads with their `seq`, by stream."""
    numbered: dict[str, list[dict[str, Any]]] = {stream: [] for stream in streams}
    if not questions:
        return numbered
    entries = [
        {"stream": stream, "position": position, "payload": payload}
        for stream, payloads in streams.items()
        for position, payload in enumerate(payloads, start=1)
    ]
    params = {
        "event_id": event_id,
        "now": now,
        "public_count": len(streams.get("public", ())),
        "staff_count": len(streams.get("staff", ())),
        "questions": json_text.dumps(
            [{field: q[field] for field in _QUESTION_FIELDS} for q in questions]
        ),
        "audits": json_text.dumps(audits),
        "entries": json_text.dumps(entries),
    }
    bases = (await session.execute(_INSERT_SUBMISSIONS, params)).one()
    base = {"public": bases.public_base, "staff": bases.staff_base}
    for stream, payloads in streams.items():
        numbered[stream] = [
            {"seq": base[stream] + position, **payload}
            for position, payload in enumerate(payloads, start=1)
        ]
    return numbered
