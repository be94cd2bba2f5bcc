"""Reach reports: who watched what and for how long, per event and per agenda session."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from server.domain.attendance import (
    ReachReport,
    SessionWindow,
    WatchInterval,
    clip,
    concurrency_series,
    for_session,
    reach_report,
)
from server.services.context import Services
from server.services.views import as_utc, iso
from server.store import attendance as attendance_store
from server.store import events as event_store
from server.store import webcast as webcast_store
from server.store.models import EventRow

SERIES_POINTS = 120  # the chart's resolution, whatever the length of the event
AGGREGATE_COLUMNS = ("scope", "session_id", "session_title", "metric", "value")
INTERVAL_COLUMNS = (
    "viewer_key",
    "room_id",
    "room",
    "channel",
    "country",
    "started_at",
    "ended_at",
    "seconds",
    "end_reason",
)


async def _load(s: Services, event: EventRow):
    now = datetime.now(UTC)
    async with s.db.read() as session:
        rows = await attendance_store.intervals(session, event.id)
        rooms = {room.id: room.name for room in await event_store.rooms(session, event.id)}
        agenda = await event_store.agenda(session, event.id)
        check_ins = await attendance_store.check_ins(session, event.id)
        periods = await webcast_store.stream_periods(session, list(rooms))
        questions = await event_store.question_counts_by_session(session, event.id)
    intervals = [
        WatchInterval(
            viewer_key=row.viewer_key,
            room_id=row.room_id,
            channel=row.channel,
            country=row.country,
            start=as_utc(row.started_at),
            # An open interval counts up to its last heartbeat: no more than we know.
            end=max(
                as_utc(row.started_at),
                as_utc(row.ended_at) if row.ended_at else min(now, as_utc(row.last_seen_at)),
            ),
        )
        for row in rows
    ]
    windows = [
        SessionWindow(
            id=a.id,
            room_id=a.room_id,
            title=a.title,
            start=as_utc(a.starts_at),
            end=as_utc(a.ends_at),
        )
        for a in agenda
    ]
    streams = [
        (period, as_utc(period.started_at), as_utc(period.ended_at) if period.ended_at else now)
        for period in periods
    ]
    return rows, intervals, windows, rooms, check_ins, questions, streams


def _report_dict(report: ReachReport, questions: dict[str, int]) -> dict[str, Any]:
    data = asdict(report)
    data["peak_at"] = iso(report.peak_at) if report.peak_at else None
    for key in ("total_watch_time", "median_watch_time"):
        data[key + "_seconds"] = round(data.pop(key).total_seconds())
    data["watch_time_distribution"] = [
        {"bucket": label, "viewers": n} for label, n in report.watch_time_distribution
    ]
    data["countries"] = [{"country": c, "viewers": n} for c, n in report.countries]
    data["questions"] = {"asked": 0, "approved": 0, "answered": 0, "votes": 0, **questions}
    return data


def _series(intervals: list[WatchInterval], start: datetime, end: datetime) -> list[dict]:
    if not intervals or end <= start:
        return []
    step = max(timedelta(seconds=10), (end - start) / SERIES_POINTS)
    return [
        {"at": iso(at), "viewers": n} for at, n in concurrency_series(intervals, start, end, step)
    ]


async def event_report(s: Services, event: EventRow) -> dict[str, Any]:
    """The whole event's reach, then each agenda session's, with a concurrency chart."""
    _rows, intervals, windows, rooms, check_ins, questions, streams = await _load(s, event)
    start = min((i.start for i in intervals), default=None)
    end = max((i.end for i in intervals), default=None)
    report = _report_dict(reach_report(intervals), questions.get(None, {}))
    report["in_room_check_ins"] = len({c.viewer_key for c in check_ins})
    sessions = []
    for window in windows:
        clipped = for_session(intervals, window)
        item = _report_dict(reach_report(clipped), questions.get(window.id, {}))
        item["in_room_check_ins"] = len(
            {
                c.viewer_key
                for c in check_ins
                # A plenary (no room) spans every room.
                if window.room_id in (None, c.room_id) and window.start <= as_utc(c.at) < window.end
            }
        )
        sessions.append(
            {
                "id": window.id,
                "title": window.title,
                "room": rooms.get(window.room_id),
                "starts_at": iso(window.start),
                "ends_at": iso(window.end),
                "report": item,
                "series": _series(clipped, window.start, window.end),
            }
        )
    return {
        "event": {"slug": event.slug, "title": event.title},
        "generated_at": iso(datetime.now(UTC)),
        "report": report,
        "series": _series(intervals, start, end) if start and end else [],
        "sessions": sessions,
        "streams": _by_stream(intervals, streams, rooms),
    }


def _by_stream(intervals: list[WatchInterval], streams, rooms: dict[int, str]) -> list[dict]:
    """Watch time per stream that was on (a room's primary, its backup after a failover...)."""
    result = []
    for period, start, end in streams:
        in_room = [i for i in intervals if i.room_id == period.room_id]
        report = reach_report(clip(in_room, start, end))
        result.append(
            {
                "room": rooms.get(period.room_id),
                "role": period.role,
                "kind": period.kind,
                "label": period.label,
                "from": iso(start),
                "to": iso(end),
                "unique_viewers": report.unique_viewers,
                "watch_time_seconds": round(report.total_watch_time.total_seconds()),
            }
        )
    return result


async def aggregates_csv(s: Services, event: EventRow) -> str:
    """One row per figure: easy to open in a spreadsheet and to check."""
    data = await event_report(s, event)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(AGGREGATE_COLUMNS)
    scopes = [("event", "", "", data["report"])] + [
        ("session", item["id"], item["title"], item["report"]) for item in data["sessions"]
    ]
    for scope, session_id, title, report in scopes:
        for metric, value in _flatten(report):
            writer.writerow((scope, session_id, title, metric, value))
    return out.getvalue()


def _flatten(report: dict[str, Any]) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in report.items():
        if key == "watch_time_distribution":
            rows += [(f"watch_time {item['bucket']}", item["viewers"]) for item in value]
        elif key == "countries":
            rows += [(f"country {item['country']}", item["viewers"]) for item in value]
        elif key == "questions":
            rows += [(f"questions {name}", n) for name, n in value.items()]
        else:
            rows.append((key, "" if value is None else value))
    return rows


async def intervals_csv(s: Services, event: EventRow) -> str:
    """Every attendance interval, pseudonymous (salted keys, no names, no addresses)."""
    rows, intervals, _windows, rooms, _check_ins, _questions, _streams = await _load(s, event)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(INTERVAL_COLUMNS)
    for row, interval in zip(rows, intervals, strict=True):
        writer.writerow(
            (
                row.viewer_key,
                row.room_id,
                rooms.get(row.room_id, ""),
                row.channel,
                row.country or "",
                iso(interval.start),
                iso(interval.end),
                round((interval.end - interval.start).total_seconds()),
                row.end_reason or "open",
            )
        )
    return out.getvalue()
