"""The question lifecycle as an explicit state machine.

Every move checks the current state against a table of legal source states, mutates the
question and returns the past-tense events it caused. An illegal move raises
`IllegalTransition`, naming the state the question is in.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from server.domain import events as ev
from server.domain.errors import Forbidden, IllegalTransition, InvalidInput


class QuestionState(StrEnum):
    PENDING = "pending"  # waiting for moderation
    APPROVED = "approved"
    QUEUED = "queued"  # in a stage's running order
    ON_STAGE = "on_stage"
    ANSWERED = "answered"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    MERGED = "merged"


S = QuestionState
PUBLIC_STATES = frozenset({S.APPROVED, S.QUEUED, S.ON_STAGE, S.ANSWERED})
OPEN_STATES = frozenset({S.PENDING, S.APPROVED, S.QUEUED})

# action -> states it may start from
LEGAL_SOURCES: dict[str, frozenset[QuestionState]] = {
    "approve": frozenset({S.PENDING, S.REJECTED}),
    "reject": frozenset({S.PENDING, S.APPROVED}),
    "edit": OPEN_STATES,
    "star": OPEN_STATES,
    "merge": OPEN_STATES,
    "merge into": frozenset({S.PENDING, S.APPROVED, S.QUEUED, S.ON_STAGE, S.ANSWERED}),
    "queue": frozenset({S.APPROVED}),
    "unqueue": frozenset({S.QUEUED}),
    "put on stage": frozenset({S.APPROVED, S.QUEUED}),
    "mark answered": frozenset({S.ON_STAGE}),
    "send back": frozenset({S.ON_STAGE}),
    "withdraw": OPEN_STATES,
    "forward": OPEN_STATES,
}

REJECT_REASONS = ("off_topic", "duplicate", "inappropriate", "personal_data", "answered", "other")


def validate_text(text: str, max_length: int) -> str:
    """Normalise whitespace at the ends and enforce the event's length limit."""
    cleaned = text.strip()
    if not cleaned:
        raise InvalidInput("the question is empty", fields={"text": "must not be empty"})
    if len(cleaned) > max_length:
        raise InvalidInput(
            f"the question is longer than {max_length} characters",
            fields={"text": f"at most {max_length} characters"},
        )
    return cleaned


@dataclass
class Question:
    id: int
    author_viewer_id: int
    state: QuestionState
    text: str
    starred: bool = False
    stage_room_id: int | None = None
    reject_reason: str | None = None
    merged_into_id: int | None = None
    session_id: int | None = None
    forwarded_from_session_id: int | None = None

    def _require(self, action: str) -> None:
        if self.state not in LEGAL_SOURCES[action]:
            raise IllegalTransition(action, self.state.value)

    def approve(self) -> list[ev.QuestionEvent]:
        self._require("approve")
        self.state, self.reject_reason = S.APPROVED, None
        return [ev.QuestionApproved(self.id)]

    def reject(self, reason: str | None) -> list[ev.QuestionEvent]:
        self._require("reject")
        if reason is not None and reason not in REJECT_REASONS:
            raise InvalidInput("unknown reject reason", fields={"reason": "unknown reason code"})
        self.state, self.reject_reason, self.starred = S.REJECTED, reason, False
        return [ev.QuestionRejected(self.id, reason)]

    def edit(self, text: str, max_length: int) -> list[ev.QuestionEvent]:
        self._require("edit")
        new_text = validate_text(text, max_length)
        if new_text == self.text:
            return []
        previous, self.text = self.text, new_text
        return [ev.QuestionEdited(self.id, previous, new_text)]

    def star(self, starred: bool) -> list[ev.QuestionEvent]:
        self._require("star")
        if self.starred == starred:
            return []
        self.starred = starred
        return [ev.QuestionStarred(self.id, starred)]

    def merge_into(self, target: Question) -> list[ev.QuestionEvent]:
        """Fold this duplicate into `target`; votes are combined by the store."""
        if target.id == self.id:
            raise InvalidInput(
                "a question cannot be merged into itself",
                fields={"into_question_id": "same question"},
            )
        self._require("merge")
        if target.state not in LEGAL_SOURCES["merge into"]:
            raise IllegalTransition("merge into", target.state.value)
        self.state, self.merged_into_id = S.MERGED, target.id
        self.stage_room_id, self.starred = None, False
        return [ev.QuestionMerged(self.id, target.id)]

    def queue(self, room_id: int) -> list[ev.QuestionEvent]:
        self._require("queue")
        self.state, self.stage_room_id = S.QUEUED, room_id
        return [ev.QuestionQueued(self.id, room_id)]

    def unqueue(self) -> list[ev.QuestionEvent]:
        self._require("unqueue")
        self.state, self.stage_room_id = S.APPROVED, None
        return [ev.QuestionUnqueued(self.id)]

    def put_on_stage(self, room_id: int) -> list[ev.QuestionEvent]:
        self._require("put on stage")
        self.state, self.stage_room_id = S.ON_STAGE, room_id
        return [ev.QuestionPutOnStage(self.id, room_id)]

    def mark_answered(self) -> list[ev.QuestionEvent]:
        self._require("mark answered")
        self.state = S.ANSWERED
        return [ev.QuestionAnswered(self.id)]

    def send_back(self) -> list[ev.QuestionEvent]:
        self._require("send back")
        self.state = S.QUEUED
        return [ev.QuestionSentBack(self.id)]

    def forward(self, session_id: int) -> list[ev.QuestionEvent]:
        """Hand a question (say, from a workshop) to the session that will take it (a panel)."""
        self._require("forward")
        if session_id == self.session_id:
            return []
        if self.forwarded_from_session_id is None:
            self.forwarded_from_session_id = self.session_id
        previous, self.session_id = self.session_id, session_id
        return [ev.QuestionForwarded(self.id, previous, session_id)]

    def withdraw(self, by_viewer_id: int) -> list[ev.QuestionEvent]:
        if by_viewer_id != self.author_viewer_id:
            raise Forbidden("only the author can withdraw a question")
        self._require("withdraw")
        self.state, self.stage_room_id, self.starred = S.WITHDRAWN, None, False
        return [ev.QuestionWithdrawn(self.id)]


def bring_to_stage(
    question: Question, room_id: int, currently_on_stage: Question | None
) -> list[ev.QuestionEvent]:
    """Put `question` on the stage of `room_id`; the one already there counts as answered.

    A stage shows one question at a time, and moving on to the next question is how a
    chair signals that the panel has dealt with the previous one.
    """
    if currently_on_stage is not None and currently_on_stage.id == question.id:
        raise IllegalTransition("put on stage", question.state.value)
    question._require("put on stage")
    events: list[ev.QuestionEvent] = []
    if currently_on_stage is not None:
        events += currently_on_stage.mark_answered()
    return events + question.put_on_stage(room_id)
