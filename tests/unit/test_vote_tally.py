"""The vote tally's cadence: the configured interval, or longer for a large audience, whose
every push costs a delivery per client."""

from __future__ import annotations

import pytest

from server.services.tally import VOTE_DELIVERIES_PER_SECOND, VoteTally


@pytest.mark.parametrize("clients", [0, 1, 2_500])
def test_a_small_audience_gets_vote_counts_at_the_configured_interval(clients: int):
    tally = VoteTally(None, None, 0.25, audience=lambda: clients)

    assert tally.pause() == 0.25


@pytest.mark.parametrize(("clients", "seconds"), [(5_000, 0.5), (10_000, 1.0), (20_000, 2.0)])
def test_a_large_audience_gets_them_less_often_at_a_fixed_number_of_deliveries(
    clients: int, seconds: float
):
    tally = VoteTally(None, None, 0.25, audience=lambda: clients)

    assert tally.pause() == seconds
    assert clients / tally.pause() == VOTE_DELIVERIES_PER_SECOND
