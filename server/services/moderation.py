"""Moderators' use cases: approve, reject, edit, star, merge, block."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm.attributes import set_committed_value

from server.domain.events import QuestionEvent
from server.realtime.publisher import viewer_room
from server.services import views
from server.services.asking import viewer_view
from server.services.changes import Changes
from server.services.context import Actor, Services
from server.services.lifecycle import change_question, simple
from server.store import accounts
from server.store import events as event_store
from server.store import questions as question_store
from server.store.models import EventRow


async def approve(s: Services, actor: Actor, event: EventRow, question_id: int) -> dict[str, Any]:
    move = simple(lambda q: q.approve())
    return await change_question(s, actor, event, question_id, move, views.staff_question)


async def reject(
    s: Services, actor: Actor, event: EventRow, question_id: int, reason: str | None
) -> dict[str, Any]:
    move = simple(lambda q: q.reject(reason))
    return await change_question(s, actor, event, question_id, move, views.staff_question)


async def edit(
    s: Services, actor: Actor, event: EventRow, question_id: int, text: str
) -> dict[str, Any]:
    move = simple(lambda q: q.edit(text, event.max_question_length))
    return await change_question(s, actor, event, question_id, move, views.staff_question)


async def star(
    s: Services, actor: Actor, event: EventRow, question_id: int, starred: bool
) -> dict[str, Any]:
    move = simple(lambda q: q.star(starred))
    return await change_question(s, actor, event, question_id, move, views.staff_question)


async def merge(
    s: Services, actor: Actor, event: EventRow, question_id: int, into_question_id: int
) -> dict[str, Any]:
    """Fold a duplicate into another question; each voter of either counts once."""

    async def move(work, row, question, changes: Changes) -> list[QuestionEvent]:
        target = await question_store.get(work.session, event.id, into_question_id)
        changes.watch(target)
        events = question.merge_into(question_store.to_domain(target))
        votes = await question_store.move_votes(work.session, row.id, target.id)
        set_committed_value(target, "votes", votes)
        changes.question(target)
        return events

    return await change_question(s, actor, event, question_id, move, views.staff_question)


async def set_viewer_blocked(
    s: Services, actor: Actor, event: EventRow, viewer_id: int, blocked: bool
) -> dict[str, Any]:
    """Stop (or allow again) a viewer submitting questions; what they asked before stays."""
    async with s.db.write(event.id) as work:
        viewer = await accounts.viewer(work.session, event.id, viewer_id)
        if viewer.blocked != blocked:
            viewer.blocked = blocked
            event_store.audit(
                work.session,
                event_id=event.id,
                actor=actor,
                action="ViewerBlocked" if blocked else "ViewerUnblocked",
                details={"viewer_id": viewer_id},
            )
            changes = Changes(work, event.id, s.publisher)
            changes.extra_staff({"type": "viewer", "viewer_id": viewer_id, "blocked": blocked})
            await changes.record()
            # The viewer learns at once, rather than on their next attempt to ask.
            view = viewer_view(viewer)
            work.after_commit(
                lambda: s.publisher.to_room(("/viewer",), viewer_room(viewer_id), "viewer", view)
            )
        return {"viewer_id": viewer_id, "blocked": viewer.blocked}
