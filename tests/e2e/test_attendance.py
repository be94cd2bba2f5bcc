"""The attendance log over the real viewer socket: joins and leaves are durable once acked,
heartbeats are written in batches, and each way a watch ends is recorded as it happened."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
import socketio
from sqlalchemy import select

from server.app_keys import SOCKETS
from server.settings import CONFIG_DIR
from server.store.database import Database
from server.store.models import AttendanceIntervalRow, CheckInRow
from tests import conftest
from tests.conftest import free_port, podium_with, start_app
from tests.support.clients import EVENT, Podium

EVENT_API = f"/api/v1/events/{EVENT}"
SLACK = timedelta(seconds=0.5)  # event-loop scheduling on a busy test machine


@dataclass
class Bracket:
    """Sent before, acked after: the server's stamp lies in between."""

    lo: datetime
    hi: datetime

    def holds(self, moment: datetime) -> bool:
        return self.lo <= utc(moment) <= self.hi


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Watcher:
    """One viewer's page: an HTTP join, then its own /viewer socket."""

    def __init__(self, base_url: str, token: str, viewer_id: int) -> None:
        self.base_url, self.token, self.id = base_url, token, viewer_id
        self.sio = socketio.AsyncClient(reconnection=False)

    @classmethod
    async def join(cls, base_url: str, event: str = EVENT, **body) -> Watcher:
        async with (
            aiohttp.ClientSession(headers={"Origin": base_url}) as http,
            http.post(f"{base_url}/api/v1/events/{event}/viewers", json=body) as answer,
        ):
            assert answer.status == 201, await answer.text()
            joined = await answer.json()
        watcher = cls(base_url, joined["token"], joined["viewer"]["id"])
        await watcher.connect()
        return watcher

    async def connect(self) -> None:
        if self.sio.connected:
            return
        self.sio = socketio.AsyncClient(reconnection=False)
        await self.sio.connect(
            self.base_url,
            namespaces=["/viewer"],
            auth={"token": self.token},
            headers={"Origin": self.base_url},
            transports=["websocket"],
            wait_timeout=10,
        )

    async def call(self, name: str, payload) -> tuple[Bracket, dict]:
        sent = datetime.now(UTC)
        ack = await self.sio.call(name, payload, namespace="/viewer", timeout=10)
        return Bracket(sent, datetime.now(UTC)), ack

    async def ok(self, name: str, payload) -> tuple[Bracket, dict]:
        when, ack = await self.call(name, payload)
        assert ack["ok"], ack
        return when, ack["data"]

    async def watch(self, room_id: int | None) -> Bracket:
        return (await self.ok("watch_room", {"room_id": room_id}))[0]

    async def beat(self) -> Bracket:
        return (await self.ok("heartbeat", {}))[0]

    async def drop(self) -> None:
        """The connection is lost: the websocket closes without any goodbye."""
        await self.sio.eio.ws.close()

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


async def hang_up(podium, *watchers: Watcher) -> None:
    """Close the pages and wait until the server has let go of them, so that stopping the
    app does not race a disconnect still in progress."""
    for watcher in watchers:
        await watcher.close()
    engine = podium.app[SOCKETS].eio
    for _ in range(50):
        if not engine.sockets:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the server still holds {len(engine.sockets)} sockets")


async def intervals(db: Database) -> list[AttendanceIntervalRow]:
    async with db.read() as session:
        query = select(AttendanceIntervalRow).order_by(AttendanceIntervalRow.id)
        return list((await session.execute(query)).scalars())


