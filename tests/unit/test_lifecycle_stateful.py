"""Random sequences of moderator, chair and author moves keep a small event consistent."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from server.domain import events as ev
from server.domain.errors import Forbidden, IllegalTransition, InvalidInput
from server.domain.questions import (
    LEGAL_SOURCES,
    REJECT_REASONS,
    Question,
    QuestionState,
    bring_to_stage,
)

S = QuestionState
QUESTION_IDS = (1, 2, 3, 4, 5)
ROOMS = (10, 20)
MAX_LENGTH = 60
STAGED_STATES = {S.QUEUED, S.ON_STAGE, S.ANSWERED}  # answered questions keep their room

rooms = st.sampled_from(ROOMS)
texts = st.sampled_from(["", "   ", "x" * (MAX_LENGTH + 1), "Why?", " Why? ", "What next?"])
reasons = st.sampled_from([*REJECT_REASONS, None, "not-a-reason"])


def author_of(question_id: int) -> int:
    return 100 + question_id


class EventLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.questions = {
            qid: Question(id=qid, author_viewer_id=author_of(qid), state=S.PENDING, text="Why?")
            for qid in QUESTION_IDS
        }

    def on_stage_in(self, room_id: int) -> Question | None:
        staged = [q for q in self.questions.values() if q.state is S.ON_STAGE]
        return next((q for q in staged if q.stage_room_id == room_id), None)

    def attempt(self, move: Callable[[], list[ev.QuestionEvent]], legal: bool) -> None:
        """Run a move; a refused one changes nothing, an accepted one reports every change.

        `legal` is whether the lifecycle table (and, for withdrawals, authorship) allows it.
        """
        before = {qid: dataclasses.replace(q) for qid, q in self.questions.items()}
        try:
            events = move()
        except (IllegalTransition, Forbidden, InvalidInput) as error:
            assert self.questions == before, f"refused move ({error}) changed a question"
            if isinstance(error, IllegalTransition):
                assert not legal, f"the table allows this move but it raised: {error}"
            return
        assert legal, "the table forbids this move but it was accepted"
        changed = {qid for qid, q in self.questions.items() if q != before[qid]}
        reported = {event.question_id for event in events}
        assert reported == changed, f"events {events} do not match changed questions {changed}"

    def is_legal(self, action: str, question_id: int) -> bool:
        return self.questions[question_id].state in LEGAL_SOURCES[action]

    def pick(self, data: st.DataObject, action: str) -> int:
        """A question id; half the time one the move is legal for, so runs get deep."""
        legal = [qid for qid in QUESTION_IDS if self.is_legal(action, qid)]
        aim = bool(legal) and data.draw(st.booleans(), label="aim")
        return data.draw(st.sampled_from(legal if aim else QUESTION_IDS), label=action)

    @rule(data=st.data())
    def approve(self, data):
        qid = self.pick(data, "approve")
        self.attempt(self.questions[qid].approve, self.is_legal("approve", qid))

    @rule(data=st.data(), reason=reasons)
    def reject(self, data, reason):
        qid = self.pick(data, "reject")
        legal = self.is_legal("reject", qid)
        self.attempt(lambda: self.questions[qid].reject(reason), legal)

    @rule(data=st.data(), text=texts)
    def edit(self, data, text):
        qid = self.pick(data, "edit")
        legal = self.is_legal("edit", qid)
        self.attempt(lambda: self.questions[qid].edit(text, MAX_LENGTH), legal)

    @rule(data=st.data(), starred=st.booleans())
    def star(self, data, starred):
        qid = self.pick(data, "star")
        self.attempt(lambda: self.questions[qid].star(starred), self.is_legal("star", qid))

    @rule(data=st.data())
    def merge(self, data):
        qid = self.pick(data, "merge")
        into = self.pick(data, "merge into")
        legal = qid != into and self.is_legal("merge", qid) and self.is_legal("merge into", into)
        self.attempt(lambda: self.questions[qid].merge_into(self.questions[into]), legal)

    @rule(data=st.data(), room=rooms)
    def queue(self, data, room):
        qid = self.pick(data, "queue")
        self.attempt(lambda: self.questions[qid].queue(room), self.is_legal("queue", qid))

    @rule(data=st.data())
    def unqueue(self, data):
        qid = self.pick(data, "unqueue")
        self.attempt(self.questions[qid].unqueue, self.is_legal("unqueue", qid))

    @rule(data=st.data(), room=rooms)
    def bring_to_stage(self, data, room):
        qid = self.pick(data, "put on stage")
        current = self.on_stage_in(room)
        legal = self.is_legal("put on stage", qid) and current is not self.questions[qid]
        self.attempt(lambda: bring_to_stage(self.questions[qid], room, current), legal)

    @rule(data=st.data())
    def mark_answered(self, data):
        qid = self.pick(data, "mark answered")
        self.attempt(self.questions[qid].mark_answered, self.is_legal("mark answered", qid))

    @rule(data=st.data())
    def send_back(self, data):
        qid = self.pick(data, "send back")
        self.attempt(self.questions[qid].send_back, self.is_legal("send back", qid))

    @rule(data=st.data(), by_author=st.booleans())
    def withdraw(self, data, by_author):
        qid = self.pick(data, "withdraw")
        viewer = author_of(qid) if by_author else 999
        legal = by_author and self.is_legal("withdraw", qid)
        self.attempt(lambda: self.questions[qid].withdraw(viewer), legal)

    @invariant()
    def at_most_one_question_on_stage_per_room(self):
        for room in ROOMS:
            staged = [
                q.id
                for q in self.questions.values()
                if q.state is S.ON_STAGE and q.stage_room_id == room
            ]
            assert len(staged) <= 1, f"room {room} shows {staged}"

    @invariant()
    def stage_room_is_set_exactly_for_queued_on_stage_and_answered_questions(self):
        for q in self.questions.values():
            assert (q.stage_room_id is not None) == (q.state in STAGED_STATES), q
            assert q.stage_room_id is None or q.stage_room_id in ROOMS, q

    @invariant()
    def merged_questions_point_at_another_known_question(self):
        for q in self.questions.values():
            assert (q.merged_into_id is not None) == (q.state is S.MERGED), q
            if q.merged_into_id is not None:
                assert q.merged_into_id in self.questions and q.merged_into_id != q.id, q

    @invariant()
    def closed_questions_are_never_starred(self):
        for q in self.questions.values():
            if q.state in (S.REJECTED, S.WITHDRAWN, S.MERGED):
                assert not q.starred, q

    @invariant()
    def only_rejected_questions_carry_a_reject_reason(self):
        for q in self.questions.values():
            if q.reject_reason is not None:
                assert q.state is S.REJECTED and q.reject_reason in REJECT_REASONS, q

    @invariant()
    def text_is_always_stripped_non_empty_and_within_the_limit(self):
        for q in self.questions.values():
            assert q.text and q.text == q.text.strip() and len(q.text) <= MAX_LENGTH, q


TestEventLifecycle = EventLifecycle.TestCase
TestEventLifecycle.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)
