"""A known attendance pattern, driven through the real Socket.IO interface, and every figure
of the reach report (JSON and both CSV exports) checked against the pattern.

Real time cannot be hours here, so the pattern runs in a few seconds: four transitions, each
followed by a quiet plateau. Every action records when it was sent and when its ack came back;
the server stamps it in between, so each expected figure is either exact (counts) or bounded
by those stamps (watch times, the moment of the peak). Session windows are added afterwards,
with their edges in the middle of plateaus, so which intervals they contain is certain.

Nothing here uses server.domain.attendance: the expectations come from the pattern alone.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiohttp
import socketio
from sqlalchemy import select

from server.store.models import EventRow
from tests.e2e.test_attendance import hang_up
from tests.support.clients import EVENT, client_id

EVENT_API = f"/api/v1/events/{EVENT}"
PLATEAU = timedelta(seconds=1.2)  # quiet time after each transition
IN_FLIGHT = 50  # concurrent actions per transition: keeps each sent..acked bracket short
MINUTE = timedelta(minutes=1)

# Each script: (channel, {transition: [step, ...]}). Steps of one viewer run in order; within
# a transition, every viewer's "end" steps finish before any "start" step begins, so the
# count of viewers only falls, then only rises, and the plateaus are the extremes.
M, S = "main", "side"
SCRIPTS: dict[str, tuple[str, dict[int, list[tuple]]]] = {
    "stayer": ("remote", {1: [("watch", M)], 2: [("beat",)], 3: [("beat",)], 4: [("leave",)]}),
    "switcher": ("remote", {1: [("watch", M)], 2: [("watch", S)], 4: [("leave",)]}),
    "dropper": ("remote", {1: [("watch", S)], 2: [("beat",), ("drop",)]}),
    # Its page goes silent after the beat at 2; the connection is lost at 3.
    "ghost": ("remote", {1: [("watch", M)], 2: [("beat",)], 3: [("drop",)]}),
    "hider": (
        "remote",
        {1: [("watch", S)], 2: [("hide",)], 3: [("show",)], 4: [("beat",), ("drop",)]},
    ),
    "early_leaver": ("remote", {1: [("watch", M)], 2: [("leave",)]}),
    "late_joiner": ("remote", {3: [("watch", S)], 4: [("leave",)]}),
    "delegate": ("in_room", {2: [("check_in", M), ("check_in", M)]}),
    "converted": (
        "remote",
        {1: [("watch", M)], 3: [("check_in", S), ("watch", S)], 4: [("leave",)]},
    ),
    "in_room_watcher": ("in_room", {1: [("watch", S)], 2: [("beat",)], 4: [("leave",)]}),
    # Opened the player and lost the connection before its first heartbeat.
    "blip": ("remote", {1: [("watch", M)], 2: [("drop",)]}),
    "idle": ("remote", {}),
    # Hid the tab before choosing a room: nothing counts until the tab is shown.
    "hidden_joiner": ("remote", {1: [("hide",), ("watch", M)], 3: [("show",)], 4: [("leave",)]}),
}
ENDING_STEPS = {"beat", "drop", "leave", "hide"}
SCRIPT_ORDER = list(SCRIPTS)
# (country sent, time zone sent) -> the country Podium should keep
ORIGINS = [
    (("GB", None), "GB"),
    ((None, "Europe/Berlin"), "DE"),
    ((None, "Asia/Tokyo"), "JP"),
    (("BR", "Asia/Tokyo"), "BR"),  # a chosen country wins over the time zone
    ((None, None), None),
    ((None, "Etc/UTC"), None),
]


@dataclass
class Bracket:
    """When an action was sent and when its ack came back: the server stamped it in between."""

    lo: datetime
    hi: datetime


@dataclass
class Interval:
    room: str
    channel: str
    start: Bracket
    end: Bracket | None = None  # None while open
    zero_length: bool = False  # ended at its start: no heartbeat ever arrived
    reason: str = ""


@dataclass
class Viewer:
    index: int
    script: str
    channel: str
    country: str | None
    name: str
    token: str = ""
    id: int = 0
    sio: socketio.AsyncClient | None = None
    intervals: list[Interval] = field(default_factory=list)
    check_ins: list[tuple[str, Bracket]] = field(default_factory=list)
    watching: str | None = None
    visible: bool = True
    last_beat: Bracket | None = None
    sent_origin: tuple[str | None, str | None] = (None, None)

    @property
    def open(self) -> Interval | None:
        last = self.intervals[-1] if self.intervals else None
        return last if last and last.end is None and not last.zero_length else None


def now() -> datetime:
    return datetime.now(UTC)


class Pattern:
    """Drives every viewer's script over its own Socket.IO connection, recording brackets."""

    def __init__(self, base_url: str, rooms: dict[str, int], size: int) -> None:
        self.base_url = base_url
        self.rooms = rooms
        self.viewers = []
        for index in range(size):
            script = SCRIPT_ORDER[index % len(SCRIPT_ORDER)]
            (country, zone), kept = ORIGINS[index % len(ORIGINS)]
            name = f"Delphine Okafor {index:04d}"
            channel = SCRIPTS[script][0]
            self.viewers.append(
                Viewer(index, script, channel, kept, name, sent_origin=(country, zone))
            )
        self.transitions: list[Bracket] = []
        self.http = aiohttp.ClientSession(base_url, headers={"Origin": base_url})

    async def join_and_connect(self) -> None:
        for batch in range(0, len(self.viewers), 100):
            await asyncio.gather(*(self._join(v) for v in self.viewers[batch : batch + 100]))

    async def _join(self, viewer: Viewer) -> None:
        country, zone = viewer.sent_origin
        body = {"display_name": viewer.name, "channel": viewer.channel}
        body |= {"country": country} if country else {}
        body |= {"time_zone": zone} if zone else {}
        async with self.http.post(f"{EVENT_API}/viewers", json=body) as answer:
            assert answer.status == 201, await answer.text()
            joined = await answer.json()
        viewer.token, viewer.id = joined["token"], joined["viewer"]["id"]
        viewer.sio = socketio.AsyncClient(reconnection=False)
        await viewer.sio.connect(
            self.base_url,
            namespaces=["/viewer"],
            auth={"token": viewer.token},
            headers={"Origin": self.base_url},
            transports=["websocket"],
            wait_timeout=20,
        )

    async def run_transition(self, number: int) -> None:
        begun = now()
        gate = asyncio.Semaphore(IN_FLIGHT)
        for phase in ("end", "start"):
            await asyncio.gather(*(self._steps(v, number, phase, gate) for v in self.viewers))
        self.transitions.append(Bracket(begun, now()))

    async def _steps(self, viewer: Viewer, number: int, phase: str, gate) -> None:
        steps = SCRIPTS[viewer.script][1].get(number, [])
        mine = [s for s in steps if (s[0] in ENDING_STEPS) == (phase == "end")]
        if not mine:
            return
        async with gate:
            for step in mine:
                await getattr(self, f"_{step[0]}")(viewer, *step[1:])

    async def _call(self, viewer: Viewer, name: str, payload) -> tuple[Bracket, dict]:
        sent = now()
        ack = await viewer.sio.call(name, payload, namespace="/viewer", timeout=60)
        assert ack["ok"], (viewer.script, name, ack)
        return Bracket(sent, now()), ack["data"]

    def _close_open(self, viewer: Viewer, when: Bracket, reason: str) -> None:
        interval = viewer.open
        if interval is not None:
            interval.end, interval.reason = when, reason

    async def _watch(self, viewer: Viewer, room: str) -> None:
        when, data = await self._call(viewer, "watch_room", {"room_id": self.rooms[room]})
        assert data["room"]["id"] == self.rooms[room]
        self._close_open(viewer, when, "leave")
        viewer.watching = room
        if viewer.visible:
            viewer.intervals.append(Interval(room, viewer.channel, start=when))

    async def _leave(self, viewer: Viewer) -> None:
        when, data = await self._call(viewer, "watch_room", {"room_id": None})
        assert data == {"room": None, "captions": []}
        self._close_open(viewer, when, "leave")
        viewer.watching = None

    async def _hide(self, viewer: Viewer) -> None:
        when, _ = await self._call(viewer, "visibility", {"visible": False})
        self._close_open(viewer, when, "hidden")
        viewer.visible = False

    async def _show(self, viewer: Viewer) -> None:
        when, _ = await self._call(viewer, "visibility", {"visible": True})
        viewer.visible = True
        if viewer.watching:
            viewer.intervals.append(Interval(viewer.watching, viewer.channel, start=when))

    async def _beat(self, viewer: Viewer) -> None:
        when, data = await self._call(viewer, "heartbeat", {})
        assert data == {"watching": self.rooms.get(viewer.watching)}
        if viewer.open is not None:
            viewer.last_beat = when

    async def _check_in(self, viewer: Viewer, room: str) -> None:
        when, data = await self._call(viewer, "check_in", {"room_id": self.rooms[room]})
        first = not any(r == room for r, _ in viewer.check_ins)
        assert data == {"checked_in": True, "first_time": first}
        viewer.check_ins.append((room, when))
        viewer.channel = "in_room"

    async def _drop(self, viewer: Viewer) -> None:
        """Lose the connection: the websocket closes without any goodbye."""
        await viewer.sio.eio.ws.close()
        interval = viewer.open
        if interval is not None:
            if viewer.last_beat is None or viewer.last_beat.lo < interval.start.lo:
                interval.zero_length, interval.reason = True, "disconnect"
            else:
                interval.end, interval.reason = viewer.last_beat, "disconnect"
        viewer.watching = None

    async def hang_up(self) -> None:
        connected = [v.sio for v in self.viewers if v.sio is not None and v.sio.connected]
        await asyncio.gather(*(sio.disconnect() for sio in connected))


