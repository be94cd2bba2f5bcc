"""What a (re)connecting client is sent: the updates it missed, or a fresh snapshot.

The stream's sequence number is read before the state, so a snapshot can only be newer
than its `seq`. Every update carries whole objects (never deltas), so applying an update
that the snapshot already reflects changes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.domain.questions import PUBLIC_STATES
from server.services import views
from server.services.asking import viewer_view
from server.services.catalog import event_detail
from server.services.context import Actor, Services
from server.services.room_views import room_views
from server.store import broadcasts
from server.store import events as event_store
from server.store import questions as question_store
from server.store.models import EventRow, ViewerRow


async def viewer_sync(
    s: Services, actor: Actor, event: EventRow, since: int | None
) -> dict[str, Any]:
    """Served from memory (server/services/live_state.py) where the app keeps it."""
    if s.live is not None:
        return await s.live.viewer_sync(actor.id, event, since)
    return await viewer_sync_from_database(s, actor, event, since)


async def viewer_sync_from_database(
    s: Services, actor: Actor, event: EventRow, since: int | None
) -> dict[str, Any]:
    async with s.db.read() as session:
        result = await _catch_up(s, session, event.id, "public", since)
        if result is None:
            result = await public_snapshot(session, event)
        viewer = await session.get(ViewerRow, actor.id)
        mine = await question_store.list_by_viewer(session, actor.id)
        result["mine"] = [views.author_question(row) for row in mine]
        result["my_votes"] = await question_store.voted_question_ids(session, actor.id)
        result["viewer"] = viewer_view(viewer)
    return result


async def staff_sync(s: Services, event: EventRow, since: int | None) -> dict[str, Any]:
    async with s.db.read() as session:
        result = await _catch_up(s, session, event.id, "staff", since)
        if result is not None:
            return result
        seq = await broadcasts.current_seq(session, event.id, "staff")
        rows = await question_store.list_for_event(session, event.id)
        rooms = await event_store.rooms(session, event.id)
        orders = {}
        for room in rooms:
            orders[str(room.id)] = [
                r.id for r in await question_store.running_order(session, room.id)
            ]
        return {
            "mode": "snapshot",
            "seq": seq,
            "event": await event_detail(session, event),
            "questions": [views.staff_question(row) for row in rows],
            "running_orders": orders,
            "stages": await _stages(session, event.id),
            "rooms": await room_views(session, event.id, staff=True),
        }


async def stage_sync(s: Services, event: EventRow, since: int | None) -> dict[str, Any]:
    async with s.db.read() as session:
        result = await _catch_up(s, session, event.id, "public", since)
        if result is not None:
            return result
        seq = await broadcasts.current_seq(session, event.id, "public")
        return {
            "mode": "snapshot",
            "seq": seq,
            "event": await event_detail(session, event),
            "stages": await _stages(session, event.id),
            "rooms": await room_views(session, event.id, staff=False),
        }


async def _catch_up(
    s: Services, session: AsyncSession, event_id: int, stream: str, since: int | None
) -> dict[str, Any] | None:
    if since is None:
        return None
    current = await broadcasts.current_seq(session, event_id, stream)
    if since > current:
        return None  # a sequence from another database: start afresh
    entries = await broadcasts.since(
        session, event_id, stream, since, s.settings.catchup_max_entries
    )
    if entries is None:
        return None
    return {"mode": "catchup", "seq": entries[-1]["seq"] if entries else since, "entries": entries}


async def public_snapshot(session: AsyncSession, event: EventRow) -> dict[str, Any]:
    seq = await broadcasts.current_seq(session, event.id, "public")
    rows = await question_store.list_for_event(session, event.id, sorted(PUBLIC_STATES))
    return {
        "mode": "snapshot",
        "seq": seq,
        "event": await event_detail(session, event),
        "questions": [views.public_question(row) for row in rows],
        "stages": await _stages(session, event.id),
        "rooms": await room_views(session, event.id, staff=False),
    }


async def _stages(session: AsyncSession, event_id: int) -> dict[str, Any]:
    stages = {}
    for room in await event_store.rooms(session, event_id):
        current = await question_store.on_stage(session, room.id)
        stages[str(room.id)] = views.public_question(current) if current else None
    return stages
