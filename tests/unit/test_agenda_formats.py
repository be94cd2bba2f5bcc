"""Agenda import from CSV and pretalx/frab JSON, and export to iCalendar."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from server.domain.agenda_formats import (
    MAX_ITEMS,
    AgendaItem,
    classify_kind,
    parse_csv,
    parse_frab_json,
    to_ical,
)
from server.domain.errors import InvalidInput

HEADER = "title,kind,room,start,end\n"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def item(title: str = "Opening", **changes) -> AgendaItem:
    fields = {
        "title": title,
        "kind": "keynote",
        "room": "Main hall",
        "starts_at": utc(2026, 11, 21, 9, 30),
        "ends_at": utc(2026, 11, 21, 10, 15),
        "description": "",
    } | changes
    return AgendaItem(**fields)


# CSV


def test_csv_rows_become_agenda_items_in_utc():
    text = (
        "title,kind,room,start,end,description\n"
        "Opening,keynote,Main hall,2026-06-01 09:30,2026-06-01 10:15,Welcome all\n"
        "Lunch,Lunch break,,2026-06-01 12:00,2026-06-01T13:00:00+01:00,\n"
    )
    assert parse_csv(text, "Europe/London") == [
        AgendaItem(
            "Opening",
            "keynote",
            "Main hall",
            utc(2026, 6, 1, 8, 30),
            utc(2026, 6, 1, 9, 15),
            "Welcome all",
        ),
        AgendaItem("Lunch", "break", None, utc(2026, 6, 1, 11), utc(2026, 6, 1, 12)),
    ]


def test_csv_header_is_case_insensitive_and_a_byte_order_mark_is_ignored():
    text = "\ufeff Title ,KIND,Room,Start,END\r\nTalk,panel,A,2026-01-10 10:00,2026-01-10 11:00\r\n"
    [talk] = parse_csv(text, "Europe/London")
    assert (talk.title, talk.kind, talk.starts_at) == ("Talk", "panel", utc(2026, 1, 10, 10))


def test_csv_skips_blank_rows_and_files_a_missing_kind_as_other():
    text = HEADER + "\n,,,,\nTalk,,,2026-01-10 10:00,2026-01-10 11:00\n\n"
    assert [(i.title, i.kind) for i in parse_csv(text, "UTC")] == [("Talk", "other")]


def test_csv_wall_clock_times_follow_the_spring_clock_change():
    text = HEADER + (
        "Night owls,other,,2026-03-29 00:30,2026-03-29 03:00\n"
        "Morning,other,,2026-03-29 10:00,2026-03-29 11:00\n"
    )
    night, morning = parse_csv(text, "Europe/London")
    assert (night.starts_at, night.ends_at) == (utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 2))
    assert night.ends_at - night.starts_at == timedelta(hours=1, minutes=30)
    assert morning.starts_at == utc(2026, 3, 29, 9)


def test_csv_wall_clock_times_follow_the_autumn_clock_change():
    text = HEADER + (
        "Night owls,other,,2026-10-25 00:30,2026-10-25 03:00\n"
        "Morning,other,,2026-10-25 10:00,2026-10-25 11:00\n"
    )
    night, morning = parse_csv(text, "Europe/London")
    assert (night.starts_at, night.ends_at) == (utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 3))
    assert night.ends_at - night.starts_at == timedelta(hours=3, minutes=30)
    assert morning.starts_at == utc(2026, 10, 25, 10)


def test_csv_rejects_a_time_skipped_by_the_clocks_going_forward():
    text = HEADER + "Ghost,other,,2026-03-29 01:30,2026-03-29 03:00\n"
    with pytest.raises(InvalidInput, match=r"row 2: start .*does not exist in Europe/London"):
        parse_csv(text, "Europe/London")


def test_csv_rejects_an_ambiguous_time_unless_it_carries_an_offset():
    ambiguous = HEADER + "Twice,other,,2026-10-25 01:30,2026-10-25 03:00\n"
    with pytest.raises(InvalidInput, match=r"row 2: start .*happens twice"):
        parse_csv(ambiguous, "Europe/London")
    explicit = HEADER + "Twice,other,,2026-10-25T01:30+01:00,2026-10-25 03:00\n"
    assert parse_csv(explicit, "Europe/London")[0].starts_at == utc(2026, 10, 25, 0, 30)


TIMES = "2026-01-10 10:00,2026-01-10 11:00"


@pytest.mark.parametrize(
    ("text", "message", "field"),
    [
        ("", "row 1: a header row is required", "file"),
        ("title,kind,room,start,end,speaker\n", "row 1: unknown column 'speaker'", "header"),
        ("title,kind,start,end\n", "row 1: missing column 'room'", "header"),
        ("title,kind,room,start,end,title\n", "row 1: column 'title' appears twice", "header"),
        (HEADER + f" ,keynote,A,{TIMES}\n", "row 2: title must not be empty", "title"),
        (HEADER + f"{'x' * 201},keynote,A,{TIMES}\n", "row 2: title is 201 characters", "title"),
        (HEADER + "T,,,2026-01-10,2026-01-10 11:00\n", "row 2: start '2026-01-10' is not", "start"),
        (HEADER + "T,,,2026-01-10 10:00,10-01-2026 11:00\n", "row 2: end '10-01-2026", "end"),
        (HEADER + "T,,,2026-02-30 10:00,2026-02-30 11:00\n", "row 2: start", "start"),
        (HEADER + "T,,,2026-01-10 10:00,2026-01-10 10:00\n", "row 2: end .* must be after", "end"),
        (HEADER + "T,,,2026-01-10 10:00,2026-01-10 09:00\n", "row 2: end .* must be after", "end"),
        (HEADER + f"T,,A,{TIMES}\nU,,B,{TIMES},extra\n", "row 3: row has 6 cells but", "row"),
        (HEADER + "T,,A\n", "row 2: row has 3 cells but the header has 5", "row"),
    ],
)
def test_csv_validation_errors_name_the_row_and_field(text, message, field):
    with pytest.raises(InvalidInput, match=message) as raised:
        parse_csv(text, "Europe/London")
    assert field in raised.value.fields


def test_csv_accepts_at_most_500_sessions():
    rows = f"Talk,,,{TIMES}\n"
    assert len(parse_csv(HEADER + rows * MAX_ITEMS, "UTC")) == MAX_ITEMS
    with pytest.raises(InvalidInput, match=r"row 502: an agenda has at most 500 sessions"):
        parse_csv(HEADER + rows * (MAX_ITEMS + 1), "UTC")


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd", "Europe"])
def test_csv_rejects_an_unknown_time_zone(zone):
    with pytest.raises(InvalidInput, match="is not an IANA time zone") as raised:
        parse_csv(HEADER, zone)
    assert "timezone" in raised.value.fields


@pytest.mark.parametrize(
    ("labels", "kind"),
    [
        (("keynote",), "keynote"),
        (("Talk", "Keynote"), "keynote"),
        (("Workshops",), "workshop"),
        (("Panel discussion",), "panel"),
        (("Open Space",), "unconference"),
        (("BarCamp session",), "unconference"),
        (("Coffee",), "break"),
        (("Lunch break",), "break"),
        (("Breakout session",), "other"),
        (("Talk", None), "other"),
        (("",), "other"),
        (("Keynote panel",), "keynote"),
    ],
)
def test_classify_kind_maps_free_text_onto_session_kinds(labels, kind):
    assert classify_kind(*labels) == kind


# pretalx / frab JSON


def frab(rooms: dict, *, time_zone: str | None = "Europe/London", date: str = "2026-06-01") -> str:
    conference = {"title": "Podcon", "days": [{"index": 1, "date": date, "rooms": rooms}]}
    if time_zone is not None:
        conference["time_zone_name"] = time_zone
    return json.dumps({"schedule": {"version": "1", "conference": conference}})


def event(**changes) -> dict:
    return {
        "title": "Opening",
        "start": "09:30",
        "duration": "00:45",
        "type": "Talk",
        "track": "Keynote",
        "abstract": "Welcome",
    } | changes


def test_frab_events_become_agenda_items():
    text = frab(
        {
            "Main hall": [
                event(date="2026-06-01T09:30:00+01:00"),
                event(title="Bots", start="10:30", duration="1:30", type="Workshop", track="AI"),
            ],
            "Foyer": [
                event(title="Coffee", start="12:00", track=None, type="Break", abstract=None)
            ],
        }
    )
    assert parse_frab_json(text) == [
        AgendaItem(
            "Opening",
            "keynote",
            "Main hall",
            utc(2026, 6, 1, 8, 30),
            utc(2026, 6, 1, 9, 15),
            "Welcome",
        ),
        AgendaItem(
            "Bots", "workshop", "Main hall", utc(2026, 6, 1, 9, 30), utc(2026, 6, 1, 11), "Welcome"
        ),
        AgendaItem("Coffee", "break", "Foyer", utc(2026, 6, 1, 11), utc(2026, 6, 1, 11, 45)),
    ]


def test_frab_event_date_with_offset_wins_over_day_and_start():
    text = frab({"A": [event(date="2026-06-02T18:00:00-04:00", start="09:30", track=None)]})
    [talk] = parse_frab_json(text)
    assert (talk.starts_at, talk.kind) == (utc(2026, 6, 2, 22), "other")


def test_frab_without_time_zone_needs_a_date_on_every_event():
    dated = frab({"A": [event(date="2026-06-01T09:30:00Z")]}, time_zone=None)
    assert parse_frab_json(dated)[0].starts_at == utc(2026, 6, 1, 9, 30)
    with pytest.raises(InvalidInput, match=r"\['A'\]\[0\]\.date is required when"):
        parse_frab_json(frab({"A": [event()]}, time_zone=None))


PATH = "schedule.conference.days[0].rooms['Main hall'][2]"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"duration": "45m"}, "duration", "must be HH:MM, not '45m'"),
        ({"duration": 45}, "duration", "must be HH:MM, not 45"),
        ({"duration": "0:00"}, "duration", "must be longer than zero"),
        ({"start": "9.30"}, "start", "must be HH:MM"),
        ({"start": "25:00"}, "start", "must be HH:MM"),
        ({"title": None}, "title", "must be text"),
        ({"title": "  "}, "title", "must not be empty"),
        ({"track": 7}, "track", "must be text"),
        ({"date": "2026-06-01T09:30:00"}, "date", "needs a UTC offset"),
        ({"date": "tomorrow"}, "date", "is not a date and time"),
    ],
)
def test_frab_event_errors_name_the_json_path(change, field, message):
    text = frab({"Main hall": [event(), event(), event(**change)]})
    with pytest.raises(InvalidInput) as raised:
        parse_frab_json(text)
    assert raised.value.message.startswith(f"{PATH}.{field} ")
    assert message in raised.value.message
    assert f"{PATH}.{field}" in raised.value.fields


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON: Expecting property name"),
        ("[]", "schedule is missing"),
        ('{"schedule": {}}', "schedule.conference is missing"),
        ('{"schedule": {"conference": {"days": {}}}}', "schedule.conference.days must be a list"),
        ('{"schedule": {"conference": {"days": [[]]}}}', r"days\[0\] must be an object, not list"),
        (frab({"A": {}}), r"days\[0\]\.rooms\['A'\] must be a list, not dict"),
        (frab({"A": ["talk"]}), r"rooms\['A'\]\[0\] must be an object, not str"),
        (frab({"A": [event()]}, date="1 June"), r"days\[0\]\.date must be a YYYY-MM-DD date"),
        (frab({}, time_zone="Moon/Base"), "time_zone_name: 'Moon/Base' is not an IANA time zone"),
    ],
)
def test_frab_structure_errors_name_the_json_path(text, message):
    with pytest.raises(InvalidInput, match=message):
        parse_frab_json(text)


def test_frab_accepts_at_most_500_sessions():
    with pytest.raises(InvalidInput, match=r"\['A'\]\[500\]: an agenda has at most 500"):
        parse_frab_json(frab({"A": [event()] * (MAX_ITEMS + 1)}))


# iCalendar


def read_ical(text: str) -> list[tuple[str, str]]:
    """Unfold an iCalendar text into (name, unescaped value), checking its line discipline."""
    assert text.endswith("\r\n")
    physical = text[: -len("\r\n")].split("\r\n")
    assert not any("\r" in line or "\n" in line for line in physical), "bare CR or LF"
    assert all(len(line.encode("utf-8")) <= 75 for line in physical)
    logical: list[str] = []
    for line in physical:
        if line.startswith(" "):
            logical[-1] += line[1:]
        else:
            logical.append(line)
    properties = []
    for line in logical:
        name, value = line.split(":", 1)
        assert not re.search(r"(?<!\\)(?:\\\\)*[;,]", value), f"unescaped ; or , in {value!r}"
        properties.append((name, re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m[1], m[1]), value)))
    open_components = []
    for name, value in properties:
        if name == "BEGIN":
            open_components.append(value)
        elif name == "END":
            assert open_components.pop() == value
    assert not open_components
    return properties


def events_of(properties: list[tuple[str, str]]) -> list[dict[str, str]]:
    events, current = [], None
    for name, value in properties:
        if (name, value) == ("BEGIN", "VEVENT"):
            current = {}
        elif (name, value) == ("END", "VEVENT"):
            events.append(current)
            current = None
        elif current is not None:
            current[name] = value
    return events


NOW = utc(2026, 11, 1, 12, 0, 5)


def test_ical_has_the_calendar_properties_and_one_event_per_item():
    text = to_ical(
        [item(), item("Close")], calendar_name="Podcon 2026", uid_domain="p.example", now=NOW
    )
    properties = read_ical(text)
    assert properties[:5] == [
        ("BEGIN", "VCALENDAR"),
        ("VERSION", "2.0"),
        ("PRODID", "-//Podium//Agenda//EN"),
        ("CALSCALE", "GREGORIAN"),
        ("X-WR-CALNAME", "Podcon 2026"),
    ]
    opening, close = events_of(properties)
    assert opening == {
        "UID": opening["UID"],
        "DTSTAMP": "20261101T120005Z",
        "DTSTART": "20261121T093000Z",
        "DTEND": "20261121T101500Z",
        "SUMMARY": "Opening",
        "LOCATION": "Main hall",
        "CATEGORIES": "keynote",
    }
    assert close["SUMMARY"] == "Close"
    assert opening["UID"].endswith("@p.example") and opening["UID"] != close["UID"]


def test_ical_text_values_are_escaped_folded_and_round_trip():
    title = 'Q&A; "money, money" \\ and more'
    description = "Line one\nLine two, with ünïcödé 🎤 " + "ééé 🎤 " * 40 + "\r\nLast; line"
    agenda = [item(title, room="Hall 1, upper floor", description=description, kind="panel")]
    text = to_ical(agenda, calendar_name="Pod, con; 2026", uid_domain="p.example", now=NOW)
    properties = read_ical(text)
    assert ("X-WR-CALNAME", "Pod, con; 2026") in properties
    [event] = events_of(properties)
    assert event["SUMMARY"] == title
    assert event["LOCATION"] == "Hall 1, upper floor"
    assert event["DESCRIPTION"] == description.replace("\r\n", "\n")
    assert event["CATEGORIES"] == "panel"
    assert "DESCRIPTION:Line one\\nLine two\\, with" in text


def test_ical_folds_long_multibyte_lines_at_75_octets_without_splitting_characters():
    text = to_ical([item("🎤" * 60)], calendar_name="x", uid_domain="p.example", now=NOW)
    physical = text.split("\r\n")
    summary_at = next(i for i, line in enumerate(physical) if line.startswith("SUMMARY:"))
    assert physical[summary_at + 1].startswith(" ") and physical[summary_at + 2].startswith(" ")
    assert events_of(read_ical(text))[0]["SUMMARY"] == "🎤" * 60


def test_ical_omits_location_and_description_when_there_are_none():
    text = to_ical([item(room=None)], calendar_name="x", uid_domain="p.example", now=NOW)
    assert set(events_of(read_ical(text))[0]) == {
        "UID",
        "DTSTAMP",
        "DTSTART",
        "DTEND",
        "SUMMARY",
        "CATEGORIES",
    }


def test_ical_uses_given_uids_with_the_domain():
    text = to_ical(
        [item(), item("Close")], calendar_name="x", uid_domain="p.example", uids=["7", "8"], now=NOW
    )
    assert [e["UID"] for e in events_of(read_ical(text))] == ["7@p.example", "8@p.example"]
    with pytest.raises(ValueError, match="got 1 uids for 2 agenda items"):
        to_ical([item(), item()], calendar_name="x", uid_domain="p.example", uids=["7"], now=NOW)


def test_ical_default_uids_survive_reordering_and_stay_unique_for_duplicates():
    def uids(agenda):
        text = to_ical(agenda, calendar_name="x", uid_domain="p.example", now=NOW)
        return [e["UID"] for e in events_of(read_ical(text))]

    first, second = item("A"), item("B")
    assert uids([first, second]) == list(reversed(uids([second, first])))
    assert len(set(uids([first, first]))) == 2


def test_ical_converts_aware_times_to_utc():
    plus_two = datetime(2026, 11, 1, 14, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    text = to_ical([item()], calendar_name="x", uid_domain="p.example", now=plus_two)
    assert "DTSTAMP:20261101T120005Z\r\n" in text


def test_agenda_item_refuses_naive_or_non_utc_times_and_unknown_kinds():
    with pytest.raises(ValueError, match="UTC"):
        item(starts_at=datetime(2026, 11, 21, 9, 30))
    with pytest.raises(ValueError, match="kind"):
        item(kind="talk")
    with pytest.raises(ValueError, match="end after"):
        item(ends_at=utc(2026, 11, 21, 9, 30))
