"""Votes, stored a batch at a time: a few set-based statements, one commit.

`asking.vote` queues each vote with `Database.write_queued`; the event's one writer hands
every vote queued meanwhile to `store`, which, in one unit of work, reads the questions voted
on (following merges), refuses each vote that a lone vote would have been refused for, and
then adds or takes back the rest with one INSERT ... ON CONFLICT DO NOTHING and one DELETE,
both RETURNING what actually changed: the primary key (question, viewer) still counts each
viewer once. Counters move by what changed, in one statement. (On SQLite each statement has
one text whatever the batch's size, its rows one JSON text: see `store.sqlite_batches`.)

Several votes of one viewer on one question in the same batch are applied in queue order,
as if they had come one after another: the first goes to the database, the rest follow from
it, and a second statement settles the final state when it differs from the first.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from server.domain.errors import DomainError, Forbidden, InvalidInput, NotFound
from server.domain.questions import QuestionState
from server.store import questions as question_store
from server.store.database import UnitOfWork

if TYPE_CHECKING:
    from sqlalchemy import Row

    from server.services.context import Services

VOTABLE_STATES = frozenset({QuestionState.APPROVED, QuestionState.QUEUED, QuestionState.ON_STAGE})

Pair = tuple[int, int]  # (question id, viewer id): a vote's primary key


@dataclass(frozen=True)
class Ballot:
    """One viewer's vote (or taking it back) waiting for its batch."""

    services: Services
    event_id: int
    viewer_id: int
    question_id: int
    up: bool


async def store(work: UnitOfWork, ballots: list[Ballot]) -> list[Any]:
    """Store a batch of votes on one event's questions; one outcome per ballot."""
    session = work.session
    questions = await _with_merge_targets(
        work, await question_store.vote_targets(session, {b.question_id for b in ballots})
    )
    outcomes: list[Any] = [None] * len(ballots)
    by_pair: dict[Pair, list[int]] = defaultdict(list)  # the ballots on each vote, in order
    for index, ballot in enumerate(ballots):
        try:
            by_pair[(_target(questions, ballot), ballot.viewer_id)].append(index)
        except DomainError as error:
            outcomes[index] = error

    def wanted(pair: Pair, position: int) -> bool:
        return ballots[by_pair[pair][position]].up

    added = await question_store.add_votes(session, [p for p in by_pair if wanted(p, 0)])
    removed = await question_store.remove_votes(session, [p for p in by_pair if not wanted(p, 0)])
    changed = [False] * len(ballots)
    deltas: dict[int, int] = defaultdict(int)
    settle_add, settle_remove = [], []
    for pair, indexes in by_pair.items():
        state = wanted(pair, 0)
        changed[indexes[0]] = pair in (added if state else removed)
        before = state != changed[indexes[0]]  # was the vote there before this batch?
        for index in indexes[1:]:
            changed[index] = ballots[index].up != state
            state = ballots[index].up
        if state != wanted(pair, 0):
            (settle_add if state else settle_remove).append(pair)
        deltas[pair[0]] += int(state) - int(before)
    await question_store.add_votes(session, settle_add)
    await question_store.remove_votes(session, settle_remove)
    await question_store.bump_votes(session, deltas)
    counts = await question_store.vote_counts(session, list({q for q, _v in by_pair}))

    counted: list[tuple[int, int, bool]] = []  # (viewer, question, up) for each change
    for (question_id, viewer_id), indexes in by_pair.items():
        for index in indexes:
            up = ballots[index].up
            outcomes[index] = {
                "question_id": question_id,
                "voted": up,
                "votes": counts[question_id],
                "changed": changed[index],
            }
            if changed[index]:
                counted.append((viewer_id, question_id, up))
    if counted:
        work.after_commit(lambda: _voted(ballots[0], counted))
    return outcomes


def _voted(ballot: Ballot, counted: list[tuple[int, int, bool]]) -> None:
    s, event_id = ballot.services, ballot.event_id
    for viewer_id, question_id, up in counted:
        s.tally.mark(event_id, question_id)
        if s.live is not None:
            s.live.viewer_voted(event_id, viewer_id, question_id, up)


async def _with_merge_targets(work: UnitOfWork, questions: dict[int, Row]) -> dict[int, Row]:
    """Add the questions that merged ones point to (and theirs), so votes can follow."""
    while True:
        missing = {
            q.merged_into_id
            for q in questions.values()
            if q.merged_into_id is not None and q.merged_into_id not in questions
        }
        if not missing:
            return questions
        found = await question_store.vote_targets(work.session, missing)
        if not found:
            return questions
        questions.update(found)


def _target(questions: dict[int, Row], ballot: Ballot) -> int:
    """The question the vote counts for, or the error a lone vote would have met."""
    question_id = ballot.question_id
    while True:
        row = questions.get(question_id)
        if row is None or row.event_id != ballot.event_id:
            raise NotFound(f"question {question_id} does not exist in this event")
        if row.merged_into_id is None:
            break
        question_id = row.merged_into_id
    if QuestionState(row.state) not in VOTABLE_STATES:
        raise InvalidInput(
            f"cannot vote on a question that is {row.state}",
            fields={"question_id": f"question is {row.state}"},
        )
    if row.viewer_id == ballot.viewer_id:
        raise Forbidden("you cannot vote on your own question")
    return row.id
