"""The question lifecycle: legal moves, their events, and every illegal move refused."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from server.domain import events as ev
from server.domain.errors import Forbidden, IllegalTransition, InvalidInput
from server.domain.questions import (
    LEGAL_SOURCES,
    REJECT_REASONS,
    Question,
    QuestionState,
    bring_to_stage,
    validate_text,
)

S = QuestionState
AUTHOR = 101
ROOM = 7
OTHER_ROOM = 8
MAX_LENGTH = 280
WORKSHOP_SESSION = 3
PANEL_SESSION = 4
NEW_TEXT = "How will response times be published?"


def question_in(state: QuestionState, *, id: int = 1, **changes) -> Question:
    """A question as it looks after reaching `state` through legal moves."""
    question = Question(
        id=id, author_viewer_id=AUTHOR, state=state, text="Why was the station shut?"
    )
    if state in (S.QUEUED, S.ON_STAGE, S.ANSWERED):
        question.stage_room_id = ROOM
    if state is S.REJECTED:
        question.reject_reason = "off_topic"
    if state is S.MERGED:
        question.merged_into_id = 99
    return dataclasses.replace(question, **changes)


def merge_target(state: QuestionState = S.APPROVED) -> Question:
    return question_in(state, id=2)


# action name (as in LEGAL_SOURCES) -> how to perform it on a question with valid arguments.
# "merge into" is the action seen from the target: another question is merged into this one.
ACTIONS: dict[str, Callable[[Question], list[ev.QuestionEvent]]] = {
    "approve": lambda q: q.approve(),
    "reject": lambda q: q.reject("off_topic"),
    "edit": lambda q: q.edit(NEW_TEXT, MAX_LENGTH),
    "star": lambda q: q.star(not q.starred),
    "merge": lambda q: q.merge_into(merge_target()),
    "merge into": lambda q: question_in(S.PENDING, id=2).merge_into(q),
    "queue": lambda q: q.queue(ROOM),
    "unqueue": lambda q: q.unqueue(),
    "put on stage": lambda q: q.put_on_stage(ROOM),
    "mark answered": lambda q: q.mark_answered(),
    "send back": lambda q: q.send_back(),
    "withdraw": lambda q: q.withdraw(AUTHOR),
    "forward": lambda q: q.forward(PANEL_SESSION),
}

ILLEGAL_PAIRS = [
    (action, state)
    for action, sources in LEGAL_SOURCES.items()
    for state in QuestionState
    if state not in sources
]


def test_legal_transition_table_is_the_documented_lifecycle():
    open_states = {S.PENDING, S.APPROVED, S.QUEUED}
    documented = {
        "approve": {S.PENDING, S.REJECTED},
        "reject": {S.PENDING, S.APPROVED},
        "edit": open_states,
        "star": open_states,
        "merge": open_states,
        "merge into": {S.PENDING, S.APPROVED, S.QUEUED, S.ON_STAGE, S.ANSWERED},
        "queue": {S.APPROVED},
        "unqueue": {S.QUEUED},
        "put on stage": {S.APPROVED, S.QUEUED},
        "mark answered": {S.ON_STAGE},
        "send back": {S.ON_STAGE},
        "withdraw": open_states,
        "forward": open_states,
    }
    assert documented == LEGAL_SOURCES


def test_every_action_in_the_table_is_exercised_by_these_tests():
    assert set(ACTIONS) == set(LEGAL_SOURCES)


@pytest.mark.parametrize(("action", "state"), ILLEGAL_PAIRS)
def test_illegal_move_raises_naming_the_current_state_and_changes_nothing(action, state):
    question = question_in(state)
    before = dataclasses.replace(question)

    with pytest.raises(IllegalTransition) as caught:
        ACTIONS[action](question)

    assert caught.value.state == state.value
    assert caught.value.action == action
    assert str(caught.value) == f"cannot {action} a question that is {state.value}"
    assert caught.value.code == "illegal_transition"
    assert question == before


def test_rejected_question_cannot_be_put_on_stage():
    with pytest.raises(IllegalTransition, match="cannot put on stage a question that is rejected"):
        question_in(S.REJECTED).put_on_stage(ROOM)


@pytest.mark.parametrize("state", [S.ON_STAGE, S.ANSWERED])
def test_question_that_reached_the_stage_can_no_longer_be_withdrawn(state):
    with pytest.raises(IllegalTransition):
        question_in(state).withdraw(AUTHOR)


# --- legal moves: resulting state and past-tense events -------------------------------------


@pytest.mark.parametrize("state", sorted(LEGAL_SOURCES["approve"]))
def test_approve_makes_the_question_approved_and_clears_any_reject_reason(state):
    question = question_in(state)
    assert question.approve() == [ev.QuestionApproved(1)]
    assert (question.state, question.reject_reason) == (S.APPROVED, None)


@pytest.mark.parametrize("state", sorted(LEGAL_SOURCES["reject"]))
@pytest.mark.parametrize("reason", [*REJECT_REASONS, None])
def test_reject_records_the_reason_and_removes_the_star(state, reason):
    question = question_in(state, starred=True)
    assert question.reject(reason) == [ev.QuestionRejected(1, reason)]
    assert (question.state, question.reject_reason, question.starred) == (S.REJECTED, reason, False)


@pytest.mark.parametrize("state", sorted(LEGAL_SOURCES["edit"]))
def test_edit_replaces_the_stripped_text_and_keeps_the_previous_in_the_event(state):
    question = question_in(state)
    previous = question.text
    assert question.edit(f"  {NEW_TEXT}\n", MAX_LENGTH) == [
        ev.QuestionEdited(1, previous, NEW_TEXT)
    ]
    assert (question.text, question.state) == (NEW_TEXT, state)


@pytest.mark.parametrize("state", sorted(LEGAL_SOURCES["star"]))
def test_star_and_unstar_emit_events_and_keep_the_state(state):
    question = question_in(state)
    assert question.star(True) == [ev.QuestionStarred(1, True)]
    assert (question.starred, question.state) == (True, state)
    assert question.star(False) == [ev.QuestionStarred(1, False)]
    assert question.starred is False


@pytest.mark.parametrize("starred", [True, False])
def test_starring_to_the_current_value_emits_nothing(starred):
    question = question_in(S.APPROVED, starred=starred)
    assert question.star(starred) == []
    assert question.starred is starred


@pytest.mark.parametrize("state", sorted(LEGAL_SOURCES["merge"]))
@pytest.mark.parametrize("target_state", sorted(LEGAL_SOURCES["merge into"]))
def test_merge_folds_the_question_into_the_target_and_leaves_the_stage(state, target_state):
    question = question_in(state, starred=True)
    target = merge_target(target_state)
    target_before = dataclasses.replace(target)

    assert question.merge_into(target) == [ev.QuestionMerged(1, 2)]

    assert question.state is S.MERGED
    assert question.merged_into_id == 2
    assert (question.stage_room_id, question.starred) == (None, False)
    assert target == target_before


@pytest.mark.parametrize("state", sorted(set(S)))
def test_question_cannot_be_merged_into_itself(state):
    question = question_in(state)
    before = dataclasses.replace(question)
    with pytest.raises(InvalidInput) as caught:
        question.merge_into(question)
    assert caught.value.fields == {"into_question_id": "same question"}
    assert question == before


def test_merge_into_a_rejected_question_names_the_targets_state():
    question = question_in(S.PENDING)
    with pytest.raises(IllegalTransition, match="cannot merge into a question that is rejected"):
        question.merge_into(merge_target(S.REJECTED))
    assert question.state is S.PENDING


def test_queue_puts_an_approved_question_in_a_rooms_running_order():
    question = question_in(S.APPROVED)
    assert question.queue(ROOM) == [ev.QuestionQueued(1, ROOM)]
    assert (question.state, question.stage_room_id) == (S.QUEUED, ROOM)


def test_unqueue_returns_the_question_to_approved_without_a_room():
    question = question_in(S.QUEUED, starred=True)
    assert question.unqueue() == [ev.QuestionUnqueued(1)]
    assert (question.state, question.stage_room_id, question.starred) == (S.APPROVED, None, True)


@pytest.mark.parametrize("state", sorted(LEGAL_SOURCES["put on stage"]))
def test_put_on_stage_shows_the_question_in_the_given_room(state):
    question = question_in(state)
    assert question.put_on_stage(OTHER_ROOM) == [ev.QuestionPutOnStage(1, OTHER_ROOM)]
    assert (question.state, question.stage_room_id) == (S.ON_STAGE, OTHER_ROOM)


def test_mark_answered_keeps_the_room_the_question_was_answered_in():
    question = question_in(S.ON_STAGE)
    assert question.mark_answered() == [ev.QuestionAnswered(1)]
    assert (question.state, question.stage_room_id) == (S.ANSWERED, ROOM)


def test_send_back_returns_the_question_to_the_same_rooms_running_order():
    question = question_in(S.ON_STAGE)
    assert question.send_back() == [ev.QuestionSentBack(1)]
    assert (question.state, question.stage_room_id) == (S.QUEUED, ROOM)


@pytest.mark.parametrize("state", sorted(LEGAL_SOURCES["withdraw"]))
def test_author_withdraws_an_open_question_which_loses_its_room_and_star(state):
    question = question_in(state, starred=True)
    assert question.withdraw(AUTHOR) == [ev.QuestionWithdrawn(1)]
    assert (question.state, question.stage_room_id, question.starred) == (S.WITHDRAWN, None, False)


@pytest.mark.parametrize("state", sorted(LEGAL_SOURCES["withdraw"]))
def test_only_the_author_can_withdraw_a_question(state):
    question = question_in(state)
    before = dataclasses.replace(question)
    with pytest.raises(Forbidden) as caught:
        question.withdraw(AUTHOR + 1)
    assert caught.value.code == "forbidden"
    assert question == before


# --- input validation ----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_edit_to_empty_text_is_refused_and_changes_nothing(text):
    question = question_in(S.PENDING)
    before = dataclasses.replace(question)
    with pytest.raises(InvalidInput) as caught:
        question.edit(text, MAX_LENGTH)
    assert caught.value.fields == {"text": "must not be empty"}
    assert question == before


def test_edit_longer_than_the_limit_is_refused_and_changes_nothing():
    question = question_in(S.PENDING)
    before = dataclasses.replace(question)
    with pytest.raises(InvalidInput) as caught:
        question.edit("x" * (MAX_LENGTH + 1), MAX_LENGTH)
    assert caught.value.fields == {"text": f"at most {MAX_LENGTH} characters"}
    assert question == before


def test_edit_of_exactly_the_limit_is_accepted_and_surrounding_space_does_not_count():
    question = question_in(S.PENDING)
    question.edit(" " + "x" * MAX_LENGTH + " ", MAX_LENGTH)
    assert question.text == "x" * MAX_LENGTH


@pytest.mark.parametrize("padding", ["", "  ", "\n"])
def test_edit_that_leaves_the_text_unchanged_emits_no_event(padding):
    question = question_in(S.APPROVED)
    before = dataclasses.replace(question)
    assert question.edit(padding + question.text + padding, MAX_LENGTH) == []
    assert question == before


def test_validate_text_strips_the_ends_but_keeps_inner_whitespace():
    assert validate_text("  two  words \n", 50) == "two  words"


@pytest.mark.parametrize("reason", ["spam", "", "OFF_TOPIC"])
def test_reject_with_an_unknown_reason_is_refused_and_changes_nothing(reason):
    question = question_in(S.PENDING)
    before = dataclasses.replace(question)
    with pytest.raises(InvalidInput) as caught:
        question.reject(reason)
    assert caught.value.fields == {"reason": "unknown reason code"}
    assert question == before


# --- bring_to_stage ------------------------------------------------------------------------


def test_bring_to_stage_on_an_empty_stage_only_puts_the_question_on_stage():
    question = question_in(S.QUEUED)
    assert bring_to_stage(question, ROOM, None) == [ev.QuestionPutOnStage(1, ROOM)]
    assert (question.state, question.stage_room_id) == (S.ON_STAGE, ROOM)


def test_bring_to_stage_marks_the_previous_question_answered_first():
    previous = question_in(S.ON_STAGE, id=2)
    question = question_in(S.APPROVED)

    events = bring_to_stage(question, ROOM, previous)

    assert events == [ev.QuestionAnswered(2), ev.QuestionPutOnStage(1, ROOM)]
    assert (previous.state, previous.stage_room_id) == (S.ANSWERED, ROOM)
    assert (question.state, question.stage_room_id) == (S.ON_STAGE, ROOM)


def test_bring_to_stage_refuses_to_restage_the_question_already_there():
    question = question_in(S.ON_STAGE)
    before = dataclasses.replace(question)
    with pytest.raises(IllegalTransition, match="cannot put on stage a question that is on_stage"):
        bring_to_stage(question, ROOM, question)
    assert question == before


def test_bring_to_stage_refuses_to_restage_an_equal_copy_of_the_question_already_there():
    on_stage = question_in(S.ON_STAGE)
    with pytest.raises(IllegalTransition):
        bring_to_stage(dataclasses.replace(on_stage), ROOM, on_stage)
    assert on_stage.state is S.ON_STAGE


@pytest.mark.parametrize("state", sorted(set(S) - LEGAL_SOURCES["put on stage"]))
def test_refused_bring_to_stage_leaves_the_current_question_on_stage(state):
    previous = question_in(S.ON_STAGE, id=2)
    question = question_in(state)
    before = dataclasses.replace(question)

    with pytest.raises(IllegalTransition, match=state.value):
        bring_to_stage(question, ROOM, previous)

    assert previous.state is S.ON_STAGE
    assert question == before


def test_bring_to_stage_with_a_stale_current_question_changes_nothing():
    stale = question_in(S.ANSWERED, id=2)
    question = question_in(S.QUEUED)
    before = dataclasses.replace(question)

    with pytest.raises(IllegalTransition, match="answered"):
        bring_to_stage(question, ROOM, stale)

    assert question == before


@pytest.mark.parametrize("state", sorted(LEGAL_SOURCES["forward"]))
def test_forwarded_question_belongs_to_the_panel_and_remembers_its_workshop(state):
    question = question_in(state, session_id=WORKSHOP_SESSION)
    assert question.forward(PANEL_SESSION) == [
        ev.QuestionForwarded(1, WORKSHOP_SESSION, PANEL_SESSION)
    ]
    assert (question.session_id, question.forwarded_from_session_id) == (
        PANEL_SESSION,
        WORKSHOP_SESSION,
    )
    question.forward(5)
    assert question.forwarded_from_session_id == WORKSHOP_SESSION  # the origin stays the first


def test_forwarding_to_the_same_session_changes_nothing():
    question = question_in(S.APPROVED, session_id=PANEL_SESSION)
    assert question.forward(PANEL_SESSION) == []
    assert question.forwarded_from_session_id is None
