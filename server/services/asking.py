"""Viewers' use cases: join, submit, vote, withdraw."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from server.domain.geography import country_for_time_zone, normalise_country
from server.domain.questions import validate_text
from server.domain.screening import screen
from server.realtime.publisher import viewer_room
from server.services import submission_batch, views, vote_batch
from server.services.auth import sign_viewer_token
from server.services.context import Actor, Services
from server.services.lifecycle import change_question, simple
from server.services.submission_batch import Draft
from server.services.vote_batch import Ballot
from server.store import accounts
from server.store.models import EventRow, ViewerRow


async def join(
    s: Services,
    event: EventRow,
    display_name: str | None,
    channel: str,
    country: str | None = None,
    time_zone: str | None = None,
) -> dict[str, Any]:
    """Create an anonymous viewer for an event and hand back its signed token."""
    async with s.db.write() as work:
        viewer = ViewerRow(
            event_id=event.id,
            display_name=_clean_name(display_name),
            channel=channel,
            country=normalise_country(country) or country_for_time_zone(time_zone or ""),
            blocked=False,
            created_at=datetime.now(UTC),
        )
        work.session.add(viewer)
        await work.session.flush()
        view = viewer_view(viewer)
        if s.live is not None:
            work.after_commit(lambda: s.live.viewer_joined(event.id, view))
    token = sign_viewer_token(s.settings.secret_key, event.id, viewer.id)
    return {"token": token, "viewer": view}


async def set_display_name(
    s: Services, actor: Actor, event: EventRow, display_name: str | None
) -> dict[str, Any]:
    """Change the name shown with future questions; questions already asked keep theirs."""
    async with s.db.write() as work:
        viewer = await accounts.viewer(work.session, event.id, actor.id)
        viewer.display_name = _clean_name(display_name)
        view = viewer_view(viewer)
        # Their other tabs, and every worker's memory of them, learn the new name.
        work.after_commit(
            lambda: s.publisher.to_room(("/viewer",), viewer_room(viewer.id), "viewer", view)
        )
    return view


async def submit(
    s: Services,
    actor: Actor,
    event: EventRow,
    client_id: str,
    text: str,
    session_id: int | None,
    anonymous: bool,
) -> dict[str, Any]:
    """Store a question durably, then acknowledge it; a retried client_id returns the first."""
    cleaned = validate_text(text, event.max_question_length)
    # Screening is pure CPU: done before queueing for the write, it holds up no other writer.
    flags = screen(cleaned)
    draft = Draft(s, actor, event, client_id, cleaned, session_id, anonymous, flags)
    return await s.db.write_queued(event.id, submission_batch.store, draft)


async def vote(
    s: Services, actor: Actor, event: EventRow, question_id: int, up: bool
) -> dict[str, Any]:
    """Add (or take back) the caller's vote. Votes on a merged duplicate go to its target.

    Votes are stored in batches, a few statements for all the votes that arrived together
    (see server/services/vote_batch.py); the answer comes once the batch has committed."""
    s.vote_limiter.take(("vote", actor.id))
    ballot = Ballot(s, event.id, actor.id, question_id, up)
    return await s.db.write_queued(event.id, vote_batch.store, ballot)


async def withdraw(s: Services, actor: Actor, event: EventRow, question_id: int) -> dict[str, Any]:
    move = simple(lambda q: q.withdraw(actor.id))
    return await change_question(s, actor, event, question_id, move, views.author_question)


def viewer_view(viewer: ViewerRow) -> dict[str, Any]:
    return {
        "id": viewer.id,
        "display_name": viewer.display_name,
        "channel": viewer.channel,
        "blocked": viewer.blocked,
    }


def _clean_name(name: str | None) -> str | None:
    cleaned = (name or "").strip()
    return cleaned or None
