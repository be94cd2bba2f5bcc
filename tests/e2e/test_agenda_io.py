"""Agenda import (CSV, pretalx/frab JSON) and iCalendar export, through the real API."""

from __future__ import annotations

import json
import re

from tests.e2e.test_bad_input import assert_http_error, stored_state
from tests.e2e.test_stream_failover import audit_actions
from tests.support.clients import EVENT, HttpClient, Podium, StaffClient

EVENT_API = f"/api/v1/events/{EVENT}"
IMPORT = f"{EVENT_API}/agenda/import"

BERLIN_CSV = """title,kind,room,start,end
Opening keynote,Keynote,main,2026-11-22 09:00,2026-11-22 09:45
"Breakout session: data, ethics",Talk,Hall B,2026-11-22 10:00,2026-11-22 11:00
Coffee,coffee break,,2026-11-22 11:00,2026-11-22 11:30
Closing panel,Panel,hall b,2026-11-22T16:00:00+00:00,2026-11-22T17:00:00+00:00
"""


async def import_agenda(client: HttpClient, body: str | bytes, fmt: str) -> tuple[int, dict]:
    data = body.encode() if isinstance(body, str) else body
    content_type = "text/csv" if fmt == "csv" else "application/json"
    return await client.request(
        "POST", f"{IMPORT}?format={fmt}", data=data, headers={"Content-Type": content_type}
    )


def frab(rooms: dict, *, time_zone: str = "Europe/Berlin", date: str = "2026-11-23") -> str:
    conference = {"title": "Podcon", "time_zone_name": time_zone}
    conference["days"] = [{"index": 1, "date": date, "rooms": rooms}]
    return json.dumps({"schedule": {"version": "1", "conference": conference}})


def talk(**changes) -> dict:
    return {"title": "Talk", "start": "09:30", "duration": "00:45", "type": "Talk"} | changes


def sessions_by_title(detail: dict) -> dict[str, tuple]:
    rooms = {room["id"]: room["name"] for room in detail["rooms"]}
    return {
        s["title"]: (s["kind"], rooms.get(s["room_id"]), s["starts_at"], s["ends_at"])
        for s in detail["sessions"]
    }


async def test_a_csv_agenda_adds_its_sessions_and_missing_rooms_and_everyone_is_told(podium):
    admin = await podium.staff("admin")
    await admin.ok("PATCH", EVENT_API, {"timezone": "Europe/Berlin"})
    viewer_live = await podium.live_viewer(await podium.viewer("Watcher"))
    staff_live = await podium.live_staff(await podium.staff("moderator"), "/moderator")
    for live in (viewer_live, staff_live):
        await live.ok("sync")

    status, imported = await import_agenda(admin, BERLIN_CSV, "csv")

    assert status == 201, imported
    assert imported["imported"] == 4
    detail = imported["event"]
    assert [(room["slug"], room["name"]) for room in detail["rooms"]] == [
        ("main", "Main"),
        ("side", "Side"),
        ("hall-b", "Hall B"),
    ]
    added = {k: v for k, v in sessions_by_title(detail).items() if k not in podium.sessions}
    assert added == {
        "Opening keynote": (
            "keynote",
            "Main",
            "2026-11-22T08:00:00+00:00",
            "2026-11-22T08:45:00+00:00",
        ),
        "Breakout session: data, ethics": (
            "other",
            "Hall B",
            "2026-11-22T09:00:00+00:00",
            "2026-11-22T10:00:00+00:00",
        ),
        "Coffee": ("break", None, "2026-11-22T10:00:00+00:00", "2026-11-22T10:30:00+00:00"),
        "Closing panel": (
            "panel",
            "Hall B",
            "2026-11-22T16:00:00+00:00",
            "2026-11-22T17:00:00+00:00",
        ),
    }
    assert await admin.ok("GET", EVENT_API) == detail
    for live in (viewer_live, staff_live):
        _, update = await live.wait_for(
            lambda n, p: n == "update" and p["type"] == "event" and len(p["event"]["rooms"]) == 3
        )
        assert update["event"] == detail
    assert [e["details"] for e in await audit_actions(admin, "AgendaImported")] == [
        {"format": "csv", "sessions": 4}
    ]


def unfolded_lines(body: bytes) -> list[str]:
    """The content lines of an iCalendar file, long lines unfolded (RFC 5545 3.1)."""
    return body.decode().replace("\r\n ", "").split("\r\n")[:-1]


def vevents(lines: list[str]) -> list[dict[str, str]]:
    events, current = [], None
    for line in lines:
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            events.append(current)
            current = None
        elif current is not None:
            name, _, value = line.partition(":")
            current[name] = value
    return events


