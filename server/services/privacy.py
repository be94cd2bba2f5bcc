"""Personal data: registration with consent, a viewer's own copy or erasure, and the
retention purge that leaves only counts behind. docs/privacy.md lists every field."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from server.domain.errors import InvalidInput
from server.services import views
from server.services.changes import Changes
from server.services.context import Actor, Services
from server.store import accounts, broadcasts
from server.store import attendance as attendance_store
from server.store import events as event_store
from server.store import questions as question_store
from server.store.models import EventRow, RegistrationRow

log = logging.getLogger(__name__)
FIRST_PURGE_DELAY_SECONDS = 30


async def register(
    s: Services,
    actor: Actor,
    event: EventRow,
    name: str,
    organisation: str,
    accessibility_needs: str,
    consent: bool,
) -> dict[str, Any]:
    if not event.registration_enabled:
        raise InvalidInput("this event does not ask for registration")
    if not consent:
        raise InvalidInput("registration needs your consent", fields={"consent": "required"})
    async with s.db.write(event.id) as work:
        await accounts.viewer(work.session, event.id, actor.id)
        row = await work.session.get(RegistrationRow, actor.id)
        if row is None:
            row = RegistrationRow(
                viewer_id=actor.id, event_id=event.id, created_at=datetime.now(UTC)
            )
            work.session.add(row)
        row.name, row.organisation = name, organisation
        row.accessibility_needs, row.consent = accessibility_needs, consent
    return _registration_view(row)


async def my_data(s: Services, actor: Actor, event: EventRow) -> dict[str, Any]:
    """Everything Podium holds about this viewer, as they can download it."""
    async with s.db.read() as session:
        viewer = await accounts.viewer(session, event.id, actor.id)
        registration = await session.get(RegistrationRow, actor.id)
        asked = await question_store.list_by_viewer(session, actor.id)
        voted = await question_store.voted_question_ids(session, actor.id)
    return {
        "event": event.slug,
        "viewer": {
            "id": viewer.id,
            "display_name": viewer.display_name,
            "channel": viewer.channel,
            "country": viewer.country,
            "joined_at": views.iso(viewer.created_at),
        },
        "registration": _registration_view(registration) if registration else None,
        "questions": [views.author_question(row) for row in asked],
        "votes": voted,
        "attendance": "counted under a salted key that Podium cannot link back to you",
        "not_kept": ["IP addresses", "browser fingerprints", "e-mail addresses"],
    }


async def erase_me(s: Services, actor: Actor, event: EventRow) -> dict[str, Any]:
    """Forget a viewer: name, country and registration go; their questions stay, unsigned."""
    async with s.db.write(event.id) as work:
        viewer = await accounts.viewer(work.session, event.id, actor.id)
        await accounts.anonymise_viewers(work.session, [viewer.id])
        # Updates already logged still carry the name: forget them (clients that reconnect
        # get a fresh snapshot), then tell everyone connected that the questions are unsigned.
        await _forget_broadcast_log(work, event.id)
        changes = Changes(work, event.id, s.publisher)
        for row in await question_store.list_by_viewer(work.session, viewer.id):
            await work.session.refresh(row)
            changes.question(row)
        await changes.record()
        if s.live is not None:  # what the viewers' memory held of them goes too
            work.after_commit(lambda: s.live.forget(event.id, actor.id))
    return {"erased": True}


async def _forget_broadcast_log(work, event_id: int) -> None:
    for stream in broadcasts.STREAMS:
        await broadcasts.prune(work.session, event_id, stream, keep=0)


async def purge_event(s: Services, event_id: int) -> dict[str, int]:
    """Anonymise an event's personal data; its figures (counts, watch time) remain."""
    async with s.db.write(event_id) as work:
        event = await event_store.by_id(work.session, event_id)
        viewer_ids = await accounts.viewer_ids(work.session, event_id)
        await accounts.anonymise_viewers(work.session, viewer_ids)
        # Without the salt the attendance keys cannot be recomputed for anyone.
        event.attendance_salt = None
        event.purged_at = datetime.now(UTC)
        await attendance_store.close_all(work.session, event_id, reason="purged")
        await _forget_broadcast_log(work, event_id)
        event_store.audit(
            work.session,
            event_id=event_id,
            actor=Actor.system(),
            action="PersonalDataPurged",
            details={"viewers": len(viewer_ids)},
        )
        if s.live is not None:  # names held in memory for connecting viewers go too
            work.after_commit(lambda: s.live.forget(event_id))
    log.info("purged personal data of event %s (%d viewers)", event_id, len(viewer_ids))
    return {"event_id": event_id, "viewers": len(viewer_ids)}


async def purge_due(s: Services, now: datetime | None = None) -> list[int]:
    """Purge every event whose retention window (after its last session) has passed."""
    now = now or datetime.now(UTC)
    due = []
    async with s.db.read() as session:
        for event in await event_store.list_all(session):
            if event.purged_at is not None:
                continue
            agenda = await event_store.agenda(session, event.id)
            ended = max(
                (views.as_utc(a.ends_at) for a in agenda), default=views.as_utc(event.created_at)
            )
            if now >= ended + timedelta(days=event.retention_days):
                due.append(event.id)
    for event_id in due:
        await purge_event(s, event_id)
    return due


async def run(s: Services) -> None:
    # Not at the very start: a server stopped straight after starting would only cut the
    # purge short mid-query (a cut that once hung the loop's close: see SqliteConnection).
    await asyncio.sleep(FIRST_PURGE_DELAY_SECONDS)
    while True:
        try:
            await purge_due(s)
        except Exception:  # retried next round
            log.exception("retention purge failed")
        await asyncio.sleep(s.settings.purge_check_minutes * 60)


def _registration_view(row: RegistrationRow) -> dict[str, Any]:
    return {
        "name": row.name,
        "organisation": row.organisation,
        "accessibility_needs": row.accessibility_needs,
        "consent": row.consent,
    }