async def wait_for_intervals(db: Database, done, timeout: float = 5) -> list:
    """Poll the stored intervals until `done(rows)` holds (a lost connection takes a moment)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        rows = await intervals(db)
        if done(rows):
            return rows
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"never happened; intervals: {[describe(r) for r in rows]}")
        await asyncio.sleep(0.1)


def describe(row: AttendanceIntervalRow) -> tuple:
    return (row.id, row.room_id, row.started_at, row.last_seen_at, row.ended_at, row.end_reason)


def all_closed(count: int):
    return lambda rows: len(rows) == count and all(r.ended_at is not None for r in rows)


# --- restarts ---------------------------------------------------------------------------------


async def test_a_graceful_restart_keeps_every_acked_watch_and_ends_open_ones_at_the_last_beat(
    database_url, tmp_path
):
    async with podium_with(database_url, tmp_path, heartbeat_flush_seconds=2) as podium:
        main, side = podium.rooms["main"], podium.rooms["side"]
        leaver = await Watcher.join(podium.base_url)
        stayer = await Watcher.join(podium.base_url)
        left_started = await leaver.watch(main)
        stayed_started = await stayer.watch(side)
        left = await leaver.watch(None)
        await stayer.beat()
        last_beat = await stayer.beat()  # in memory only: the flush is 2 s away
        settings = podium.settings
    # Shutting down hung up the sockets and wrote what was still in memory.
    runner = await start_app(conftest.test_settings(database_url, tmp_path))
    try:
        restarted = Podium(settings, runner.app)
        rows = await intervals(restarted.services.db)
    finally:
        await runner.cleanup()
    assert [(r.room_id, r.end_reason) for r in rows] == [(main, "leave"), (side, "disconnect")]
    assert left_started.holds(rows[0].started_at) and left.holds(rows[0].ended_at)
    assert stayed_started.holds(rows[1].started_at)
    assert last_beat.holds(rows[1].ended_at) and rows[1].ended_at == rows[1].last_seen_at


async def test_a_crash_loses_no_acked_join_or_leave_and_at_most_one_flush_of_heartbeats(
    database_url, tmp_path
):
    flush = timedelta(seconds=2)
    async with podium_with(database_url, tmp_path) as seeded:
        main, side = seeded.rooms["main"], seeded.rooms["side"]
    server, base_url = await serve_in_a_process(database_url, tmp_path, flush)
    db = Database(database_url)
    try:
        leavers = [await Watcher.join(base_url) for _ in range(2)]
        watchers = [await Watcher.join(base_url) for _ in range(4)]
        joined = {w.id: await w.watch(main if w.id % 2 else side) for w in leavers + watchers}
        left = {w.id: await w.watch(None) for w in leavers}
        last_beats, lags = await beat_while_reading_the_database(watchers, db, flush)
        for watcher in watchers:  # acked, but only in memory when the process dies
            await watcher.beat()
        server.send_signal(signal.SIGKILL)
        await server.wait()
        for watcher in leavers + watchers:
            await watcher.sio.eio.ws.close()
        rows = await intervals(db)
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
        await db.dispose()

    # Heartbeats reach the database in batches, and never more than one flush behind.
    assert max(lags) > timedelta(seconds=0.5), lags
    assert max(lags) <= flush + SLACK, lags
    assert len(rows) == 6
    by_start = {
        next(vid for vid, when in joined.items() if when.holds(row.started_at)): row for row in rows
    }
    assert set(by_start) == set(joined)
    for viewer_id, when in left.items():
        row = by_start[viewer_id]
        assert row.end_reason == "leave" and when.holds(row.ended_at)
    for viewer_id, beat in last_beats.items():
        row = by_start[viewer_id]
        assert row.ended_at is None, describe(row)
        assert utc(row.last_seen_at) >= beat.lo - flush - SLACK, (describe(row), beat)

    # After the restart the orphaned watches are closed at their last known heartbeat.
    settings = conftest.test_settings(
        database_url, tmp_path, heartbeat_flush_seconds=2, heartbeat_timeout_seconds=10
    )
    runner = await start_app(settings)
    try:
        restarted = Podium(settings, runner.app)
        orphans = {row.id: row.last_seen_at for row in rows if row.ended_at is None}
        closed = await wait_for_intervals(restarted.services.db, all_closed(6), timeout=20)
        for row in closed:
            if row.id in orphans:
                assert (row.end_reason, row.ended_at) == ("timeout", orphans[row.id])
        # The viewers' tokens outlive the crash: they come back and are counted again.
        back = Watcher(restarted.base_url, watchers[0].token, watchers[0].id)
        await back.connect()
        returned = await back.watch(main)
        await back.close()
        rows = await wait_for_intervals(restarted.services.db, all_closed(7))
        assert returned.holds(rows[-1].started_at) and rows[-1].room_id == main
    finally:
        await runner.cleanup()


async def serve_in_a_process(database_url: str, data_dir, flush: timedelta):
    """`podium serve` in its own process, so it can be killed without any shutdown."""
    port = free_port()
    env = {
        **os.environ,
        "PODIUM_DATA_DIR": str(data_dir),
        "PODIUM_DATABASE_URL": database_url,
        "PODIUM_HEARTBEAT_FLUSH_SECONDS": str(int(flush.total_seconds())),
        "PODIUM_LOG_LEVEL": "WARNING",
    }
    config = str(CONFIG_DIR / "test.toml")
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server", "--config", config, "serve", "--port", str(port), env=env
    )
    base_url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        for _attempt in range(100):
            try:
                async with http.get(f"{base_url}/healthz") as health:
                    if health.status == 200:
                        return server, base_url
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    server.kill()
    raise AssertionError("podium serve did not come up")


async def beat_while_reading_the_database(watchers: list[Watcher], db: Database, flush):
    """Heartbeat every 0.2 s for 2.5 flushes, reading the stored last_seen_at as we go.

    Returns each watcher's last acked beat and, per reading, how far the database lagged
    behind the newest beat acked before that reading began.
    """
    last: dict[int, Bracket] = {}
    lags: list[timedelta] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 2.5 * flush.total_seconds()
    while loop.time() < deadline:
        for watcher in watchers:
            last[watcher.id] = await watcher.beat()
        newest = max(beat.lo for beat in last.values())
        stored = max(utc(row.last_seen_at) for row in await intervals(db) if row.ended_at is None)
        lags.append(newest - stored)
        await asyncio.sleep(0.2)
    return last, lags


# --- how a watch ends ---------------------------------------------------------------------


async def test_a_lost_connection_ends_the_watch_at_its_last_heartbeat(podium):
    main = podium.rooms["main"]
    dropped = await Watcher.join(podium.base_url)
    closed = await Watcher.join(podium.base_url)
    started = await dropped.watch(main)
    await closed.watch(main)
    await dropped.beat()
    last = await dropped.beat()
    closed_last = await closed.beat()
    await asyncio.sleep(1.0)  # still connected, but silent: this second is not counted
    await dropped.drop()
    await closed.sio.disconnect()  # a clean socket close is still no goodbye
    rows = await wait_for_intervals(podium.services.db, all_closed(2))
    assert [r.end_reason for r in rows] == ["disconnect", "disconnect"]
    assert started.holds(rows[0].started_at)
    assert last.holds(rows[0].ended_at) and closed_last.holds(rows[1].ended_at)
    assert rows[0].ended_at < rows[0].started_at + timedelta(seconds=1)


async def test_a_lost_connection_before_any_heartbeat_counts_a_viewer_but_no_watch_time(podium):
    blip = await Watcher.join(podium.base_url)
    await blip.watch(podium.rooms["side"])
    await blip.drop()
    [row] = await wait_for_intervals(podium.services.db, all_closed(1))
    assert (row.end_reason, row.ended_at) == ("disconnect", row.started_at)
    admin = await podium.staff("admin")
    report = (await admin.ok("GET", f"{EVENT_API}/reports"))["report"]
    assert (report["unique_viewers"], report["total_watch_time_seconds"]) == (1, 0)
    assert report["peak_concurrent"] == 0


async def test_a_silent_page_that_stays_connected_is_closed_by_the_timeout_sweep(
    database_url, tmp_path
):
    async with podium_with(database_url, tmp_path, heartbeat_timeout_seconds=10) as podium:
        # Left connected: the server hangs them up when it stops (see the report: a client
        # that disconnects just before shutdown can hold the shutdown up).
        silent = await Watcher.join(podium.base_url)
        lively = await Watcher.join(podium.base_url)
        await silent.watch(podium.rooms["main"])
        await lively.watch(podium.rooms["main"])
        last = await silent.beat()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 16
        while loop.time() < deadline:
            await lively.beat()
            rows = await intervals(podium.services.db)
            if rows[0].ended_at is not None:
                break
            await asyncio.sleep(0.5)
        noticed = datetime.now(UTC)
        assert silent.sio.connected
        rows = await intervals(podium.services.db)
    assert (rows[0].end_reason, rows[1].ended_at) == ("timeout", None), rows
    assert last.holds(rows[0].ended_at)
    # Not before the timeout, and within one sweep (timeout / 4) plus a flush after it.
    assert last.lo + timedelta(seconds=10) <= noticed <= last.hi + timedelta(seconds=14)


async def test_hidden_tab_time_is_not_watch_time(podium):
    viewer = await Watcher.join(podium.base_url)
    shown = await viewer.watch(podium.rooms["main"])
    await asyncio.sleep(0.3)
    hidden, state = await viewer.ok("visibility", {"visible": False})
    assert state == {"visible": False, "watching": podium.rooms["main"]}
    await asyncio.sleep(0.6)
    await viewer.beat()  # a hidden page's heartbeat extends nothing
    again, _ = await viewer.ok("visibility", {"visible": True})
    await asyncio.sleep(0.3)
    left = await viewer.watch(None)
    await hang_up(podium, viewer)
    rows = await intervals(podium.services.db)
    assert [(r.room_id, r.end_reason) for r in rows] == [
        (podium.rooms["main"], "hidden"),
        (podium.rooms["main"], "leave"),
    ]
    assert shown.holds(rows[0].started_at) and hidden.holds(rows[0].ended_at)
    assert again.holds(rows[1].started_at) and left.holds(rows[1].ended_at)
    assert rows[1].started_at - rows[0].ended_at >= timedelta(seconds=0.6)


async def test_a_qr_check_in_counts_once_per_viewer_and_room_and_makes_the_viewer_in_room(
    podium,
):
    main, side = podium.rooms["main"], podium.rooms["side"]
    admin = await podium.staff("admin")
    delegate = await Watcher.join(podium.base_url, display_name="Ines")
    other = await Watcher.join(podium.base_url)
    first = (await delegate.ok("check_in", {"room_id": main}))[1]
    assert first == {"checked_in": True, "first_time": True}
    again = (await delegate.ok("check_in", {"room_id": main}))[1]
    assert again == {"checked_in": True, "first_time": False}
    assert (await delegate.ok("check_in", {"room_id": side}))[1]["first_time"] is True
    assert (await other.ok("check_in", {"room_id": main}))[1]["first_time"] is True
    await delegate.watch(side)
    await delegate.watch(None)
    await hang_up(podium, delegate, other)
    async with podium.services.db.read() as session:
        check_ins = list((await session.execute(select(CheckInRow))).scalars())
    assert sorted(c.room_id for c in check_ins) == sorted([main, side, main])
    [row] = await intervals(podium.services.db)
    assert row.channel == "in_room"
    page = await podium.anonymous()
    headers = {"Authorization": f"Bearer {delegate.token}"}
    mine = await page.ok("GET", f"{EVENT_API}/viewers/me/data", headers=headers)
    assert mine["viewer"]["channel"] == "in_room"

    now = datetime.now(UTC)
    for title, room in (("Main now", main), ("Side now", side)):
        body = {
            "title": title,
            "kind": "other",
            "room_id": room,
            "starts_at": (now - timedelta(minutes=5)).isoformat(),
            "ends_at": (now + timedelta(minutes=5)).isoformat(),
        }
        await admin.ok("POST", f"{EVENT_API}/sessions", body)
    report = await admin.ok("GET", f"{EVENT_API}/reports")
    assert report["report"]["in_room_check_ins"] == 2  # viewers, not scans
    by_title = {s["title"]: s["report"]["in_room_check_ins"] for s in report["sessions"]}
    assert (by_title["Main now"], by_title["Side now"]) == (2, 1)


async def test_a_plenary_counts_check_ins_in_every_room(podium):
    admin = await podium.staff("admin")
    now = datetime.now(UTC)
    body = {
        "title": "Plenary",
        "kind": "keynote",
        "room_id": None,
        "starts_at": (now - timedelta(minutes=5)).isoformat(),
        "ends_at": (now + timedelta(minutes=5)).isoformat(),
    }
    await admin.ok("POST", f"{EVENT_API}/sessions", body)
    for room in ("main", "side"):
        delegate = await Watcher.join(podium.base_url, channel="in_room")
        await delegate.ok("check_in", {"room_id": podium.rooms[room]})
        await hang_up(podium, delegate)
    report = await admin.ok("GET", f"{EVENT_API}/reports")
    [plenary] = [s for s in report["sessions"] if s["title"] == "Plenary"]
    assert plenary["report"]["in_room_check_ins"] == 2


# --- what may not be watched --------------------------------------------------------------------


async def test_a_viewer_of_another_event_cannot_watch_this_events_rooms(podium):
    admin = await podium.staff("admin")
    await admin.ok("POST", "/api/v1/events", {"slug": "other-event", "title": "Other"})
    stranger = await Watcher.join(podium.base_url, event="other-event")
    for room in podium.rooms.values():
        _, ack = await stranger.call("watch_room", {"room_id": room})
        assert not ack["ok"] and ack["error"]["code"] == "not_found", ack
        _, ack = await stranger.call("check_in", {"room_id": room})
        assert not ack["ok"] and ack["error"]["code"] == "not_found", ack
    assert (await stranger.ok("heartbeat", {}))[1] == {"watching": None}
    await hang_up(podium, stranger)
    assert await intervals(podium.services.db) == []
    async with podium.services.db.read() as session:
        assert list((await session.execute(select(CheckInRow))).scalars()) == []


async def test_watching_an_unknown_room_is_not_found_and_logs_nothing(podium):
    viewer = await Watcher.join(podium.base_url)
    _, ack = await viewer.call("watch_room", {"room_id": 999_999})
    assert not ack["ok"] and ack["error"]["code"] == "not_found", ack
    _, ack = await viewer.call("watch_room", {"room_id": "main"})
    assert not ack["ok"] and ack["error"]["code"] == "invalid_input", ack
    assert (await viewer.ok("heartbeat", {}))[1] == {"watching": None}
    await hang_up(podium, viewer)
    assert await intervals(podium.services.db) == []
