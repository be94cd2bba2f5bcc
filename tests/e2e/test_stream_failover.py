"""Failover: a live room whose primary HLS stops playing moves every player to the backup.

The HLS origins here are real HTTP servers on 127.0.0.1 that each test controls; the app's
own stream watch (every `stream_check_seconds`, 1 s in tests) is what notices and switches.
`HlsOrigin` and `hls_origins` are shared with test_webcast.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from tests.support.clients import EVENT, Podium, StaffClient

EVENT_API = f"/api/v1/events/{EVENT}"
MASTER = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360
media.m3u8
"""
MEDIA = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n" + "".join(
    f"#EXTINF:2.0,\nseg{n}.ts\n" for n in range(3)
)
TS_PACKET = b"\x47" + bytes(187)  # an MPEG-TS packet of padding: enough to fetch, not to watch


class HlsOrigin:
    """A small live HLS server: any `<name>.m3u8` is a master playlist, `media.m3u8` its
    variant, `seg<n>.ts` segments. Set `broken` to answer 404, or `stop()` it altogether."""

    def __init__(self) -> None:
        self.broken = False
        self.fetches: Counter[str] = Counter()
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> HlsOrigin:
        app = web.Application()
        app.router.add_get("/live/{name}", self._serve)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self

    def url(self, name: str = "master.m3u8") -> str:
        return f"{self.base_url}/live/{name}"

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _serve(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.fetches[name] += 1
        if self.broken:
            raise web.HTTPNotFound()
        if name.endswith(".ts"):
            return web.Response(body=TS_PACKET * 8, content_type="video/mp2t")
        if not name.endswith(".m3u8"):
            raise web.HTTPNotFound()
        text = MEDIA if name == "media.m3u8" else MASTER
        return web.Response(text=text, content_type="application/vnd.apple.mpegurl")


@contextlib.asynccontextmanager
async def hls_origins() -> AsyncIterator[Callable[[], Awaitable[HlsOrigin]]]:
    """Start as many origins as a test needs; all are stopped afterwards."""
    started: list[HlsOrigin] = []

    async def start() -> HlsOrigin:
        started.append(await HlsOrigin().start())
        return started[-1]

    try:
        yield start
    finally:
        for origin in started:
            await origin.stop()


@pytest.fixture
async def origins() -> AsyncIterator[Callable[[], Awaitable[HlsOrigin]]]:
    async with hls_origins() as start:
        yield start


async def set_source(admin: StaffClient, room_id: int, role: str, kind: str, url: str) -> dict:
    status, body = await admin.command(
        "PUT", f"/rooms/{room_id}/sources", {"role": role, "kind": kind, "url": url}
    )
    assert status == 200, (status, body)
    return body


async def set_status(admin: StaffClient, room_id: int, status: str, **extra) -> dict:
    code, body = await admin.command(
        "POST", f"/rooms/{room_id}/status", {"status": status, **extra}
    )
    assert code == 200, (code, body)
    return body


def room_update(room_id: int, check: Callable[[dict], bool] = lambda room: True):
    def predicate(name, payload):
        return (
            name == "update"
            and payload.get("type") == "room"
            and payload["room"]["id"] == room_id
            and check(payload["room"])
        )

    return predicate


def source_of(room: dict, role: str) -> dict | None:
    return next((s for s in room["sources"] if s["role"] == role), None)


async def audit_actions(admin: StaffClient, action: str) -> list[dict]:
    entries = await admin.ok("GET", f"{EVENT_API}/audit?limit=1000")
    return [entry for entry in entries if entry["action"] == action]


async def live_room_with_backup(
    podium: Podium, origins: Callable[[], Awaitable[HlsOrigin]]
) -> tuple[StaffClient, HlsOrigin, HlsOrigin, int]:
    """The main room live on a healthy primary origin, with a backup on a second origin."""
    admin = await podium.staff("admin")
    primary, backup = await origins(), await origins()
    main = podium.rooms["main"]
    await set_source(admin, main, "primary", "hls", primary.url())
    await set_source(admin, main, "backup", "hls", backup.url())
    live = await set_status(admin, main, "live")
    assert live["status"] == "live" and live["active"] == "primary", live
    return admin, primary, backup, main


async def test_a_primary_that_stops_serving_switches_every_viewer_to_the_backup(podium, origins):
    admin, primary, backup, main = await live_room_with_backup(podium, origins)
    viewer_live = await podium.live_viewer(await podium.viewer("Watcher"))
    staff_live = await podium.live_staff(await podium.staff("moderator"), "/moderator")
    for live in (viewer_live, staff_live):
        await live.ok("sync")

    await primary.stop()

    _, switched = await viewer_live.wait_for(
        room_update(main, lambda room: room["active"] == "backup"), timeout=8
    )
    assert switched["room"]["source"] == {"type": "hls", "src": backup.url(), "label": ""}
    assert switched["room"]["status"] == "live"
    assert "sources" not in switched["room"]
    _, seen_by_staff = await staff_live.wait_for(
        room_update(main, lambda room: room["active"] == "backup"), timeout=2
    )
    primary_health = source_of(seen_by_staff["room"], "primary")
    assert primary_health["health"] == "failing", seen_by_staff
    assert "could not fetch" in primary_health["health_reason"], primary_health

    switches = await audit_actions(admin, "StreamSwitched")
    assert [(s["actor"]["kind"], s["details"]) for s in switches] == [
        ("system", {"room_id": main, "active": "backup"})
    ]
    shown = await admin.ok("GET", f"{EVENT_API}/rooms/{main}")
    assert (shown["active"], shown["source"]["src"]) == ("backup", backup.url())


async def checks_seen_by(origin: HlsOrigin, at_least: int, timeout: float = 8) -> None:
    """Wait until the origin's master playlist has been fetched `at_least` times."""
    deadline = asyncio.get_running_loop().time() + timeout
    while origin.fetches["master.m3u8"] < at_least:
        assert asyncio.get_running_loop().time() < deadline, origin.fetches
        await asyncio.sleep(0.05)


async def test_a_healthy_primary_is_never_switched(podium, origins):
    admin, primary, backup, main = await live_room_with_backup(podium, origins)
    failures_before_switch = podium.settings.stream_failures_before_switch

    # The go-live check plus more watch rounds than it takes failures to switch.
    await checks_seen_by(primary, at_least=1 + failures_before_switch + 1)

    shown = await admin.ok("GET", f"{EVENT_API}/rooms/{main}")
    assert (shown["active"], shown["source"]["src"]) == ("primary", primary.url())
    assert await audit_actions(admin, "StreamSwitched") == []
    assert backup.fetches["master.m3u8"] == 0  # only the playing source is watched
    snapshot = await (await podium.live_staff(admin, "/moderator")).ok("sync")
    health = source_of(snapshot["rooms"][str(main)], "primary")
    assert (health["health"], health["health_reason"]) == ("ok", None)
    assert health["checked_at"] is not None


async def test_a_primary_answering_404_without_a_backup_stays_on_air_until_it_recovers(
    podium, origins
):
    admin = await podium.staff("admin")
    primary = await origins()
    main = podium.rooms["main"]
    await set_source(admin, main, "primary", "hls", primary.url())
    await set_status(admin, main, "live")
    staff_live = await podium.live_staff(admin, "/moderator")
    await staff_live.ok("sync")

    primary.broken = True
    checks_so_far = primary.fetches["master.m3u8"]

    def primary_health(health: str):
        return room_update(main, lambda room: source_of(room, "primary")["health"] == health)

    _, failing = await staff_live.wait_for(primary_health("failing"), timeout=8)
    assert "404" in source_of(failing["room"], "primary")["health_reason"]
    failures_before_switch = podium.settings.stream_failures_before_switch
    await checks_seen_by(primary, at_least=checks_so_far + failures_before_switch + 1)
    shown = await admin.ok("GET", f"{EVENT_API}/rooms/{main}")
    assert (shown["status"], shown["active"]) == ("live", "primary")
    assert await audit_actions(admin, "StreamSwitched") == []

    primary.broken = False
    _, healed = await staff_live.wait_for(primary_health("ok"), timeout=8)
    assert source_of(healed["room"], "primary")["health_reason"] is None
