"""How a question is shown to each audience. The public never sees moderation details."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from server.domain.questions import PUBLIC_STATES, QuestionState
from server.store.models import QuestionRow


def as_utc(moment: datetime) -> datetime:
    """The moment in UTC; SQLite hands timestamps back without their zone (they are UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@lru_cache(maxsize=1024)
def iso(moment: datetime) -> str:
    """ISO 8601 in UTC. Cached: a batch of questions, and each question's views, share a few
    timestamps (a naive and an aware moment are unequal, so they never share an entry)."""
    return as_utc(moment).isoformat()


def is_public(row: QuestionRow) -> bool:
    return row.state in PUBLIC_STATES  # a StrEnum: its members hash and compare as strings


def public_question(row: QuestionRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "text": row.text,
        "author": row.author_name,
        "session_id": row.session_id,
        "forwarded_from_session_id": row.forwarded_from_session_id,
        "state": row.state,
        "votes": row.votes,
        "stage_room_id": row.stage_room_id if row.state == QuestionState.ON_STAGE else None,
        "created_at": iso(row.created_at),
    }


def author_question(row: QuestionRow, public: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the author sees of their own question, in every state; `public` is the row's
    public_question when the caller has built it already."""
    return {
        **(public or public_question(row)),
        "client_id": row.client_id,
        "reject_reason": row.reject_reason,
        "merged_into_id": row.merged_into_id,
    }


def staff_question(row: QuestionRow, public: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything staff need; a queued question's place is in the `running_order` updates.
    `public`: as for author_question."""
    return {
        **(public or public_question(row)),
        "stage_room_id": row.stage_room_id,
        "viewer_id": row.viewer_id,
        "channel": row.channel,
        "original_text": row.original_text,
        "flags": list(row.flags or []),
        "starred": row.starred,
        "reject_reason": row.reject_reason,
        "merged_into_id": row.merged_into_id,
        "version": row.version,
        "updated_at": iso(row.updated_at),
    }
