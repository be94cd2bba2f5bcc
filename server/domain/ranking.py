"""How approved questions are ordered for viewers and staff."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal, Protocol

SortOrder = Literal["votes", "newest"]


class Rankable(Protocol):
    id: int
    votes: int
    created_seq: int


def rank(questions: Iterable[Rankable], order: SortOrder) -> list[Rankable]:
    """Most votes first (ties: earliest first), or newest first."""
    if order == "votes":
        return sorted(questions, key=lambda q: (-q.votes, q.created_seq, q.id))
    return sorted(questions, key=lambda q: (-q.created_seq, -q.id))


def moved(order: Sequence[int], question_id: int, new_index: int) -> list[int]:
    """The running order with `question_id` moved to `new_index` (clamped to the ends)."""
    if question_id not in order:
        raise ValueError(f"question {question_id} is not in the running order")
    rest = [qid for qid in order if qid != question_id]
    index = max(0, min(new_index, len(rest)))
    return rest[:index] + [question_id] + rest[index:]
