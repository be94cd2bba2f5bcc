"""The one path every question state change takes: load, move, save, audit, broadcast."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from server.domain.errors import Conflict
from server.domain.events import QuestionEvent
from server.domain.questions import Question, QuestionState
from server.services.changes import Changes
from server.services.context import Actor, Services
from server.store import events as event_store
from server.store import questions as question_store
from server.store.database import UnitOfWork
from server.store.models import EventRow, QuestionRow

Move = Callable[[UnitOfWork, QuestionRow, Question, Changes], Awaitable[list[QuestionEvent]]]
Settle = Callable[[UnitOfWork, QuestionRow], Awaitable[None]]
View = Callable[[QuestionRow], dict[str, Any]]

CONFLICT_RETRIES = 3


def simple(step: Callable[[Question], list[QuestionEvent]]) -> Move:
    """A move that needs nothing but the question itself."""

    async def move(_work, _row, question, _changes) -> list[QuestionEvent]:
        return step(question)

    return move


async def change_question(
    services: Services,
    actor: Actor,
    event: EventRow,
    question_id: int,
    move: Move,
    view: View,
    settle: Settle | None = None,
) -> dict[str, Any]:
    """Apply `move` to a question; a concurrent change elsewhere makes it retry from a reload."""
    for attempt in range(CONFLICT_RETRIES):
        try:
            async with services.db.write(event.id) as work:
                row = await question_store.get(work.session, event.id, question_id)
                changes = Changes(work, event.id, services.publisher)
                changes.watch(row)
                before = (row.state, row.stage_room_id)
                question = question_store.to_domain(row)
                events = await move(work, row, question, changes)
                if events:
                    await question_store.save(work.session, row, question)
                    if settle is not None:
                        await settle(work, row)
                    changes.question(row, events)
                    for state, room_id in (before, (row.state, row.stage_room_id)):
                        if state == QuestionState.QUEUED:
                            changes.running_order(room_id)
                        if state == QuestionState.ON_STAGE:
                            changes.stage(room_id)
                    record_audit(work, event.id, actor, events)
                    await changes.record()
                return view(row)
        except Conflict:
            if attempt == CONFLICT_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def record_audit(
    work: UnitOfWork, event_id: int, actor: Actor, events: list[QuestionEvent]
) -> None:
    for event in events:
        details = asdict(event)
        question_id = details.pop("question_id")
        event_store.audit(
            work.session,
            event_id=event_id,
            actor=actor,
            action=type(event).__name__,
            question_id=question_id,
            reason=details.pop("reason", None),
            details=details,
        )