# --- the expectation, from the pattern alone ---------------------------------------------------


@dataclass
class Window:
    """A scope of the report: the whole event, or one agenda session (rooms None: every room)."""

    start: datetime | None
    end: datetime | None
    room: str | None

    def covers(self, interval: Interval) -> bool:
        return self.room is None or interval.room == self.room

    def clip(self, lo: datetime, hi: datetime) -> tuple[datetime, datetime]:
        return (max(lo, self.start) if self.start else lo, min(hi, self.end) if self.end else hi)


def seconds_inside(interval: Interval, window: Window) -> tuple[float, float]:
    """The least and most time this interval can have been watched inside the window."""
    if interval.zero_length or not window.covers(interval):
        return 0.0, 0.0
    least = window.clip(interval.start.hi, interval.end.lo)
    most = window.clip(interval.start.lo, interval.end.hi)
    low = max(0.0, (least[1] - least[0]).total_seconds())
    high = max(0.0, (most[1] - most[0]).total_seconds())
    assert (low > 0) == (high > 0), "a window edge falls inside a transition: fix the test"
    return low, high


def watching_at(viewers: list[Viewer], window: Window, instant: datetime) -> int:
    """Viewers certainly watching the window's rooms at `instant` (it must be a quiet time)."""
    count = 0
    for viewer in viewers:
        inside = False
        for interval in viewer.intervals:
            if interval.zero_length or not window.covers(interval):
                continue
            surely = interval.start.hi <= instant < interval.end.lo
            maybe = interval.start.lo <= instant < interval.end.hi
            assert surely == maybe, "a sample instant falls inside a transition: fix the test"
            inside = inside or surely
        count += inside
    return count


