"""Submitted questions, stored a batch at a time: a few set-based statements, one commit.

`asking.submit` validates and screens a question (pure CPU, outside any transaction) and
queues it with `Database.write_queued`; every question queued meanwhile comes to `store`
together, which:

- reads (`prepare`) the authors, which (viewer, client id) pairs are already used, and the
  agenda sessions named (`batches.submission_context`: on PostgreSQL one statement, which
  also takes ids for the new questions), then checks each question in turn, exactly as a
  lone submission would be checked, so that one refused question (a blocked author,
  another event's session) fails alone. With the ids known, it composes the new questions'
  audit rows and broadcasts; the views are built from the values to insert (each
  question's public view once, shared by its staff and author views), never read back.
- writes them (`finish`): on PostgreSQL one statement numbers the broadcasts and inserts
  everything; on SQLite, the new questions go straight to sqlite3 (`sqlite_batches`), which
  gives their ids, then the rest is composed and stored.

On SQLite both run in one unit of work. On PostgreSQL `store` is a `TwoStepStore`: each
batch is read while the one before it is written, and the write, atomic on its own, runs
outside a transaction block. After the commit the broadcasts are published in order and
every caller gets its answer; a retried client id (in an earlier batch or this one) gets the
question stored first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from server.domain.errors import DomainError, InvalidInput, NotFound, ViewerBlocked
from server.domain.events import QuestionApproved, QuestionSubmitted
from server.domain.questions import QuestionState
from server.services import views
from server.services.changes import publish_after_commit, question_entries
from server.services.context import Actor
from server.store import batches, broadcasts, sqlite_batches
from server.store import questions as question_store
from server.store.database import UnitOfWork
from server.store.models import EventRow
from server.store.write_queue import TwoStepStore

if TYPE_CHECKING:
    from sqlalchemy import Row
    from sqlalchemy.ext.asyncio import AsyncSession

    from server.services.context import Services

SUBMITTED = QuestionSubmitted.__name__
APPROVED = QuestionApproved.__name__
# A new question's columns that `_checked` leaves to their default (NULL) but views read.
UNSET = dict.fromkeys(
    ("forwarded_from_session_id", "stage_room_id", "reject_reason", "merged_into_id")
)


@dataclass(frozen=True)
class Draft:
    """A validated, screened question waiting for its batch."""

    services: Services
    actor: Actor
    event: EventRow
    client_id: str
    text: str
    session_id: int | None
    anonymous: bool
    flags: tuple[str, ...]


@dataclass
class Composed:
    """What a batch's new questions add to the logs, and what their authors are answered."""

    audits: list[dict[str, Any]]
    streams: dict[str, list[dict[str, Any]]]  # broadcast payloads, by stream, unnumbered
    told: list[tuple[int, dict[str, Any]]]  # each author's `mine` push
    answers: dict[tuple[int, str], dict[str, Any]]  # each new question's author view


@dataclass
class Prepared:
    """A batch read and checked: its new questions' rows, and each draft's outcome so far."""

    drafts: list[Draft]
    now: datetime
    earlier: dict[tuple[int, str], Row | None]  # questions stored under these keys before
    outcomes: list[Any]  # an error for each draft refused, None for the rest
    first: dict[tuple[int, str], int]  # each new key, and the draft that stores it
    values: list[dict[str, Any]]  # the new questions' rows, in step with `first`
    composed: Composed | None = None  # once the new questions' ids are known


async def prepare(session: AsyncSession, drafts: list[Draft]) -> Prepared:
    """Read and check a batch of one event's drafts. Where the database hands out ids ahead
    (PostgreSQL), the new questions' rows and broadcasts are composed here too, so that
    `finish` only writes."""
    event_id = drafts[0].event.id
    keys = {(draft.actor.id, draft.client_id) for draft in drafts}
    context = await batches.submission_context(session, keys)
    named = {draft.session_id for draft in drafts if draft.session_id is not None}
    sessions = await question_store.agenda_session_ids(session, event_id, named)

    batch = Prepared(drafts, datetime.now(UTC), context.earlier, [None] * len(drafts), {}, [])
    for index, draft in enumerate(drafts):
        key = (draft.actor.id, draft.client_id)
        if key in batch.earlier or key in batch.first:
            continue  # a retry: answered with the question stored first, in `finish`
        author = context.authors.get(draft.actor.id)
        try:
            batch.values.append(_checked(draft, author, sessions, batch.now))
        except DomainError as error:
            batch.outcomes[index] = error
            continue
        batch.first[key] = index
    if context.reserved_ids is not None:
        _compose(batch, context.reserved_ids[: len(batch.values)])
    return batch


