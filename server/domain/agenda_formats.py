"""Agenda import from spreadsheets (CSV) and pretalx/frab schedule JSON; export as iCalendar."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.domain.errors import InvalidInput

SESSION_KINDS = ("keynote", "workshop", "panel", "unconference", "break", "other")
MAX_ITEMS = 500
MAX_TITLE_LENGTH = 200
TOO_MANY_ITEMS = f"an agenda has at most {MAX_ITEMS} sessions"

# Whole words (plurals too) so that a "Breakout session" is not taken for a coffee break.
# Earlier kinds win: a "Keynote panel" is a keynote.
KIND_WORDS = tuple(
    (kind, re.compile(rf"\b(?:{'|'.join(words)})s?\b", re.IGNORECASE))
    for kind, words in (
        ("keynote", ("keynote",)),
        ("workshop", ("workshop",)),
        ("panel", ("panel",)),
        ("unconference", ("unconference", "open space", "barcamp")),
        ("break", ("break", "lunch", "coffee")),
    )
)

# All are required except the last, "description".
CSV_COLUMNS = ("title", "kind", "room", "start", "end", "description")
DATE_AND_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
CLOCK = re.compile(r"(\d{1,2}):([0-5]\d)")

ICAL_MAX_LINE_OCTETS = 75
ICAL_NEWLINE = re.compile(r"\r\n|\r|\n")
# RFC 5545 TEXT allows no control characters other than tab.
ICAL_FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class AgendaItem:
    title: str
    kind: str
    room: str | None
    starts_at: datetime
    ends_at: datetime
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind not in SESSION_KINDS:
            raise ValueError(f"unknown session kind {self.kind!r}")
        for moment in (self.starts_at, self.ends_at):
            if moment.utcoffset() != timedelta(0):
                raise ValueError("agenda times must be aware and in UTC")
        if self.ends_at <= self.starts_at:
            raise ValueError("an agenda item must end after it starts")


class _BadField(Exception):
    """One field of one row or event is wrong; the parser adds where it was."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field = field


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, fields={field: message})


def classify_kind(*labels: str | None) -> str:
    """Map free-text session types and tracks onto SESSION_KINDS; "other" when nothing fits."""
    text = " ".join(label for label in labels if label)
    for kind, words in KIND_WORDS:
        if words.search(text):
            return kind
    return "other"


