"""Ordering questions for viewers and staff, and reordering a stage's running order."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.ranking import moved, rank


@dataclass
class Q:
    id: int
    votes: int
    created_seq: int


def ids(questions) -> list[int]:
    return [q.id for q in questions]


def test_rank_by_votes_puts_most_voted_first_and_breaks_ties_by_earliest_submission():
    questions = [Q(1, 3, 30), Q(2, 5, 20), Q(3, 3, 10), Q(4, 0, 5)]
    assert ids(rank(questions, "votes")) == [2, 3, 1, 4]


def test_rank_by_votes_breaks_a_full_tie_by_lowest_id():
    assert ids(rank([Q(9, 1, 4), Q(2, 1, 4)], "votes")) == [2, 9]


def test_rank_by_newest_ignores_votes():
    questions = [Q(1, 99, 1), Q(2, 0, 3), Q(3, 5, 2)]
    assert ids(rank(questions, "newest")) == [2, 3, 1]


def test_rank_leaves_the_input_untouched():
    questions = [Q(1, 0, 1), Q(2, 5, 2)]
    rank(questions, "votes")
    assert ids(questions) == [1, 2]


questions_strategy = st.lists(
    st.builds(Q, id=st.integers(1, 50), votes=st.integers(0, 20), created_seq=st.integers(0, 50)),
    max_size=20,
)


@given(questions=questions_strategy, order=st.sampled_from(["votes", "newest"]))
def test_rank_returns_every_question_exactly_once(questions, order):
    assert sorted(map(id, rank(questions, order))) == sorted(map(id, questions))


@given(questions=questions_strategy)
def test_rank_by_votes_never_puts_fewer_votes_above_more(questions):
    votes = [q.votes for q in rank(questions, "votes")]
    assert votes == sorted(votes, reverse=True)


@pytest.mark.parametrize(
    ("question_id", "new_index", "expected"),
    [
        (30, 0, [30, 10, 20, 40]),
        (10, 3, [20, 30, 40, 10]),
        (10, 1, [20, 10, 30, 40]),
        (40, 1, [10, 40, 20, 30]),
        (20, 1, [10, 20, 30, 40]),
    ],
)
def test_moved_puts_the_question_at_the_new_index(question_id, new_index, expected):
    assert moved([10, 20, 30, 40], question_id, new_index) == expected


@pytest.mark.parametrize(
    ("question_id", "new_index", "expected"),
    [(30, -5, [30, 10, 20]), (10, 99, [20, 30, 10])],
)
def test_moved_clamps_an_out_of_range_index_to_the_nearest_end(question_id, new_index, expected):
    assert moved([10, 20, 30], question_id, new_index) == expected


def test_moved_refuses_a_question_that_is_not_in_the_running_order():
    with pytest.raises(ValueError, match="question 5 is not in the running order"):
        moved([1, 2, 3], 5, 0)


def test_moved_leaves_the_input_untouched():
    order = [1, 2, 3]
    moved(order, 1, 2)
    assert order == [1, 2, 3]


@given(data=st.data(), order=st.lists(st.integers(), min_size=1, max_size=30, unique=True))
def test_moved_is_a_permutation_that_keeps_the_others_in_order(data, order):
    question_id = data.draw(st.sampled_from(order))
    new_index = data.draw(st.integers(-50, 50))

    result = moved(order, question_id, new_index)

    assert sorted(result) == sorted(order)
    assert result.index(question_id) == max(0, min(new_index, len(order) - 1))
    assert [q for q in result if q != question_id] == [q for q in order if q != question_id]
