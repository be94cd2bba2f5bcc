"""Past-tense domain events. Each docstring is the documentation of the event."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QuestionEvent:
    question_id: int


@dataclass(frozen=True)
class QuestionSubmitted(QuestionEvent):
    """A viewer submitted a question; it waits for moderation unless auto-approved."""


@dataclass(frozen=True)
class QuestionApproved(QuestionEvent):
    """A moderator (or auto-approval) made the question public."""


@dataclass(frozen=True)
class QuestionRejected(QuestionEvent):
    """A moderator declined the question, optionally with a reason code."""

    reason: str | None


@dataclass(frozen=True)
class QuestionEdited(QuestionEvent):
    """A moderator changed the wording; the previous text is kept in the audit trail."""

    previous_text: str
    text: str


@dataclass(frozen=True)
class QuestionStarred(QuestionEvent):
    """A moderator suggested the question to the panel chair (or took that back)."""

    starred: bool


@dataclass(frozen=True)
class QuestionMerged(QuestionEvent):
    """The question was folded into `into_question_id` as a duplicate."""

    into_question_id: int


@dataclass(frozen=True)
class QuestionQueued(QuestionEvent):
    """The chair added the question to a stage's running order."""

    room_id: int


@dataclass(frozen=True)
class QuestionUnqueued(QuestionEvent):
    """The chair took the question out of the running order; it stays approved."""


@dataclass(frozen=True)
class QuestionPutOnStage(QuestionEvent):
    """The question is now shown on the stage screen of `room_id`."""

    room_id: int


@dataclass(frozen=True)
class QuestionAnswered(QuestionEvent):
    """The panel answered the question; it leaves the stage."""


@dataclass(frozen=True)
class QuestionSentBack(QuestionEvent):
    """The question left the stage unanswered and returned to the top of the running order."""


@dataclass(frozen=True)
class QuestionWithdrawn(QuestionEvent):
    """The author took the question back before it reached the stage."""


@dataclass(frozen=True)
class QuestionForwarded(QuestionEvent):
    """The question now belongs to another agenda session, e.g. from a workshop to the panel."""

    from_session_id: int | None
    to_session_id: int