async def finish(work: UnitOfWork, batch: Prepared) -> list[Any]:
    """Store a prepared batch; one outcome (answer or error) per draft. On PostgreSQL its
    one write statement comes last (see `write_queue.TwoStepStore`)."""
    session = work.session
    event_id = batch.drafts[0].event.id
    unread = [key for key, row in batch.earlier.items() if row is None]
    if unread:  # retried submissions: answered with the questions stored first
        batch.earlier |= {
            (row.viewer_id, row.client_id): row for row in await batches.existing(session, unread)
        }
    if batch.composed is None:  # SQLite: the ids come from the insert
        ids = await sqlite_batches.insert_questions(session, event_id, batch.now, batch.values)
        composed = _compose(batch, [ids[key] for key in batch.first])
        numbered = await broadcasts.number(session, event_id, composed.streams)
        await sqlite_batches.insert_audits(session, event_id, batch.now, composed.audits)
        await broadcasts.store_numbered(session, event_id, numbered, batch.now)
    else:
        composed = batch.composed
        numbered = await batches.insert_submissions(
            session, event_id, batch.now, batch.values, composed.audits, composed.streams
        )
    publish_after_commit(
        work, event_id, batch.drafts[0].services.publisher, numbered, composed.told
    )
    outcomes = batch.outcomes
    for index, draft in enumerate(batch.drafts):
        if outcomes[index] is None:
            key = (draft.actor.id, draft.client_id)
            if key not in composed.answers:
                composed.answers[key] = views.author_question(batch.earlier[key])
            answer = composed.answers[key]
            outcomes[index] = {**answer, "duplicate": batch.first.get(key) != index}
    return outcomes


# On PostgreSQL each batch is read while the one before it is written (`write_queue`).
store = TwoStepStore(prepare, finish)


def _compose(batch: Prepared, ids: list[int]) -> Composed:
    """Give the new questions their ids, and build what they add to the logs (each
    question's public view once, shared by its staff and author views): nothing is read
    back from the database."""
    for value, id_ in zip(batch.values, ids, strict=True):
        value["id"] = id_
    rows = [SimpleNamespace(**value, **UNSET) for value in batch.values]
    composed = Composed(
        audits=_audit_rows(batch.drafts, batch.first, rows),
        streams={"public": [], "staff": []},
        told=[],
        answers={},
    )
    for key, row in zip(batch.first, rows, strict=True):
        causes = [SUBMITTED, APPROVED] if row.state == QuestionState.APPROVED else [SUBMITTED]
        composed.answers[key] = question_entries(
            row,
            False,
            causes,
            composed.streams["public"],
            composed.streams["staff"],
            composed.told,
        )
    batch.composed = composed
    return composed


def _checked(draft: Draft, author: Row | None, sessions: set[int], now: datetime) -> dict[str, Any]:
    """The new question's row, or the error a lone submission would have met first."""
    event = draft.event
    if author is None or author.event_id != event.id:
        raise NotFound(f"viewer {draft.actor.id} does not exist in this event")
    if author.blocked:
        raise ViewerBlocked("you can no longer submit questions to this event")
    draft.services.question_limiter.take(("question", author.id))
    if draft.session_id is not None and draft.session_id not in sessions:
        raise NotFound(f"agenda session {draft.session_id} does not exist in this event")
    if draft.anonymous and not event.allow_anonymous:
        raise InvalidInput(
            "this event does not take anonymous questions",
            fields={"anonymous": "not allowed at this event"},
        )
    if not draft.anonymous and not author.display_name:
        raise InvalidInput(
            "give a display name, or ask anonymously",
            fields={"anonymous": "a display name is needed to ask with your name"},
        )
    auto = event.auto_approve and not draft.flags
    return {
        "event_id": event.id,
        "viewer_id": author.id,
        "client_id": draft.client_id,
        "session_id": draft.session_id,
        "channel": author.channel,
        "author_name": None if draft.anonymous else author.display_name,
        "text": draft.text,
        "original_text": draft.text,
        "state": (QuestionState.APPROVED if auto else QuestionState.PENDING).value,
        "flags": list(draft.flags),
        "starred": False,
        "votes": 0,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def _audit_rows(
    drafts: list[Draft], first: dict[tuple[int, str], int], rows: list[SimpleNamespace]
) -> list[dict[str, Any]]:
    """Submitted (by the viewer), then approved (by Podium) when auto-approved: the audit
    rows stored (no reason, no details)."""
    audits = []
    for index, row in zip(first.values(), rows, strict=True):
        actor = drafts[index].actor
        steps = [(actor, SUBMITTED)]
        if row.state == QuestionState.APPROVED:
            steps.append((Actor.system(), APPROVED))
        for who, action in steps:
            audits.append(
                {
                    "question_id": row.id,
                    "actor_kind": who.kind,
                    "actor_id": who.id,
                    "actor_name": who.name,
                    "action": action,
                }
            )
    return audits