def expected_report(pattern: Pattern, window: Window, questions: dict, check_ins: int) -> dict:
    """Every figure of one report scope, with (low, high) brackets where time is involved."""
    event_scope = window.start is None
    spans: dict[int, tuple[float, float]] = {}
    channels: set[tuple[int, str]] = set()
    for viewer in pattern.viewers:
        for interval in viewer.intervals:
            low, high = seconds_inside(interval, window)
            if high == 0 and not (event_scope and interval.zero_length):
                continue
            had = spans.get(viewer.index, (0.0, 0.0))
            spans[viewer.index] = (had[0] + low, had[1] + high)
            channels.add((viewer.index, interval.channel))
    viewers = [pattern.viewers[i] for i in spans]
    lows = [low for low, _ in spans.values()]
    highs = [high for _, high in spans.values()]

    samples = [t.hi + PLATEAU / 2 for t in pattern.transitions]
    if window.start is not None:
        samples.append(window.start)
    samples = sorted(s for s in samples if (window.start or s) <= s < (window.end or s + MINUTE))
    levels = [(watching_at(viewers, window, s), s) for s in samples]
    peak = max((level for level, _ in levels), default=0)
    peak_at = None
    if peak:
        reached = next(s for level, s in levels if level == peak)
        if reached == window.start:
            peak_at = (reached, reached)
        else:  # the last start of the transition that lifted the count to its plateau
            before = max(
                (s for s in samples if s < reached), default=datetime.min.replace(tzinfo=UTC)
            )
            starts = [
                i.start
                for v in viewers
                for i in v.intervals
                if not i.zero_length and window.covers(i) and before < i.start.lo < reached
            ]
            peak_at = (max(b.lo for b in starts), max(b.hi for b in starts))

    countries = Counter(v.country or "unknown" for v in viewers)
    return {
        "unique_viewers": len(viewers),
        "peak_concurrent": peak,
        "peak_at": peak_at,
        "total_watch_time_seconds": (sum(lows), sum(highs)),
        "median_watch_time_seconds": (
            (statistics.median(lows), statistics.median(highs)) if spans else (0, 0)
        ),
        "watch_time_distribution": [
            {"bucket": label, "viewers": len(viewers) if label == "<1 min" else 0}
            for label in (
                "<1 min",
                "1–5 min",
                "5–15 min",
                "15–30 min",
                "30–60 min",
                "1–2 h",
                "2 h+",
            )
        ],
        "countries": [
            {"country": c, "viewers": n}
            for c, n in sorted(countries.items(), key=lambda item: (-item[1], item[0]))
        ],
        "remote_viewers": sum(1 for _, channel in channels if channel == "remote"),
        "in_room_viewers": sum(1 for _, channel in channels if channel == "in_room"),
        "questions": questions,
        "in_room_check_ins": check_ins,
    }