async def test_a_pretalx_schedule_imports_and_the_whole_agenda_comes_back_as_icalendar(podium):
    admin, anonymous = await podium.staff("admin"), await podium.anonymous()
    schedule = frab(
        {
            "Side": [
                talk(title="Opening, with coffee; and more", track="Keynote"),
                talk(title="Hands-on", start="10:30", duration="01:30", type="Workshop"),
            ],
            "Foyer Ü": [talk(title="Lunch", date="2026-11-23T12:00:00+01:00", type="Break")],
        }
    )

    status, imported = await import_agenda(admin, schedule, "frab")

    assert status == 201, imported
    assert imported["imported"] == 3
    added = {k: v for k, v in sessions_by_title(imported["event"]).items()}
    assert added["Opening, with coffee; and more"] == (
        "keynote",
        "Side",
        "2026-11-23T08:30:00+00:00",
        "2026-11-23T09:15:00+00:00",
    )
    assert added["Hands-on"][:3] == ("workshop", "Side", "2026-11-23T09:30:00+00:00")
    assert added["Lunch"][:3] == ("break", "Foyer Ü", "2026-11-23T11:00:00+00:00")

    async with anonymous.session.get(f"{EVENT_API}/agenda.ics") as response:
        assert response.status == 200
        assert response.content_type == "text/calendar"
        assert response.headers["Content-Disposition"] == f'attachment; filename="{EVENT}.ics"'
        body = await response.read()
    assert body.count(b"\n") == body.count(b"\r\n")
    assert all(len(line) <= 75 for line in body.split(b"\r\n")), body
    lines = unfolded_lines(body)
    assert (lines[0], lines[-1]) == ("BEGIN:VCALENDAR", "END:VCALENDAR")
    events = vevents(lines)
    assert len(events) == len(imported["event"]["sessions"]) == 5
    by_summary = {e["SUMMARY"]: e for e in events}
    assert set(by_summary) == {
        "Workshop A",
        "Panel",
        "Opening\\, with coffee\\; and more",
        "Hands-on",
        "Lunch",
    }
    assert [by_summary["Workshop A"][k] for k in ("DTSTART", "DTEND", "LOCATION")] == [
        "20991121T090000Z",
        "20991121T100000Z",
        "Main",
    ]
    assert by_summary["Opening\\, with coffee\\; and more"]["DTSTART"] == "20261123T083000Z"
    assert (by_summary["Lunch"]["DTSTART"], by_summary["Lunch"]["LOCATION"]) == (
        "20261123T110000Z",
        "Foyer Ü",
    )
    stamps = [e[k] for e in events for k in ("DTSTART", "DTEND", "DTSTAMP")]
    assert all(re.fullmatch(r"\d{8}T\d{6}Z", stamp) for stamp in stamps), stamps
    assert len({e["UID"] for e in events}) == 5


GOOD_ROW = "Fine,Talk,Main,2026-11-22 09:00,2026-11-22 10:00\n"
HEADER = "title,kind,room,start,end\n"
REFUSED_FILES = [
    (
        "csv",
        HEADER + GOOD_ROW + "Broken,Talk,New room,2026-11-22 25:00,2026-11-22 10:00\n",
        "start",
        "row 3",
    ),
    (
        "csv",
        HEADER + GOOD_ROW + "Backwards,Talk,New room,2026-11-22 10:00,2026-11-22 09:00\n",
        "end",
        "row 3",
    ),
    ("csv", HEADER + GOOD_ROW + "Short,Talk,New room,2026-11-22 10:00\n", "row", "row 3"),
    (
        "csv",
        HEADER + "Gap,Talk,New room,2026-03-29 01:30,2026-03-29 03:00\n",
        "start",
        "does not exist",
    ),
    ("csv", "title,kind,room,begin,end\n" + GOOD_ROW, "header", "row 1"),
    ("csv", "", "file", "row 1"),
    ("csv", b"title,kind,room,start,end\n\xff\xfe", "body", "UTF-8"),
    ("frab", "{not json", "file", "not valid JSON"),
    ("frab", '{"schedule": {}}', "schedule.conference", "is missing"),
    (
        "frab",
        frab({"New room": [talk(), talk(duration="45m")]}),
        "schedule.conference.days[0].rooms['New room'][1].duration",
        "must be HH:MM",
    ),
    ("xml", "<schedule/>", "format", ""),
]


async def test_a_refused_agenda_file_or_caller_imports_nothing_at_all(podium: Podium):
    admin = await podium.staff("admin")
    before = await stored_state(admin)

    for fmt, body, field, message in REFUSED_FILES:
        answer = await import_agenda(admin, body, fmt)
        error = assert_http_error(answer, 400, "invalid_input", field)
        assert message in error["message"], (fmt, body, error)
    good = HEADER + GOOD_ROW
    callers: list[tuple[HttpClient, int, str]] = [
        (await podium.staff("moderator"), 403, "forbidden"),
        (await podium.staff("chair"), 403, "forbidden"),
        (await podium.viewer("Viewer"), 403, "forbidden"),
        (await podium.anonymous(), 401, "not_authenticated"),
    ]
    for caller, status, code in callers:
        assert_http_error(await import_agenda(caller, good, "csv"), status, code)

    assert await stored_state(admin) == before


async def test_an_agenda_naming_a_room_longer_than_a_room_name_may_be_is_refused(podium):
    admin: StaffClient = await podium.staff("admin")
    before = await stored_state(admin)
    long_room = "Hall " + "B" * 250
    row = f"Talk,Talk,{long_room},2026-11-22 09:00,2026-11-22 10:00\n"

    answer = await import_agenda(admin, HEADER + row, "csv")

    assert_http_error(answer, 400, "invalid_input", "room")
    assert await stored_state(admin) == before
