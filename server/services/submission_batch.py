"""Submitted questions, stored a batch at a time: a few set-based statements, one commit.

`asking.submit` validates and screens a question (pure CPU, outside any transaction) and
queues it with `Database.write_queued`; the event's one writer hands every question queued
meanwhile to `store`, which, in one unit of work:

- reads which (viewer, client id) pairs are already stored, the authors, and the agenda
  sessions named, one statement each;
- checks each question in turn, exactly as a lone submission would be checked, so that one
  refused question (a blocked author, another event's session) fails alone;
- inserts the rest with one multi-row INSERT ... RETURNING their ids, their audit rows with
  one more, and numbers their broadcasts with one UPDATE and one INSERT per stream; the
  views are built from the values inserted (each question's public view once, shared by
  its staff and author views), never read back.

After the commit the broadcasts are published in order and every caller gets its answer; a
retried client id (in an earlier batch or this one) gets the question stored first.
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
from server.services.changes import question_entries, record_entries
from server.services.context import Actor
from server.store import questions as question_store
from server.store.database import UnitOfWork
from server.store.models import EventRow

if TYPE_CHECKING:
    from sqlalchemy import Row

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


async def store(work: UnitOfWork, drafts: list[Draft]) -> list[Any]:
    """Store a batch of drafts of one event; one outcome (answer or error) per draft."""
    session = work.session
    event_id = drafts[0].event.id
    keys = {(draft.actor.id, draft.client_id) for draft in drafts}
    earlier = {
        (row.viewer_id, row.client_id): row
        for row in await question_store.by_client_ids(session, keys)
    }
    authors = await question_store.viewers_by_id(session, {draft.actor.id for draft in drafts})
    named = {draft.session_id for draft in drafts if draft.session_id is not None}
    sessions = await question_store.agenda_session_ids(session, event_id, named)

    now = datetime.now(UTC)
    outcomes: list[Any] = [None] * len(drafts)
    first: dict[tuple[int, str], int] = {}  # each new pair, and the draft that stores it
    values: list[dict[str, Any]] = []
    for index, draft in enumerate(drafts):
        key = (draft.actor.id, draft.client_id)
        if key in earlier or key in first:
            continue  # a retry: answered with the question stored first, below
        try:
            values.append(_checked(draft, authors.get(draft.actor.id), sessions, now))
        except DomainError as error:
            outcomes[index] = error
            continue
        first[key] = index

    ids = await question_store.insert_many(session, values)
    # The stored rows are what was inserted, with their new ids: nothing to read back. In
    # queue order, which is commit order (`values` was built in step with `first`).
    rows = [
        SimpleNamespace(**value, **UNSET, id=ids[key])
        for key, value in zip(first, values, strict=True)
    ]
    await question_store.audit_many(session, _audit_rows(drafts, first, rows, now))
    public: list[dict[str, Any]] = []
    staff: list[dict[str, Any]] = []
    told: list[tuple[int, dict[str, Any]]] = []
    answers: dict[tuple[int, str], dict[str, Any]] = {}
    for key, row in zip(first, rows, strict=True):
        causes = [SUBMITTED, APPROVED] if row.state == QuestionState.APPROVED else [SUBMITTED]
        answers[key] = question_entries(row, False, causes, public, staff, told)
    await record_entries(work, event_id, drafts[0].services.publisher, public, staff, told)

    for index, draft in enumerate(drafts):
        if outcomes[index] is None:
            key = (draft.actor.id, draft.client_id)
            if key not in answers:
                answers[key] = views.author_question(earlier[key])
            outcomes[index] = {**answers[key], "duplicate": first.get(key) != index}
    return outcomes


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
    drafts: list[Draft],
    first: dict[tuple[int, str], int],
    rows: list[SimpleNamespace],
    now: datetime,
) -> list[dict[str, Any]]:
    """Submitted (by the viewer), then approved (by Podium) when auto-approved."""
    audits = []
    for index, row in zip(first.values(), rows, strict=True):
        actor = drafts[index].actor
        steps = [(actor, SUBMITTED)]
        if row.state == QuestionState.APPROVED:
            steps.append((Actor.system(), APPROVED))
        for who, action in steps:
            audits.append(
                {
                    "event_id": row.event_id,
                    "question_id": row.id,
                    "actor_kind": who.kind,
                    "actor_id": who.id,
                    "actor_name": who.name,
                    "action": action,
                    "reason": None,
                    "details": {},
                    "created_at": now,
                }
            )
    return audits