def check_ins_in(pattern: Pattern, room: str | None, start=None, end=None) -> int:
    return sum(
        1
        for v in pattern.viewers
        if any(
            (room is None or r == room)
            and (start is None or start <= b.lo)
            and (end is None or b.hi < end)
            for r, b in v.check_ins
        )
    )


def assert_report_matches(actual: dict, expected: dict, label: str) -> None:
    for key in (
        "unique_viewers",
        "peak_concurrent",
        "watch_time_distribution",
        "countries",
        "remote_viewers",
        "in_room_viewers",
        "questions",
        "in_room_check_ins",
    ):
        assert actual[key] == expected[key], (label, key, actual[key], expected[key])
    for key in ("total_watch_time_seconds", "median_watch_time_seconds"):
        low, high = expected[key]
        # The report rounds to whole seconds.
        assert low - 0.5 <= actual[key] <= high + 0.5, (label, key, actual[key], (low, high))
    if expected["peak_at"] is None:
        assert actual["peak_at"] is None, (label, actual["peak_at"])
    else:
        at = datetime.fromisoformat(actual["peak_at"])
        low, high = expected["peak_at"]
        assert low <= at <= high, (label, "peak_at", at, (low, high))


def plateau_middle(pattern: Pattern, after: int) -> datetime:
    return pattern.transitions[after - 1].hi + PLATEAU / 2


# --- questions, so the per-session question figures have something to count ------------------


async def ask_and_moderate(podium, pattern: Pattern, sessions: dict[str, int]) -> dict:
    """Questions per session with a known fate; returns the expected counts per session id."""
    moderator, chair = await podium.staff("moderator"), await podium.staff("chair")
    askers = iter(pattern.viewers)
    # session -> [(approved, answered, votes)]
    plan = {
        sessions["keynote"]: [(True, True, 5), (True, False, 2), (True, False, 0), (False, 0, 0)],
        sessions["breakout"]: [(True, False, 3), (False, False, 0)],
        None: [(False, False, 0)],
    }
    voters = pattern.viewers[-20:]
    expected: dict = {}
    for session_id, fates in plan.items():
        for approved, answered, votes in fates:
            asker = next(askers)
            question = await viewer_post(
                pattern,
                asker,
                "/questions",
                {
                    "client_id": client_id(),
                    "text": "How is reach counted?",
                    "session_id": session_id,
                },
            )
            qid = question["id"]
            if approved:
                await moderator.ok("POST", f"{EVENT_API}/questions/{qid}/approve")
            for voter in voters[:votes]:
                await viewer_post(pattern, voter, f"/questions/{qid}/vote", {})
            if answered:
                room = podium.rooms["main"]
                await chair.ok("POST", f"{EVENT_API}/questions/{qid}/queue", {"room_id": room})
                await chair.ok("POST", f"{EVENT_API}/questions/{qid}/stage", {"room_id": room})
                await chair.ok("POST", f"{EVENT_API}/questions/{qid}/answered")
            for key in {session_id, None}:
                counts = expected.setdefault(
                    key, {"asked": 0, "approved": 0, "answered": 0, "votes": 0}
                )
                counts["asked"] += 1
                counts["approved"] += approved
                counts["answered"] += bool(answered)
                counts["votes"] += votes
    return expected


