"""Reach figures from watch intervals: hand-worked cases, then properties against brute force."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.attendance import (
    SessionWindow,
    WatchInterval,
    clip,
    concurrency_series,
    for_session,
    peak_concurrent,
    reach_report,
    watch_time_by_viewer,
)

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def at(minutes: int) -> datetime:
    return T0 + minutes * MINUTE


def watch(
    viewer: str,
    start: int,
    end: int,
    room: int = 1,
    channel: str = "remote",
    country: str | None = "GB",
) -> WatchInterval:
    return WatchInterval(viewer, room, channel, country, at(start), at(end))


def minutes(spans: dict[str, timedelta]) -> dict[str, int]:
    return {viewer: int(watched / MINUTE) for viewer, watched in spans.items()}


# --- clip and for_session -------------------------------------------------------------


def test_clip_trims_intervals_to_the_window_and_drops_those_left_empty():
    intervals = [watch("a", 0, 30), watch("b", 40, 50), watch("c", 5, 5), watch("d", 10, 20)]
    clipped = clip(intervals, at(10), at(40))
    assert [(i.viewer_key, i.start, i.end) for i in clipped] == [
        ("a", at(10), at(30)),
        ("d", at(10), at(20)),
    ]


def test_for_session_keeps_only_the_sessions_room():
    window = SessionWindow(1, room_id=2, title="Budget", start=at(0), end=at(60))
    intervals = [watch("a", 0, 10, room=1), watch("b", 0, 10, room=2)]
    assert [i.viewer_key for i in for_session(intervals, window)] == ["b"]


def test_for_session_without_a_room_counts_every_room():
    plenary = SessionWindow(1, room_id=None, title="Opening", start=at(5), end=at(15))
    intervals = [watch("a", 0, 10, room=1), watch("b", 12, 30, room=2)]
    clipped = for_session(intervals, plenary)
    assert [(i.viewer_key, i.start, i.end) for i in clipped] == [
        ("a", at(5), at(10)),
        ("b", at(12), at(15)),
    ]


def test_an_interval_ending_before_it_starts_is_refused():
    with pytest.raises(ValueError, match="before it starts"):
        watch("a", 10, 5)


# --- watch time ---------------------------------------------------------------------


def test_one_viewer_watching_two_rooms_at_once_is_not_double_counted():
    intervals = [watch("a", 0, 30, room=1), watch("a", 20, 50, room=2)]
    assert minutes(watch_time_by_viewer(intervals)) == {"a": 50}


def test_back_to_back_intervals_add_up():
    assert minutes(watch_time_by_viewer([watch("a", 0, 10), watch("a", 10, 25)])) == {"a": 25}


def test_leaving_and_rejoining_counts_only_the_time_watched():
    intervals = [watch("a", 0, 10), watch("a", 40, 45), watch("b", 5, 6)]
    assert minutes(watch_time_by_viewer(intervals)) == {"a": 15, "b": 1}


def test_a_viewer_with_only_a_zero_length_interval_watched_nothing_but_is_listed():
    assert minutes(watch_time_by_viewer([watch("a", 7, 7)])) == {"a": 0}


# --- peak and concurrency -----------------------------------------------------------


def test_peak_counts_distinct_viewers_not_open_tabs():
    intervals = [watch("a", 0, 30, room=1), watch("a", 0, 30, room=2), watch("b", 10, 20)]
    assert peak_concurrent(intervals) == (2, at(10))


def test_peak_reports_the_earliest_of_equal_peaks():
    intervals = [watch("a", 0, 10), watch("b", 5, 10), watch("a", 20, 30), watch("b", 20, 30)]
    assert peak_concurrent(intervals) == (2, at(5))


def test_a_viewer_leaving_as_another_arrives_is_not_a_peak_of_two():
    assert peak_concurrent([watch("a", 0, 10), watch("b", 10, 20)]) == (1, at(0))


def test_zero_length_intervals_never_make_a_peak():
    assert peak_concurrent([watch("a", 0, 10), watch("b", 5, 5)]) == (1, at(0))
    assert peak_concurrent([watch("b", 5, 5)]) == (0, None)


def test_peak_of_no_intervals_is_zero_at_no_time():
    assert peak_concurrent([]) == (0, None)


def test_concurrency_series_samples_half_open_intervals():
    intervals = [watch("a", 0, 10), watch("a", 5, 15, room=2), watch("b", 10, 20)]
    series = concurrency_series(intervals, at(0), at(25), 5 * MINUTE)
    assert series == [(at(0), 1), (at(5), 1), (at(10), 2), (at(15), 1), (at(20), 0)]


def test_concurrency_series_stops_before_the_end_instant():
    series = concurrency_series([watch("a", 0, 60)], at(0), at(30), 10 * MINUTE)
    assert [instant for instant, _ in series] == [at(0), at(10), at(20)]


def test_concurrency_series_refuses_a_step_that_never_advances():
    with pytest.raises(ValueError, match="step"):
        concurrency_series([], at(0), at(10), timedelta(0))


# --- the report ---------------------------------------------------------------------


def test_reach_report_of_a_small_event():
    intervals = [
        watch("a", 0, 90, room=1, country="GB"),
        watch("a", 30, 150, room=2, country="GB"),  # second tab: a watched 150 min
        watch("b", 10, 13, channel="in_room", country=None),
        watch("b", 20, 22, channel="remote", country="IE"),  # rejoined, now remote, 5 min
        watch("c", 40, 40, country="FR"),  # opened and closed at once
        watch("d", 0, 45, country="IE"),
    ]
    report = reach_report(intervals)
    assert report.unique_viewers == 4
    assert (report.peak_concurrent, report.peak_at) == (3, at(10))
    assert report.total_watch_time == (150 + 5 + 0 + 45) * MINUTE
    assert report.median_watch_time == 25 * MINUTE  # median of 0, 5, 45, 150
    assert report.watch_time_distribution == [
        ("<1 min", 1),
        ("1–5 min", 0),
        ("5–15 min", 1),
        ("15–30 min", 0),
        ("30–60 min", 1),
        ("1–2 h", 0),
        ("2 h+", 1),
    ]
    assert report.countries == [("IE", 2), ("FR", 1), ("GB", 1)]
    assert (report.remote_viewers, report.in_room_viewers) == (4, 1)


def test_a_viewer_with_no_known_country_is_reported_as_unknown():
    report = reach_report([watch("a", 0, 5, country=None), watch("b", 0, 5, country="GB")])
    assert report.countries == [("GB", 1), ("unknown", 1)]


def test_a_viewer_keeps_their_latest_known_country():
    intervals = [watch("a", 0, 5, country="FR"), watch("a", 10, 15, country=None)]
    assert reach_report(intervals).countries == [("FR", 1)]


def test_reach_report_of_nothing_is_all_zero():
    report = reach_report([])
    assert report.unique_viewers == report.peak_concurrent == 0
    assert report.peak_at is None
    assert report.total_watch_time == report.median_watch_time == timedelta(0)
    assert sum(count for _, count in report.watch_time_distribution) == 0
    assert report.countries == []


# --- properties against brute force on a minute grid ----------------------------------

GRID = 120  # minutes


@st.composite
def intervals_on_a_minute_grid(draw) -> list[WatchInterval]:
    count = draw(st.integers(0, 30))
    intervals = []
    for _ in range(count):
        start = draw(st.integers(0, GRID))
        intervals.append(
            watch(
                viewer=f"v{draw(st.integers(0, 7))}",
                start=start,
                end=draw(st.integers(start, GRID)),
                room=draw(st.integers(1, 3)),
                channel=draw(st.sampled_from(["remote", "in_room"])),
                country=draw(st.sampled_from(["GB", "IE", None])),
            )
        )
    return intervals


def viewers_watching(intervals: list[WatchInterval], instant: datetime) -> int:
    return len({i.viewer_key for i in intervals if i.start <= instant < i.end})


def brute_watch_minutes(intervals: list[WatchInterval]) -> dict[str, int]:
    """Minutes watched per viewer, by checking every minute of the grid."""
    return {
        viewer: sum(
            any(i.viewer_key == viewer and i.start <= at(m) < i.end for i in intervals)
            for m in range(GRID)
        )
        for viewer in {i.viewer_key for i in intervals}
    }


@given(intervals_on_a_minute_grid())
def test_peak_equals_brute_force_over_every_interval_edge(intervals):
    edges = sorted({i.start for i in intervals} | {i.end for i in intervals})
    counts = [(viewers_watching(intervals, edge), edge) for edge in edges]
    best = max((count for count, _ in counts), default=0)
    first = next((edge for count, edge in counts if count == best), None) if best else None
    assert peak_concurrent(intervals) == (best, first)


@given(intervals_on_a_minute_grid())
def test_watch_time_equals_the_measure_of_each_viewers_union(intervals):
    assert minutes(watch_time_by_viewer(intervals)) == brute_watch_minutes(intervals)


@given(
    intervals_on_a_minute_grid(),
    st.integers(0, GRID),
    st.integers(0, GRID),
    st.integers(1, 30),
)
def test_concurrency_series_equals_brute_force(intervals, start, end, step):
    expected = [(at(m), viewers_watching(intervals, at(m))) for m in range(start, end, step)]
    assert concurrency_series(intervals, at(start), at(end), step * MINUTE) == expected


@given(intervals_on_a_minute_grid(), st.integers(0, GRID), st.integers(0, GRID))
def test_clip_keeps_exactly_the_watching_inside_the_window(intervals, start, end):
    clipped = clip(intervals, at(start), at(end))
    assert all(at(start) <= i.start < i.end <= at(end) for i in clipped)
    for m in range(GRID):
        inside = start <= m < end
        expected = viewers_watching(intervals, at(m)) if inside else 0
        assert viewers_watching(clipped, at(m)) == expected


@given(intervals_on_a_minute_grid())
def test_reach_report_agrees_with_its_parts(intervals):
    report = reach_report(intervals)
    watch_times = brute_watch_minutes(intervals)
    assert report.unique_viewers == len(watch_times)
    assert sum(count for _, count in report.watch_time_distribution) == report.unique_viewers
    assert sum(count for _, count in report.countries) == report.unique_viewers
    assert report.total_watch_time == sum(watch_times.values()) * MINUTE
    expected_median = (
        statistics.median(watch_times.values()) * MINUTE if watch_times else timedelta(0)
    )
    assert report.median_watch_time == expected_median
    assert (report.peak_concurrent, report.peak_at) == peak_concurrent(intervals)
    assert report.remote_viewers == len({i.viewer_key for i in intervals if i.channel == "remote"})
    assert report.in_room_viewers == len(
        {i.viewer_key for i in intervals if i.channel == "in_room"}
    )
