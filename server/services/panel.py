"""Panel chairs' use cases: the running order of a stage, and what is on it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm.attributes import set_committed_value

from server.domain.errors import InvalidInput
from server.domain.events import QuestionEvent
from server.domain.questions import bring_to_stage
from server.domain.ranking import moved
from server.services import views
from server.services.changes import Changes
from server.services.context import Actor, Services
from server.services.lifecycle import change_question, simple
from server.store import events as event_store
from server.store import questions as question_store
from server.store.database import UnitOfWork
from server.store.models import EventRow, QuestionRow


async def queue(
    s: Services, actor: Actor, event: EventRow, question_id: int, room_id: int
) -> dict[str, Any]:
    """Add an approved question at the end of a stage's running order."""

    async def move(work, _row, question, _changes) -> list[QuestionEvent]:
        await event_store.room(work.session, event.id, room_id)
        return question.queue(room_id)

    async def settle(work: UnitOfWork, row: QuestionRow) -> None:
        order = [r.id for r in await question_store.running_order(work.session, room_id)]
        await _renumber(work, [qid for qid in order if qid != row.id] + [row.id], row)

    return await change_question(s, actor, event, question_id, move, views.staff_question, settle)


async def unqueue(s: Services, actor: Actor, event: EventRow, question_id: int) -> dict[str, Any]:
    move = simple(lambda q: q.unqueue())
    return await change_question(s, actor, event, question_id, move, views.staff_question)


async def put_on_stage(
    s: Services, actor: Actor, event: EventRow, question_id: int, room_id: int
) -> dict[str, Any]:
    """Show a question on a stage; the question already there counts as answered."""

    async def move(work, row, question, changes: Changes) -> list[QuestionEvent]:
        await event_store.room(work.session, event.id, room_id)
        current_row = await question_store.on_stage(work.session, room_id)
        current = question_store.to_domain(current_row) if current_row else None
        if current_row is not None and current_row.id != row.id:
            changes.watch(current_row)
        events = bring_to_stage(question, room_id, current)
        if current_row is not None:
            # The stage must be free before the new question takes it (unique index).
            await question_store.save(work.session, current_row, current)
            changes.question(current_row, events)
        return events

    return await change_question(s, actor, event, question_id, move, views.staff_question)


async def mark_answered(
    s: Services, actor: Actor, event: EventRow, question_id: int
) -> dict[str, Any]:
    move = simple(lambda q: q.mark_answered())
    return await change_question(s, actor, event, question_id, move, views.staff_question)


async def send_back(s: Services, actor: Actor, event: EventRow, question_id: int) -> dict[str, Any]:
    """Take a question off the stage, unanswered, and put it at the top of the running order."""

    async def settle(work: UnitOfWork, row: QuestionRow) -> None:
        order = [r.id for r in await question_store.running_order(work.session, row.stage_room_id)]
        await _renumber(work, [row.id] + [qid for qid in order if qid != row.id], row)

    move = simple(lambda q: q.send_back())
    return await change_question(s, actor, event, question_id, move, views.staff_question, settle)


async def reorder(
    s: Services, actor: Actor, event: EventRow, room_id: int, question_id: int, position: int
) -> dict[str, Any]:
    """Move one queued question to `position` (0 is next up) in a stage's running order."""
    async with s.db.write(event.id) as work:
        await event_store.room(work.session, event.id, room_id)
        order = [r.id for r in await question_store.running_order(work.session, room_id)]
        if question_id not in order:
            raise InvalidInput(
                f"question {question_id} is not in this stage's running order",
                fields={"question_id": "not in the running order"},
            )
        new_order = moved(order, question_id, position)
        if new_order != order:
            await question_store.set_running_order(work.session, new_order)
            event_store.audit(
                work.session,
                event_id=event.id,
                actor=actor,
                action="RunningOrderChanged",
                question_id=question_id,
                details={"room_id": room_id, "position": new_order.index(question_id)},
            )
            changes = Changes(work, event.id, s.publisher)
            changes.running_order(room_id)
            await changes.record()
        return {"room_id": room_id, "question_ids": new_order}


async def _renumber(work: UnitOfWork, order: list[int], row: QuestionRow) -> None:
    await question_store.set_running_order(work.session, order)
    set_committed_value(row, "queue_position", order.index(row.id))