async def viewer_post(pattern: Pattern, viewer: Viewer, path: str, body: dict) -> dict:
    headers = {"Authorization": f"Bearer {viewer.token}"}
    async with pattern.http.post(f"{EVENT_API}{path}", json=body, headers=headers) as answer:
        assert answer.status < 300, (answer.status, await answer.text())
        return await answer.json()


# --- the test ---------------------------------------------------------------------------------


async def test_every_reported_figure_equals_the_figure_computed_from_a_known_pattern(podium):
    size = 1000 if podium.settings.is_sqlite else 500  # PostgreSQL: the same pattern, less time
    pattern = Pattern(podium.base_url, podium.rooms, size)
    admin = await podium.staff("admin")
    try:
        await drive_and_check(podium, pattern, admin)
    finally:
        await pattern.hang_up()
        await pattern.http.close()
        await hang_up(podium)


async def drive_and_check(podium, pattern: Pattern, admin) -> None:
    await pattern.join_and_connect()
    for number in (1, 2, 3, 4):
        await pattern.run_transition(number)
        await asyncio.sleep(PLATEAU.total_seconds())
    await wait_until_every_interval_is_closed(admin, pattern)

    sessions = {}
    for key, title, room, start, end in (
        ("keynote", "Opening keynote", M, plateau_middle(pattern, 1), plateau_middle(pattern, 3)),
        ("breakout", "Breakout", S, plateau_middle(pattern, 2), now() + MINUTE),
        ("plenary", "Plenary", None, plateau_middle(pattern, 3), plateau_middle(pattern, 4)),
    ):
        body = {
            "title": title,
            "kind": "keynote",
            "room_id": podium.rooms[room] if room else None,
            "starts_at": start.isoformat(),
            "ends_at": end.isoformat(),
        }
        sessions[key] = (await admin.ok("POST", f"{EVENT_API}/sessions", body))["id"]
    questions = await ask_and_moderate(podium, pattern, sessions)
    no_questions = {"asked": 0, "approved": 0, "answered": 0, "votes": 0}

    report = await admin.ok("GET", f"{EVENT_API}/reports")
    everything = Window(None, None, None)
    expected = expected_report(pattern, everything, questions[None], check_ins_in(pattern, None))
    assert_report_matches(report["report"], expected, "event")
    # The pattern's own sanity: every kind of viewer took part, and the peak came first.
    assert expected["unique_viewers"] == sum(
        1 for v in pattern.viewers if v.script not in ("delegate", "idle")
    )
    assert expected["remote_viewers"] > 0 and expected["in_room_viewers"] > 0
    assert (
        watching_at(pattern.viewers, everything, plateau_middle(pattern, 1))
        == report["report"]["peak_concurrent"]
    )

    by_id = {item["id"]: item for item in report["sessions"]}
    assert set(sessions.values()) | set(podium.sessions.values()) == set(by_id)
    for session_id, item in by_id.items():
        start, end = (datetime.fromisoformat(item[k]) for k in ("starts_at", "ends_at"))
        room = {"Main": M, "Side": S, None: None}[item["room"]]
        window = Window(start, end, room)
        # A plenary's in-room check-ins are pinned by test_attendance; none happen in it here.
        check_ins = check_ins_in(pattern, room, start, end) if room else 0
        wanted = expected_report(
            pattern, window, questions.get(session_id, no_questions), check_ins
        )
        assert_report_matches(item["report"], wanted, item["title"])
    assert by_id[sessions["keynote"]]["report"]["in_room_check_ins"] > 0
    assert by_id[sessions["breakout"]]["report"]["peak_concurrent"] > 0
    assert by_id[sessions["plenary"]]["report"]["unique_viewers"] > 0

    await check_aggregates_csv(admin, report)
    await check_attendance_csv(podium, admin, pattern)