def parse_csv(text: str, timezone: str) -> list[AgendaItem]:
    """Times without an offset are wall-clock times in `timezone`; rows count from the header."""
    zone = _zone(timezone, field="timezone")
    rows = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    try:
        columns = _csv_columns(next(rows, None))
        items: list[AgendaItem] = []
        for row_number, row in enumerate(rows, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(items) == MAX_ITEMS:
                raise _invalid("file", f"row {row_number}: {TOO_MANY_ITEMS}")
            try:
                items.append(_csv_item(row, columns, zone))
            except _BadField as bad:
                raise _invalid(bad.field, f"row {row_number}: {bad}") from None
    except csv.Error as error:
        raise _invalid("file", f"row {rows.line_num}: not readable as CSV ({error})") from None
    return items


def _csv_columns(header: list[str] | None) -> dict[str, int]:
    if not header:
        raise _invalid("file", "row 1: a header row is required")
    names = [name.strip().lower() for name in header]
    problems = [
        *(f"unknown column {n!r}" for n in names if n not in CSV_COLUMNS),
        *(f"missing column {n!r}" for n in CSV_COLUMNS[:-1] if n not in names),
        *(f"column {n!r} appears twice" for n in dict.fromkeys(names) if names.count(n) > 1),
    ]
    if problems:
        expected = f"{', '.join(CSV_COLUMNS[:-1])} and optionally {CSV_COLUMNS[-1]}"
        raise _invalid("header", f"row 1: {'; '.join(problems)} (expected {expected})")
    return {name: index for index, name in enumerate(names)}


def _csv_item(row: list[str], columns: dict[str, int], zone: ZoneInfo) -> AgendaItem:
    if len(row) != len(columns):
        raise _BadField("row", f"has {len(row)} cells but the header has {len(columns)}")
    cells = {name: row[index].strip() for name, index in columns.items()}
    title = _title(cells["title"])
    starts_at = _date_and_time(cells["start"], zone, field="start")
    ends_at = _date_and_time(cells["end"], zone, field="end")
    if ends_at <= starts_at:
        raise _BadField("end", f"{cells['end']!r} must be after start {cells['start']!r}")
    return AgendaItem(
        title=title,
        kind=classify_kind(cells["kind"]),
        room=cells["room"] or None,
        starts_at=starts_at,
        ends_at=ends_at,
        description=cells.get("description", ""),
    )


def parse_frab_json(text: str) -> list[AgendaItem]:
    """Read a pretalx/frab schedule.json; errors name the JSON path of the offending value."""
    try:
        document = json.loads(text.removeprefix("\ufeff"))
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        raise _invalid("file", f"not valid JSON: {error.msg} at {where}") from None
    conference = _member(_member(document, "schedule", "", dict), "conference", "schedule", dict)
    zone_name = conference.get("time_zone_name")
    zone_field = "schedule.conference.time_zone_name"
    zone = None if zone_name is None else _zone(zone_name, field=zone_field)
    items: list[AgendaItem] = []
    for path, event, room, day_date in _frab_events(conference):
        if len(items) == MAX_ITEMS:
            raise _invalid("file", f"{path}: {TOO_MANY_ITEMS}")
        try:
            items.append(_frab_item(event, room, day_date, zone))
        except _BadField as bad:
            raise _invalid(f"{path}.{bad.field}", f"{path}.{bad}") from None
    return items


def _frab_events(conference: dict) -> Iterator[tuple[str, dict, str, date]]:
    """Each event with its JSON path, room and day, checking the structure on the way."""
    for day_index, day in enumerate(_member(conference, "days", "schedule.conference", list)):
        day_path = f"schedule.conference.days[{day_index}]"
        for room, events in _member(_expect(day, dict, day_path), "rooms", day_path, dict).items():
            room_path = f"{day_path}.rooms[{room!r}]"
            for event_index, event in enumerate(_expect(events, list, room_path)):
                event_path = f"{room_path}[{event_index}]"
                yield event_path, _expect(event, dict, event_path), room, _day_date(day, day_path)


def _frab_item(event: dict, room: str, day_date: date, zone: ZoneInfo | None) -> AgendaItem:
    duration = _duration(event.get("duration"))
    if event.get("date") is not None:
        starts_at = _date_and_time(_text(event, "date"), None, field="date")
    elif zone is None:
        raise _BadField("date", "is required when the conference has no time_zone_name")
    else:
        clock = CLOCK.fullmatch(_text(event, "start"))
        if not clock or int(clock[1]) > 23:
            raise _BadField("start", f"must be HH:MM, not {event.get('start')!r}")
        wall_clock = datetime.combine(day_date, time(int(clock[1]), int(clock[2])))
        starts_at = _in_zone(wall_clock, zone, field="start")
    return AgendaItem(
        title=_title(event.get("title")),
        kind=classify_kind(_text(event, "type"), _text(event, "track")),
        room=room.strip() or None,
        starts_at=starts_at,
        ends_at=starts_at + duration,
        description=_text(event, "abstract") or _text(event, "description"),
    )


def _member(container: object, key: str, path: str, kind: type) -> object:
    full_path = f"{path}.{key}" if path else key
    if not isinstance(container, dict) or key not in container:
        raise _invalid(full_path, f"{full_path} is missing")
    return _expect(container[key], kind, full_path)


def _expect(value: object, kind: type, path: str) -> object:
    if not isinstance(value, kind):
        noun = {dict: "an object", list: "a list"}[kind]
        raise _invalid(path, f"{path} must be {noun}, not {type(value).__name__}")
    return value


def _day_date(day: dict, day_path: str) -> date:
    try:
        return date.fromisoformat(day.get("date"))
    except (TypeError, ValueError):
        problem = f"must be a YYYY-MM-DD date, not {day.get('date')!r}"
        raise _invalid(f"{day_path}.date", f"{day_path}.date {problem}") from None


def _text(event: dict, key: str) -> str:
    value = event.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _BadField(key, f"must be text, not {type(value).__name__}")
    return value


def _duration(value: object) -> timedelta:
    clock = CLOCK.fullmatch(value) if isinstance(value, str) else None
    if not clock:
        raise _BadField("duration", f"must be HH:MM, not {value!r}")
    duration = timedelta(hours=int(clock[1]), minutes=int(clock[2]))
    if not duration:
        raise _BadField("duration", "must be longer than zero")
    return duration


def _title(value: object) -> str:
    if not isinstance(value, str):
        raise _BadField("title", f"must be text, not {type(value).__name__}")
    title = " ".join(value.split())
    if not title:
        raise _BadField("title", "must not be empty")
    if len(title) > MAX_TITLE_LENGTH:
        raise _BadField("title", f"is {len(title)} characters; the limit is {MAX_TITLE_LENGTH}")
    return title


def _zone(name: object, *, field: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):  # a folder name: OSError
        problem = f"{name!r} is not an IANA time zone such as 'Europe/London'"
        raise _invalid(field, f"{field}: {problem}") from None


def _date_and_time(value: str, zone: ZoneInfo | None, *, field: str) -> datetime:
    """Parse `YYYY-MM-DD HH:MM` or ISO 8601; without a zone the value must carry an offset."""
    try:
        if not DATE_AND_TIME.match(value):
            raise ValueError
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _BadField(field, f"{value!r} is not a date and time (YYYY-MM-DD HH:MM)") from None
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    if zone is None:
        raise _BadField(field, f"{value!r} needs a UTC offset, as in 2026-11-21T09:30:00+00:00")
    return _in_zone(moment, zone, field=field)


def _in_zone(wall_clock: datetime, zone: ZoneInfo, *, field: str) -> datetime:
    earlier = wall_clock.replace(tzinfo=zone, fold=0)
    later = wall_clock.replace(tzinfo=zone, fold=1)
    if earlier.utcoffset() != later.utcoffset():
        shown = f"{wall_clock:%Y-%m-%d %H:%M}"
        if earlier.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall_clock:
            problem = f"{shown} does not exist in {zone.key}: the clocks go forward then"
        else:
            problem = f"{shown} happens twice in {zone.key}: give it a UTC offset such as +01:00"
        raise _BadField(field, problem)
    return earlier.astimezone(UTC)


def to_ical(
    items: list[AgendaItem],
    *,
    calendar_name: str,
    uid_domain: str,
    uids: list[str] | None = None,
    now: datetime,
) -> str:
    """Pass stable `uids` (e.g. database ids) so calendar apps update events, not duplicate them."""
    local_ids = _content_ids(items) if uids is None else uids
    if len(local_ids) != len(items):
        raise ValueError(f"got {len(local_ids)} uids for {len(items)} agenda items")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Podium//Agenda//EN",
        "CALSCALE:GREGORIAN",
        f"X-WR-CALNAME:{_ical_text(calendar_name)}",
    ]
    for item, local_id in zip(items, local_ids, strict=True):
        lines += [
            "BEGIN:VEVENT",
            f"UID:{_ical_text(f'{local_id}@{uid_domain}')}",
            f"DTSTAMP:{_ical_utc(now)}",
            f"DTSTART:{_ical_utc(item.starts_at)}",
            f"DTEND:{_ical_utc(item.ends_at)}",
            f"SUMMARY:{_ical_text(item.title)}",
            *([f"LOCATION:{_ical_text(item.room)}"] if item.room else []),
            *([f"DESCRIPTION:{_ical_text(item.description)}"] if item.description else []),
            f"CATEGORIES:{_ical_text(item.kind)}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


def _content_ids(items: list[AgendaItem]) -> list[str]:
    """Ids from start, room and title: re-exporting an unchanged agenda keeps every UID."""
    seen: dict[str, int] = {}
    ids = []
    for item in items:
        key = f"{_ical_utc(item.starts_at)}\n{item.room or ''}\n{item.title}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:24]
        seen[digest] = seen.get(digest, 0) + 1
        ids.append(digest if seen[digest] == 1 else f"{digest}-{seen[digest]}")
    return ids


def _ical_utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("iCalendar times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _ical_text(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return ICAL_FORBIDDEN.sub("", ICAL_NEWLINE.sub(r"\\n", escaped))


def _fold(line: str) -> str:
    """Split after at most 75 UTF-8 octets, never inside a character (RFC 5545 3.1)."""
    pieces, piece, octets = [], "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        if octets + width > ICAL_MAX_LINE_OCTETS:
            pieces.append(piece)
            piece, octets = " ", 1
        piece += char
        octets += width
    pieces.append(piece)
    return "\r\n".join(pieces)
