"""WebRTC in and out: aiortc clients publish over WHIP and watch over WHEP, against the real app.

Media tests run on SQLite only (the database plays no part in moving frames); the publish
authorisation test runs on both databases.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from server.app_keys import PEERS
from tests import conftest
from tests.conftest import podium_with, start_app
from tests.e2e.test_bad_input import assert_error_body
from tests.e2e.test_stream_failover import room_update, set_source, source_of
from tests.support.clients import EVENT, Podium, StaffClient
from tests.support.webrtc_client import (
    SdpRefused,
    centre_luma,
    publish,
    wait_until,
    watch,
)

EVENT_API = f"/api/v1/events/{EVENT}"
HLS_BACKUP = "https://cdn.example.org/main/index.m3u8"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'podium.db'}"


@pytest.fixture
async def podium(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Podium]:
    async with podium_with(sqlite_url, tmp_path, webrtc_max_watchers=2) as client:
        yield client


async def publish_token(admin: StaffClient, room_id: int) -> str:
    status, body = await admin.command("POST", f"/rooms/{room_id}/publish-token")
    assert status == 201, (status, body)
    assert body["token_set"] and body["whip_url"] == f"/whip/rooms/{room_id}"
    return body["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def csrf(staff: StaffClient) -> dict[str, str]:
    return {"X-CSRF-Token": staff.csrf}


def counts(podium: Podium) -> dict[str, int]:
    return podium.app[PEERS].counts()


async def refused(coroutine) -> SdpRefused:
    with pytest.raises(SdpRefused) as caught:
        await coroutine
    return caught.value


async def test_published_frames_reach_staff_over_whep_and_the_room_follows_the_ingest(podium):
    admin, moderator = await podium.staff("admin"), await podium.staff("moderator")
    main = podium.rooms["main"]
    staff_live = await podium.live_staff(moderator, "/moderator")
    await staff_live.ok("sync")
    token = await publish_token(admin, main)

    publisher = await publish(admin.session, main, bearer(token), 320, 240, luma=150)
    assert publisher.location.startswith(f"/whip/rooms/{main}/sessions/")
    _, update = await staff_live.wait_for(room_update(main, lambda room: "webrtc" in room))
    assert update["room"]["webrtc"] == {
        "type": "webrtc",
        "whep": f"/whep/rooms/{main}",
        "label": "Live from Podium (WebRTC)",
    }

    watcher = await watch(moderator.session, main, csrf(moderator))
    frame = await watcher.next_frame("video")
    for _ in range(15):  # the first pictures may still be settling after the keyframe
        frame = await watcher.next_frame("video")
    assert (frame.width, frame.height) == (320, 240)
    assert abs(centre_luma(frame) - 150) < 8
    sound = await watcher.next_frame("audio")
    assert sound.sample_rate == 48000 and sound.samples > 0
    assert counts(podium) == {"ingests": 1, "watchers": 1}
    status = await moderator.ok("GET", f"{EVENT_API}/webrtc")
    assert status["max_watchers"] == 2 and status["watchers"] == 1
    assert status["rooms"][0] == {
        "room_id": main,
        "publishing": True,
        "watchers": 1,
        "viewers_allowed": False,
        "token_set": True,
        "whip_url": f"/whip/rooms/{main}",
        "whep_url": f"/whep/rooms/{main}",
    }

    async with moderator.session.delete(watcher.location, headers=csrf(moderator)) as answer:
        assert answer.status == 200
    assert counts(podium) == {"ingests": 1, "watchers": 0}
    async with admin.session.delete(publisher.location, headers=bearer(token)) as answer:
        assert answer.status == 200
    await staff_live.wait_for(room_update(main, lambda room: "webrtc" not in room))
    assert source_of(update["room"], "webrtc") is not None
    assert counts(podium) == {"ingests": 0, "watchers": 0}
    async with admin.session.delete(publisher.location) as answer:
        assert answer.status == 404  # already gone
    await watcher.close(), await publisher.close()


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_publishing_without_the_rooms_token_is_refused_and_changes_nothing(
    database_url, tmp_path
):
    async with podium_with(database_url, tmp_path) as podium:
        admin, moderator = await podium.staff("admin"), await podium.staff("moderator")
        viewer = await podium.viewer()
        main, side = podium.rooms["main"], podium.rooms["side"]
        anonymous = await podium.anonymous()
        token = await publish_token(admin, main)
        other_rooms_token = await publish_token(admin, side)

        for headers in (
            {},
            bearer("whip_not-the-token"),
            bearer(other_rooms_token),
            bearer(viewer.token),
        ):
            error = await refused(publish(anonymous.session, main, headers))
            assert error.status == 401, error.body
            assert_error_body(error.body["error"], "not_authenticated", None)
            assert error.headers["WWW-Authenticate"].startswith("Bearer")
        error = await refused(publish(moderator.session, main, csrf(moderator)))
        assert error.status == 403 and error.body["error"]["code"] == "forbidden"
        error = await refused(publish(admin.session, main, {"X-CSRF-Token": ""}))
        assert error.status == 403 and error.body["error"]["code"] == "csrf_failed"

        revoked = await admin.command("DELETE", f"/rooms/{main}/publish-token")
        assert revoked[0] == 200 and revoked[1]["token_set"] is False
        error = await refused(publish(anonymous.session, main, bearer(token)))
        assert error.status == 401

        assert counts(podium) == {"ingests": 0, "watchers": 0}
        room = await admin.ok("GET", f"{EVENT_API}/rooms/{main}")
        assert "webrtc" not in room
        snapshot = await (await podium.live_staff(admin, "/moderator")).ok("sync")
        assert source_of(snapshot["rooms"][str(main)], "webrtc") is None

        # An organiser's own session (with its CSRF header) may publish from a browser.
        live = await publish(admin.session, main, csrf(admin))
        assert counts(podium) == {"ingests": 1, "watchers": 0}
        await live.close()


async def test_offers_must_be_sdp_of_sensible_size(podium):
    admin = await podium.staff("admin")
    main = podium.rooms["main"]
    token = await publish_token(admin, main)
    cases = (
        ({"Content-Type": "application/json"}, b'{"sdp": "v=0"}', 415, "unsupported_media_type"),
        ({"Content-Type": "application/sdp"}, b"v=0\r\n" + b"a=x\r\n" * 8000, 413, None),
        ({"Content-Type": "application/sdp"}, b"hello", 400, "invalid_input"),
        ({"Content-Type": "application/sdp"}, b"v=0\r\nm=nonsense\r\n", 400, "invalid_input"),
    )
    for headers, body, status, code in cases:
        async with admin.session.post(
            f"/whip/rooms/{main}", data=body, headers={**headers, **bearer(token)}
        ) as answer:
            assert answer.status == status, await answer.text()
            error = (await answer.json())["error"]
            assert error["code"] == (code or "payload_too_large")
    assert counts(podium) == {"ingests": 0, "watchers": 0}
    second = await publish(admin.session, main, bearer(token))
    error = await refused(publish(admin.session, main, bearer(token)))
    assert error.status == 409  # one ingest per room
    await second.close()


async def test_watchers_past_the_cap_are_sent_to_the_rooms_hls_with_503(podium):
    admin, chair = await podium.staff("admin"), await podium.staff("chair")
    viewer = await podium.viewer()
    main = podium.rooms["main"]
    await set_source(admin, main, "primary", "hls", HLS_BACKUP)
    publisher = await publish(admin.session, main, bearer(await publish_token(admin, main)))
    fallback = {"type": "hls", "src": HLS_BACKUP, "label": ""}

    error = await refused(watch(viewer.session, main))
    assert error.status == 403
    assert error.body["error"]["code"] == "webrtc_not_allowed"
    assert error.body["error"]["fallback"] == fallback
    error = await refused(watch((await podium.anonymous()).session, main))
    assert error.status == 401

    allowed = await admin.command("PUT", f"/rooms/{main}/webrtc", {"viewers_allowed": True})
    assert allowed[0] == 200 and allowed[1]["viewers_allowed"] is True
    first = await watch(viewer.session, main)
    second = await watch(chair.session, main, csrf(chair))
    await first.next_frame(), await second.next_frame()
    error = await refused(watch(admin.session, main, csrf(admin)))
    assert error.status == 503 and error.headers["Retry-After"] == "30"
    assert error.body["error"]["code"] == "webrtc_full"
    assert error.body["error"]["fallback"] == fallback
    assert counts(podium) == {"ingests": 1, "watchers": 2}

    async with viewer.session.delete(first.location) as answer:
        assert answer.status == 200
    third = await watch(admin.session, main, csrf(admin))
    await third.next_frame()
    for session in (first, second, third, publisher):
        await session.close()


async def test_peers_that_vanish_without_a_goodbye_are_closed_and_freed(podium):
    admin = await podium.staff("admin")
    main = podium.rooms["main"]
    publisher = await publish(admin.session, main, bearer(await publish_token(admin, main)))
    watchers = [await watch(admin.session, main, csrf(admin)) for _ in range(2)]
    await watchers[0].next_frame()
    registry = podium.app[PEERS]

    await watchers[0].close()  # no DELETE: the connection just ends
    await wait_until(lambda: registry.counts()["watchers"] == 1, what="the watcher to go")
    await publisher.close()
    await wait_until(lambda: registry.counts() == {"ingests": 0, "watchers": 0}, what="all gone")
    await wait_until(lambda: watchers[1].pc.connectionState in ("closed", "failed"))
    room = await admin.ok("GET", f"{EVENT_API}/rooms/{main}")
    assert "webrtc" not in room
    assert registry._peers == {} and registry._ingests == {}  # nothing held on to
    await watchers[1].close()


async def test_shutdown_closes_every_peer(sqlite_url, tmp_path):
    settings = conftest.test_settings(sqlite_url, tmp_path)
    runner = await start_app(settings)
    podium = Podium(settings, runner.app)
    try:
        await podium.seed()
        admin = await podium.staff("admin")
        main = podium.rooms["main"]
        publisher = await publish(admin.session, main, bearer(await publish_token(admin, main)))
        watcher = await watch(admin.session, main, csrf(admin))
        await watcher.next_frame()
        registry = runner.app[PEERS]
    finally:
        await podium.close()
        await runner.cleanup()
    assert registry.counts() == {"ingests": 0, "watchers": 0}
    await wait_until(
        lambda: {publisher.pc.connectionState, watcher.pc.connectionState} <= {"closed", "failed"},
        what="the clients to see the server hang up",
    )
    await publisher.close(), await watcher.close()


async def test_an_ingest_is_packaged_as_hls_that_plays(sqlite_url, tmp_path):
    async with podium_with(
        sqlite_url, tmp_path, webrtc_hls="on", webrtc_hls_segment_seconds=1
    ) as podium:
        admin = await podium.staff("admin")
        main = podium.rooms["main"]
        publisher = await publish(
            admin.session, main, bearer(await publish_token(admin, main)), 320, 180
        )
        # Packaging must leave the frames that watchers' encoders share untouched.
        watcher = await watch(admin.session, main, csrf(admin))
        for _ in range(30):
            frame = await watcher.next_frame()
        assert (frame.width, frame.height) == (320, 180)
        playlist = tmp_path / "media" / "live" / str(main) / "index.m3u8"
        await wait_until(
            lambda: playlist.exists() and playlist.read_text().count("#EXTINF") >= 2,
            timeout=20,
            what="two HLS segments",
        )
        room = await admin.ok("GET", f"{EVENT_API}/rooms/{main}")
        url = f"{podium.base_url}/media/live/{main}/index.m3u8"
        assert room["source"] == {"type": "hls", "src": url, "label": "Live from Podium (HLS)"}
        async with aiohttp.ClientSession() as http, http.get(url) as served:
            assert served.status == 200 and "#EXTM3U" in await served.text()

        probe = await asyncio.to_thread(
            subprocess.run,
            ["ffprobe", "-v", "error", "-show_streams", "-of", "json", url],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert probe.returncode == 0, probe.stderr
        streams = {s["codec_type"]: s for s in json.loads(probe.stdout)["streams"]}
        assert (streams["video"]["codec_name"], streams["video"]["width"]) == ("h264", 320)
        assert streams["video"]["height"] == 180
        assert streams["audio"]["codec_name"] == "aac"

        async with admin.session.delete(publisher.location) as answer:
            assert answer.status == 200
        assert "#EXT-X-ENDLIST" in playlist.read_text()
        await publisher.close(), await watcher.close()
