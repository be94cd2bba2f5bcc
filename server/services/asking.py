"""Viewers' use cases: join, submit, vote, withdraw."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from server.domain.errors import Forbidden, InvalidInput, ViewerBlocked
from server.domain.events import QuestionApproved, QuestionSubmitted
from server.domain.geography import country_for_time_zone, normalise_country
from server.domain.questions import QuestionState, validate_text
from server.domain.screening import screen
from server.services import views
from server.services.auth import sign_viewer_token
from server.services.changes import Changes
from server.services.context import Actor, Services
from server.services.lifecycle import change_question, record_audit, simple
from server.store import accounts
from server.store import events as event_store
from server.store import questions as question_store
from server.store.models import EventRow, QuestionRow, ViewerRow

VOTABLE_STATES = frozenset({QuestionState.APPROVED, QuestionState.QUEUED, QuestionState.ON_STAGE})


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
    token = sign_viewer_token(s.settings.secret_key, event.id, viewer.id)
    return {"token": token, "viewer": viewer_view(viewer)}


async def set_display_name(
    s: Services, actor: Actor, event: EventRow, display_name: str | None
) -> dict[str, Any]:
    """Change the name shown with future questions; questions already asked keep theirs."""
    async with s.db.write() as work:
        viewer = await accounts.viewer(work.session, event.id, actor.id)
        viewer.display_name = _clean_name(display_name)
    return viewer_view(viewer)


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
    for _attempt in range(2):
        try:
            return await _submit_once(s, actor, event, client_id, cleaned, session_id, anonymous)
        except IntegrityError:
            continue  # the same client_id committed concurrently: the retry finds it
    raise AssertionError("unreachable")


async def _submit_once(
    s: Services,
    actor: Actor,
    event: EventRow,
    client_id: str,
    text: str,
    session_id: int | None,
    anonymous: bool,
) -> dict[str, Any]:
    async with s.db.write(event.id) as work:
        existing = await question_store.find_by_client_id(work.session, actor.id, client_id)
        if existing is not None:
            return {**views.author_question(existing), "duplicate": True}
        viewer = await accounts.viewer(work.session, event.id, actor.id)
        if viewer.blocked:
            raise ViewerBlocked("you can no longer submit questions to this event")
        s.question_limiter.take(("question", viewer.id))
        if session_id is not None:
            await event_store.agenda_session(work.session, event.id, session_id)
        if anonymous and not event.allow_anonymous:
            raise InvalidInput(
                "this event does not take anonymous questions",
                fields={"anonymous": "not allowed at this event"},
            )
        if not anonymous and not viewer.display_name:
            raise InvalidInput(
                "give a display name, or ask anonymously",
                fields={"anonymous": "a display name is needed to ask with your name"},
            )
        flags = screen(text)
        auto = event.auto_approve and not flags
        now = datetime.now(UTC)
        row = QuestionRow(
            event_id=event.id,
            viewer_id=viewer.id,
            client_id=client_id,
            session_id=session_id,
            channel=viewer.channel,
            author_name=None if anonymous else viewer.display_name,
            text=text,
            original_text=text,
            state=(QuestionState.APPROVED if auto else QuestionState.PENDING).value,
            flags=list(flags),
            starred=False,
            votes=0,
            version=1,
            created_at=now,
            updated_at=now,
        )
        work.session.add(row)
        await work.session.flush()
        events = [QuestionSubmitted(row.id)]
        record_audit(work, event.id, actor, events)
        if auto:
            events.append(QuestionApproved(row.id))
            record_audit(work, event.id, Actor.system(), events[1:])
        changes = Changes(work, event.id, s.publisher)
        changes.question(row, events)
        await changes.record()
        return {**views.author_question(row), "duplicate": False}


async def vote(
    s: Services, actor: Actor, event: EventRow, question_id: int, up: bool
) -> dict[str, Any]:
    """Add (or take back) the caller's vote. Votes on a merged duplicate go to its target."""
    s.vote_limiter.take(("vote", actor.id))
    async with s.db.write(event.id) as work:
        row = await question_store.get(work.session, event.id, question_id)
        while row.merged_into_id is not None:
            row = await question_store.get(work.session, event.id, row.merged_into_id)
        if QuestionState(row.state) not in VOTABLE_STATES:
            raise InvalidInput(
                f"cannot vote on a question that is {row.state}",
                fields={"question_id": f"question is {row.state}"},
            )
        if row.viewer_id == actor.id:
            raise Forbidden("you cannot vote on your own question")
        if up:
            changed = await question_store.add_vote(work.session, row.id, actor.id)
        else:
            changed = await question_store.remove_vote(work.session, row.id, actor.id)
        counts = await question_store.vote_counts(work.session, [row.id])
        if changed:
            work.after_commit(lambda: s.tally.mark(event.id, row.id))
    return {"question_id": row.id, "voted": up, "votes": counts[row.id], "changed": changed}


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