async def wait_until_every_interval_is_closed(admin, pattern: Pattern) -> None:
    """Lost connections are noticed by the server a moment after the socket closes."""
    expected = sum(len(v.intervals) for v in pattern.viewers)
    for _ in range(100):
        csv_text = await admin.ok("GET", f"{EVENT_API}/reports/attendance.csv")
        rows = list(csv.DictReader(io.StringIO(csv_text)))
        if len(rows) == expected and all(row["end_reason"] != "open" for row in rows):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"intervals still open or missing: {len(rows)} of {expected}")


async def check_aggregates_csv(admin, report: dict) -> None:
    text = await admin.ok("GET", f"{EVENT_API}/reports/aggregates.csv")
    for name, filename in (("aggregates", "reach"), ("attendance", "attendance")):
        async with admin.session.get(f"{EVENT_API}/reports/{name}.csv") as response:
            assert response.content_type == "text/csv"
            download = f'attachment; filename="{EVENT}-{filename}.csv"'
            assert response.headers["Content-Disposition"] == download
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == ["scope", "session_id", "session_title", "metric", "value"]
    rows = list(reader)
    scopes = [("event", "", "", report["report"])] + [
        ("session", str(item["id"]), item["title"], item["report"]) for item in report["sessions"]
    ]
    wanted = []
    for scope, session_id, title, figures in scopes:
        for metric, value in figures.items():
            if metric == "watch_time_distribution":
                pairs = [(f"watch_time {i['bucket']}", i["viewers"]) for i in value]
            elif metric == "countries":
                pairs = [(f"country {i['country']}", i["viewers"]) for i in value]
            elif metric == "questions":
                pairs = [(f"questions {k}", n) for k, n in value.items()]
            else:
                pairs = [(metric, "" if value is None else value)]
            wanted += [
                {
                    "scope": scope,
                    "session_id": session_id,
                    "session_title": title,
                    "metric": m,
                    "value": str(v),
                }
                for m, v in pairs
            ]
    assert rows == wanted


async def check_attendance_csv(podium, admin, pattern: Pattern) -> None:
    text = await admin.ok("GET", f"{EVENT_API}/reports/attendance.csv")
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == [
        "viewer_key",
        "room_id",
        "room",
        "channel",
        "country",
        "started_at",
        "ended_at",
        "seconds",
        "end_reason",
    ]
    rows = list(reader)
    assert not re.search(r"\b\d{1,3}(\.\d{1,3}){3}\b", text), "an IP-looking string"
    assert not any(v.name in text for v in pattern.viewers) and "Delphine" not in text
    assert all(re.fullmatch(r"[0-9a-f]{64}", row["viewer_key"]) for row in rows)

    async with podium.services.db.read() as session:
        salt = (
            await session.execute(select(EventRow.attendance_salt).where(EventRow.slug == EVENT))
        ).scalar_one()
    by_key: dict[str, list[dict]] = {}
    for row in rows:
        by_key.setdefault(row["viewer_key"], []).append(row)
    room_names = {str(podium.rooms[M]): "Main", str(podium.rooms[S]): "Side"}
    assert len(rows) == sum(len(v.intervals) for v in pattern.viewers)
    for viewer in pattern.viewers:
        # docs/privacy.md: viewer_key is sha256(event salt : viewer id)
        key = hashlib.sha256(f"{salt}:{viewer.id}".encode()).hexdigest()
        got = sorted(by_key.pop(key, []), key=lambda row: row["started_at"])
        assert len(got) == len(viewer.intervals), (viewer.script, got)
        for row, interval in zip(got, viewer.intervals, strict=True):
            label = (viewer.script, row)
            assert row["room_id"] == str(podium.rooms[interval.room]), label
            assert row["room"] == room_names[row["room_id"]], label
            assert (row["channel"], row["country"]) == (interval.channel, viewer.country or "")
            assert row["end_reason"] == interval.reason, label
            started = datetime.fromisoformat(row["started_at"])
            ended = datetime.fromisoformat(row["ended_at"])
            assert interval.start.lo <= started <= interval.start.hi, label
            end = interval.start if interval.zero_length else interval.end
            if interval.zero_length:
                assert ended == started, label
            else:
                assert end.lo <= ended <= end.hi, label
            assert abs(int(row["seconds"]) - (ended - started).total_seconds()) <= 0.5, label
    assert by_key == {}, "intervals of nobody in the pattern"
