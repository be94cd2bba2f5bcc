"""Read-only use cases behind the HTTP API's GET routes."""

from __future__ import annotations

from typing import Any

from server.domain.questions import PUBLIC_STATES, QuestionState
from server.domain.ranking import rank
from server.services import views
from server.services.context import Actor, Services
from server.services.room_views import room_views
from server.store import events as event_store
from server.store import questions as question_store
from server.store.models import EventRow


class _Ranked:
    def __init__(self, view: dict[str, Any]) -> None:
        self.view, self.id, self.votes, self.created_seq = (
            view,
            view["id"],
            view["votes"],
            view["id"],
        )


async def public_questions(
    s: Services, event: EventRow, sort: str, session_id: int | None
) -> list[dict[str, Any]]:
    async with s.db.read() as session:
        rows = await question_store.list_for_event(session, event.id, sorted(PUBLIC_STATES))
    chosen = [views.public_question(r) for r in rows if session_id in (None, r.session_id)]
    return [item.view for item in rank([_Ranked(v) for v in chosen], sort)]


async def my_questions(s: Services, actor: Actor, event: EventRow) -> dict[str, Any]:
    async with s.db.read() as session:
        rows = await question_store.list_by_viewer(session, actor.id)
        voted = await question_store.voted_question_ids(session, actor.id)
    return {"questions": [views.author_question(r) for r in rows], "voted": voted}


async def staff_questions(s: Services, event: EventRow, wanted: Any) -> list[dict[str, Any]]:
    """Every question of the event, filtered as the moderator asked."""
    states = [QuestionState(wanted.state)] if wanted.state else None
    async with s.db.read() as session:
        rows = await question_store.list_for_event(session, event.id, states)

    def keep(row) -> bool:
        return (
            wanted.session_id in (None, row.session_id)
            and wanted.channel in (None, row.channel)
            and wanted.flagged in (None, bool(row.flags))
            and wanted.starred in (None, row.starred)
        )

    return [views.staff_question(r) for r in rows if keep(r)]


async def running_order(s: Services, event: EventRow, room_id: int) -> dict[str, Any]:
    async with s.db.read() as session:
        await event_store.room(session, event.id, room_id)
        rows = await question_store.running_order(session, room_id)
    return {"room_id": room_id, "questions": [views.staff_question(r) for r in rows]}


async def stage(s: Services, event: EventRow, room_id: int) -> dict[str, Any]:
    async with s.db.read() as session:
        room = await event_store.room(session, event.id, room_id)
        current = await question_store.on_stage(session, room_id)
    return {
        "room": {"id": room.id, "slug": room.slug, "name": room.name},
        "question": views.public_question(current) if current else None,
    }


async def rooms(s: Services, event: EventRow) -> list[dict[str, Any]]:
    async with s.db.read() as session:
        return list((await room_views(session, event.id, staff=False)).values())


async def room(s: Services, event: EventRow, room_id: int) -> dict[str, Any]:
    async with s.db.read() as session:
        await event_store.room(session, event.id, room_id)
        return (await room_views(session, event.id, staff=False, room_ids=[room_id]))[str(room_id)]
