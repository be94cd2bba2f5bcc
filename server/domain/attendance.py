"""Reach figures for a webcast, computed from watch intervals that carry no personal data.

An interval is half-open: a viewer is watching at instant t when start <= t < end, so
back-to-back intervals never overlap and a zero-length interval adds no watch time. A viewer
who appears only in zero-length intervals still counts as a viewer (they opened the player).
"""

from __future__ import annotations

import statistics
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

Channel = Literal["remote", "in_room"]
Span = tuple[datetime, datetime]

UNKNOWN_COUNTRY = "unknown"

# (label, lower bound) in ascending order; a viewer falls in the last bucket they reach.
WATCH_TIME_BUCKETS: tuple[tuple[str, timedelta], ...] = (
    ("<1 min", timedelta(0)),
    ("1–5 min", timedelta(minutes=1)),
    ("5–15 min", timedelta(minutes=5)),
    ("15–30 min", timedelta(minutes=15)),
    ("30–60 min", timedelta(minutes=30)),
    ("1–2 h", timedelta(hours=1)),
    ("2 h+", timedelta(hours=2)),
)


@dataclass(frozen=True)
class WatchInterval:
    """One continuous stretch of a viewer's visible player tab on one room."""

    viewer_key: str
    room_id: int
    channel: Channel
    country: str | None
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"watch interval ends ({self.end}) before it starts ({self.start})")


@dataclass(frozen=True)
class SessionWindow:
    """A scheduled session; `room_id` None means the session spans every room."""

    id: int
    room_id: int | None
    title: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class ReachReport:
    unique_viewers: int
    peak_concurrent: int
    peak_at: datetime | None
    total_watch_time: timedelta
    median_watch_time: timedelta
    watch_time_distribution: list[tuple[str, int]]
    countries: list[tuple[str, int]]
    remote_viewers: int
    in_room_viewers: int


def clip(intervals: Iterable[WatchInterval], start: datetime, end: datetime) -> list[WatchInterval]:
    """The parts of `intervals` inside [start, end); intervals left empty are dropped."""
    clipped = []
    for interval in intervals:
        clipped_start, clipped_end = max(interval.start, start), min(interval.end, end)
        if clipped_start < clipped_end:
            clipped.append(replace(interval, start=clipped_start, end=clipped_end))
    return clipped


def for_session(intervals: Iterable[WatchInterval], window: SessionWindow) -> list[WatchInterval]:
    """Watching of the session's room (any room for a plenary) during the session."""
    in_room = (i for i in intervals if window.room_id is None or i.room_id == window.room_id)
    return clip(in_room, window.start, window.end)


def concurrency_series(
    intervals: Iterable[WatchInterval], start: datetime, end: datetime, step: timedelta
) -> list[tuple[datetime, int]]:
    """Distinct viewers watching at start, start + step, ... (instants before `end`)."""
    if step <= timedelta(0):
        raise ValueError(f"step must be positive, got {step}")
    occupancy = _Occupancy(_merged_by_viewer(intervals))
    series = []
    instant = start
    while instant < end:
        series.append((instant, occupancy.viewers_at(instant)))
        instant += step
    return series


def peak_concurrent(intervals: Iterable[WatchInterval]) -> tuple[int, datetime | None]:
    """The most distinct viewers watching at once, and the earliest instant it happened."""
    return _Occupancy(_merged_by_viewer(intervals)).peak()


def watch_time_by_viewer(intervals: Iterable[WatchInterval]) -> dict[str, timedelta]:
    """Each viewer's time watching anything; overlapping tabs or rooms count once."""
    return _watch_times(_merged_by_viewer(intervals))


def reach_report(intervals: Iterable[WatchInterval]) -> ReachReport:
    """Every reach figure for one set of intervals (typically an event or one session)."""
    intervals = list(intervals)
    spans_by_viewer = _merged_by_viewer(intervals)
    watch_times = _watch_times(spans_by_viewer)
    peak, peak_at = _Occupancy(spans_by_viewer).peak()
    channels = {(i.viewer_key, i.channel) for i in intervals}
    return ReachReport(
        unique_viewers=len(watch_times),
        peak_concurrent=peak,
        peak_at=peak_at,
        total_watch_time=sum(watch_times.values(), timedelta(0)),
        median_watch_time=statistics.median(watch_times.values()) if watch_times else timedelta(0),
        watch_time_distribution=_distribution(watch_times.values()),
        countries=_country_counts(intervals),
        remote_viewers=sum(1 for _, channel in channels if channel == "remote"),
        in_room_viewers=sum(1 for _, channel in channels if channel == "in_room"),
    )


def _merged_by_viewer(intervals: Iterable[WatchInterval]) -> dict[str, list[Span]]:
    """Each viewer's watching as disjoint, non-touching spans in time order.

    Every viewer present gets an entry, possibly empty (only zero-length intervals).
    """
    ordered = sorted(intervals, key=lambda i: (i.viewer_key, i.start))
    merged: dict[str, list[Span]] = {}
    for interval in ordered:
        spans = merged.setdefault(interval.viewer_key, [])
        if interval.start == interval.end:
            continue
        # Sorted by start, so only the last span can overlap or touch this interval.
        if spans and interval.start <= spans[-1][1]:
            last_start, last_end = spans[-1]
            spans[-1] = (last_start, max(last_end, interval.end))
        else:
            spans.append((interval.start, interval.end))
    return merged


def _watch_times(spans_by_viewer: dict[str, list[Span]]) -> dict[str, timedelta]:
    return {
        viewer: sum((end - start for start, end in spans), timedelta(0))
        for viewer, spans in spans_by_viewer.items()
    }


class _Occupancy:
    """Counts viewers at any instant by bisecting sorted span edges.

    Because each viewer's spans are disjoint, counting spans counts distinct viewers.
    """

    def __init__(self, spans_by_viewer: dict[str, list[Span]]) -> None:
        spans = [span for spans in spans_by_viewer.values() for span in spans]
        self._starts = sorted(start for start, _ in spans)
        self._ends = sorted(end for _, end in spans)

    def viewers_at(self, instant: datetime) -> int:
        return bisect_right(self._starts, instant) - bisect_right(self._ends, instant)

    def peak(self) -> tuple[int, datetime | None]:
        # The count only rises at a start, so the maximum is reached at some start instant.
        best, best_at = 0, None
        for start in self._starts:
            count = self.viewers_at(start)
            if count > best:
                best, best_at = count, start
        return best, best_at


def _distribution(watch_times: Iterable[timedelta]) -> list[tuple[str, int]]:
    lower_bounds = [bound for _, bound in WATCH_TIME_BUCKETS]
    counts = Counter(bisect_right(lower_bounds, watched) - 1 for watched in watch_times)
    return [(label, counts[index]) for index, (label, _) in enumerate(WATCH_TIME_BUCKETS)]


def _country_counts(intervals: list[WatchInterval]) -> list[tuple[str, int]]:
    """Viewers per country, each viewer counted once under their latest known country."""
    latest_first = sorted(intervals, key=lambda i: i.start, reverse=True)
    country_by_viewer: dict[str, str | None] = {}
    for interval in latest_first:
        if country_by_viewer.get(interval.viewer_key) is None:
            country_by_viewer[interval.viewer_key] = interval.country
    counts = Counter(country or UNKNOWN_COUNTRY for country in country_by_viewer.values())
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
