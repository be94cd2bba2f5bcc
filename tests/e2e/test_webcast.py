"""The webcast relay: what organisers set for a room reaches every player, in order.

Most tests use the side room, which has no seeded agenda sessions, so that "now playing"
stays empty whatever the clock says.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from itertools import groupby

import pytest
import socketio

from server.services.stream_watch import StreamWatch
from tests.e2e.test_bad_input import assert_ack_error, assert_http_error
from tests.e2e.test_stream_failover import (
    HlsOrigin,
    audit_actions,
    hls_origins,
    room_update,
    set_source,
    set_status,
    source_of,
)
from tests.support.clients import EVENT, HttpClient, LiveClient, Podium, StaffClient
from tests.support.live_state import pushed_updates

EVENT_API = f"/api/v1/events/{EVENT}"
YOUTUBE_WATCH = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
YOUTUBE_PLAYER = "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"
HOUR = timedelta(hours=1)


@pytest.fixture
async def origins() -> AsyncIterator[Callable[[], Awaitable[HlsOrigin]]]:
    async with hls_origins() as start:
        yield start


def room_updates(live: LiveClient, room_id: int) -> list[dict]:
    return [u for u in pushed_updates(live) if u["type"] == "room" and u["room"]["id"] == room_id]


def assert_gapless(updates: list[dict], after_seq: int) -> None:
    seqs = [u["seq"] for u in updates]
    assert seqs == list(range(after_seq + 1, after_seq + 1 + len(seqs))), seqs


async def staff_rooms(podium: Podium, staff: StaffClient) -> dict:
    """The staff snapshot's seq and room views (sources with health included)."""
    snapshot = await (await podium.live_staff(staff, "/moderator")).ok("sync")
    return {"seq": snapshot["seq"], "rooms": snapshot["rooms"]}


async def test_room_changes_reach_every_audience_in_order_and_the_public_sees_only_players(
    podium, origins
):
    admin, origin = await podium.staff("admin"), await origins()
    side = podium.rooms["side"]
    audiences = {
        "viewer": await podium.live_viewer(await podium.viewer("Watcher")),
        "stage": await podium.live("/stage", {"event": EVENT}),
        "staff": await podium.live_staff(await podium.staff("moderator"), "/moderator"),
    }
    started = {name: (await live.ok("sync"))["seq"] for name, live in audiences.items()}
    commuter = await podium.viewer("Commuter")
    commuter_live = await podium.live_viewer(commuter)
    before_tunnel = await commuter_live.ok("sync")
    await commuter_live.close()

    assert_http_error(
        await admin.command("POST", f"/rooms/{side}/switch", {"active": "backup"}),
        400,
        "invalid_input",
        "active",
    )
    backup_url = origin.url("backup.m3u8")
    sources = {
        "primary": ("hls", origin.url(), "Main programme"),
        "backup": ("hls", backup_url, "Second encoder"),
        "audio": ("audio", "https://radio.example.org/side.mp3", "Audio only"),
        "interpreter": ("embed", YOUTUBE_WATCH, "BSL"),
    }
    for role, (kind, url, label) in sources.items():
        await admin.ok(
            "PUT",
            f"{EVENT_API}/rooms/{side}/sources",
            {"role": role, "kind": kind, "url": url, "label": label},
        )
    await admin.ok("POST", f"{EVENT_API}/rooms/{side}/switch", {"active": "backup"})
    for live in audiences.values():
        await live.wait_for(room_update(side, lambda room: room["active"] == "backup"))

    for name, live in audiences.items():
        assert_gapless(pushed_updates(live), started[name])
        assert len(room_updates(live, side)) == 5, (name, pushed_updates(live))
    public = room_updates(audiences["viewer"], side)
    assert public == room_updates(audiences["stage"], side)
    assert public[-1]["room"] == {
        "id": side,
        "slug": "side",
        "name": "Side",
        "status": "scheduled",
        "slate_message": None,
        "recording_url": None,
        "active": "backup",
        "source": {"type": "hls", "src": backup_url, "label": "Second encoder"},
        "audio": {
            "type": "audio",
            "src": "https://radio.example.org/side.mp3",
            "format": "mp3",
            "label": "Audio only",
        },
        "interpreter": {
            "type": "embed",
            "provider": "youtube",
            "src": YOUTUBE_PLAYER,
            "label": "BSL",
        },
        "now_playing": None,
        "next_up": None,
        "captions": {"available": False},
    }
    before_switch, after_switch = json.dumps(public[:4]), json.dumps(public[4])
    assert backup_url not in before_switch and origin.url() not in after_switch
    assert YOUTUBE_WATCH not in json.dumps(public)
    assert not any({"sources", "auto_advance"} & set(u["room"]) for u in public)

    staff_view = room_updates(audiences["staff"], side)[-1]["room"]
    assert staff_view["auto_advance"] is True
    assert [
        (s["role"], s["kind"], s["url"], s["label"], s["health"]) for s in staff_view["sources"]
    ] == [(role, kind, url, label, "unknown") for role, (kind, url, label) in sources.items()]
    assert {k: v for k, v in staff_view.items() if k not in ("sources", "auto_advance")} == (
        public[-1]["room"]
    )

    anonymous = await podium.anonymous()
    assert await anonymous.ok("GET", f"{EVENT_API}/rooms/{side}") == public[-1]["room"]
    listed = await anonymous.ok("GET", f"{EVENT_API}/rooms")
    assert [room["id"] for room in listed] == [podium.rooms["main"], side]
    assert listed[1] == public[-1]["room"]
    assert_http_error(await anonymous.request("GET", f"{EVENT_API}/rooms/999999"), 404, "not_found")

    back = await podium.live_viewer(commuter)
    caught_up = await back.ok("sync", {"since": before_tunnel["seq"]})
    assert caught_up["mode"] == "catchup"
    assert caught_up["entries"] == pushed_updates(audiences["viewer"])
    rooms = dict(before_tunnel["rooms"])
    for entry in caught_up["entries"]:
        rooms[str(entry["room"]["id"])] = entry["room"]
    assert rooms == (await back.ok("sync"))["rooms"]


EMBEDS = [
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42", "youtube", YOUTUBE_PLAYER),
    ("https://youtu.be/dQw4w9WgXcQ", "youtube", YOUTUBE_PLAYER),
    ("https://m.youtube.com/live/dQw4w9WgXcQ", "youtube", YOUTUBE_PLAYER),
    ("https://vimeo.com/76979871", "vimeo", "https://player.vimeo.com/video/76979871?dnt=1"),
    ("https://vimeo.com/event/4242", "vimeo", "https://player.vimeo.com/event/4242"),
]
UNSAFE_SOURCES = [
    ("hls", "javascript:alert(document.cookie)//.m3u8"),
    ("hls", "data:application/vnd.apple.mpegurl;base64,I0VYVE0zVQo="),
    ("hls", "ftp://cdn.example.org/live/side.m3u8"),
    ("hls", "https://cdn.example.org/live/side.mp4"),
    ("hls", "https://encoder:hunter2@cdn.example.org/live/side.m3u8"),
    ("hls", "https://cdn.example.org\\@evil.example/live/side.m3u8"),
    ("embed", "https://www.dailymotion.com/video/x7tgad0"),
    ("embed", "https://youtube.com.evil.example/watch?v=dQw4w9WgXcQ"),
    ("embed", "javascript:alert(1)//youtube.com/watch?v=dQw4w9WgXcQ"),
    ("audio", "https://radio.example.org/side.exe"),
    ("audio", "file:///etc/passwd.mp3"),
]


async def test_embed_links_become_privacy_enhanced_players_and_unsafe_urls_change_nothing(podium):
    admin, anonymous = await podium.staff("admin"), await podium.anonymous()
    side = podium.rooms["side"]
    for url, provider, player in EMBEDS:
        view = await set_source(admin, side, "primary", "embed", url)
        expected = {"type": "embed", "provider": provider, "src": player, "label": ""}
        assert view["source"] == expected, url
        assert (await anonymous.ok("GET", f"{EVENT_API}/rooms/{side}"))["source"] == expected
    before = await staff_rooms(podium, admin)
    audit_before = await admin.ok("GET", f"{EVENT_API}/audit?limit=1000")

    for kind, url in UNSAFE_SOURCES:
        answer = await admin.command(
            "PUT", f"/rooms/{side}/sources", {"role": "primary", "kind": kind, "url": url}
        )
        assert_http_error(answer, 400, "invalid_input", "url")
        assert "hunter2" not in json.dumps(answer[1])
    refused_recording = await admin.command(
        "POST",
        f"/rooms/{side}/status",
        {"status": "ended", "recording_url": "javascript:alert(1)"},
    )
    assert_http_error(refused_recording, 400, "invalid_input", "recording_url")

    assert await staff_rooms(podium, admin) == before
    assert await admin.ok("GET", f"{EVENT_API}/audit?limit=1000") == audit_before
    shown = await anonymous.ok("GET", f"{EVENT_API}/rooms/{side}")
    assert (shown["status"], shown["source"]["src"]) == ("scheduled", EMBEDS[-1][2])


async def test_a_room_goes_live_only_on_a_playing_playlist_then_pauses_and_ends_with_a_recording(
    podium, origins
):
    admin, origin = await podium.staff("admin"), await origins()
    main, side = podium.rooms["main"], podium.rooms["side"]
    viewer_live = await podium.live_viewer(await podium.viewer("Watcher"))
    await viewer_live.ok("sync")
    assert_http_error(
        await admin.command("POST", f"/rooms/{main}/status", {"status": "live"}),
        400,
        "invalid_input",
        "status",
    )
    await set_source(admin, side, "primary", "hls", origin.url())
    await set_status(admin, side, "starting_soon", slate_message="Doors open at 9:00")

    origin.broken = True
    refused = await admin.command("POST", f"/rooms/{side}/status", {"status": "live"})
    error = assert_http_error(refused, 400, "source_unhealthy", "status")
    assert "404" in error["message"], error
    shown = await admin.ok("GET", f"{EVENT_API}/rooms/{side}")
    assert (shown["status"], shown["slate_message"]) == ("starting_soon", "Doors open at 9:00")
    primary = source_of((await staff_rooms(podium, admin))["rooms"][str(side)], "primary")
    assert primary["health"] == "failing" and "404" in primary["health_reason"], primary

    origin.broken = False
    live = await set_status(admin, side, "live")
    assert (live["status"], live["slate_message"]) == ("live", None)
    assert source_of(live, "primary")["health"] == "ok"
    assert_http_error(
        await admin.command("DELETE", f"/rooms/{side}/sources", {"role": "primary"}),
        400,
        "invalid_input",
        "role",
    )
    paused = await set_status(admin, side, "paused", slate_message="Back in five minutes")
    assert (paused["status"], paused["slate_message"]) == ("paused", "Back in five minutes")
    recording = "https://video.example.org/recordings/side"
    ended = await set_status(admin, side, "ended", recording_url=recording)
    assert (ended["status"], ended["recording_url"]) == ("ended", recording)

    await viewer_live.wait_for(room_update(side, lambda room: room["status"] == "ended"))
    seen = [
        (u["room"]["status"], u["room"]["slate_message"]) for u in room_updates(viewer_live, side)
    ]
    assert [shown for shown, _ in groupby(seen)] == [
        ("scheduled", None),  # the source was added
        ("starting_soon", "Doors open at 9:00"),
        ("live", None),
        ("paused", "Back in five minutes"),
        ("ended", None),
    ]
    assert room_updates(viewer_live, side)[-1]["room"]["recording_url"] == recording
    changes = await audit_actions(admin, "StreamStatusChanged")
    assert [c["details"]["status"] for c in reversed(changes)] == [
        "starting_soon",
        "live",
        "paused",
        "ended",
    ]


async def test_removing_the_backup_a_room_plays_puts_it_back_on_its_primary(podium):
    admin = await podium.staff("admin")
    side = podium.rooms["side"]
    await set_source(admin, side, "primary", "embed", YOUTUBE_WATCH)
    await set_source(admin, side, "backup", "embed", "https://vimeo.com/76979871")
    await admin.ok("POST", f"{EVENT_API}/rooms/{side}/switch", {"active": "backup"})

    removed = await admin.command("DELETE", f"/rooms/{side}/sources", {"role": "backup"})

    assert removed[0] == 200, removed
    assert (removed[1]["active"], removed[1]["source"]["src"]) == ("primary", YOUTUBE_PLAYER)
    assert (await set_status(admin, side, "live"))["status"] == "live"


def session_summary(detail: dict) -> dict:
    return {key: detail[key] for key in ("id", "title", "kind", "starts_at", "ends_at")}


async def add_session(admin: StaffClient, title: str, room_id: int, starts, ends) -> dict:
    return await admin.ok(
        "POST",
        f"{EVENT_API}/sessions",
        {
            "title": title,
            "kind": "other",
            "room_id": room_id,
            "starts_at": starts.isoformat(),
            "ends_at": ends.isoformat(),
        },
    )


async def test_now_playing_follows_the_agenda_until_an_organiser_picks_a_session_by_hand(podium):
    admin = await podium.staff("admin")
    main, side = podium.rooms["main"], podium.rooms["side"]
    event = await admin.ok("GET", EVENT_API)
    seeded = {item["title"]: session_summary(item) for item in event["sessions"]}
    now = datetime.now(UTC).replace(microsecond=0)

    picked = await admin.ok(
        "POST", f"{EVENT_API}/rooms/{main}/now-playing", {"session_id": seeded["Workshop A"]["id"]}
    )
    assert picked["auto_advance"] is False
    assert (picked["now_playing"], picked["next_up"]) == (seeded["Workshop A"], seeded["Panel"])
    last = await admin.ok(
        "POST", f"{EVENT_API}/rooms/{main}/now-playing", {"session_id": seeded["Panel"]["id"]}
    )
    assert (last["auto_advance"], last["now_playing"], last["next_up"]) == (
        False,
        seeded["Panel"],
        None,
    )
    assert_http_error(
        await admin.command("POST", f"/rooms/{main}/now-playing", {"session_id": 999999}),
        404,
        "not_found",
    )
    await add_session(admin, "Running in main", main, now - timedelta(minutes=5), now + HOUR)

    viewer_live = await podium.live_viewer(await podium.viewer("Watcher"))
    await viewer_live.ok("sync")
    following = await admin.ok(
        "POST", f"{EVENT_API}/rooms/{side}/now-playing", {"session_id": None, "auto_advance": True}
    )
    assert (following["auto_advance"], following["now_playing"]) == (True, None)
    on_now = await add_session(admin, "On now", side, now - timedelta(minutes=5), now + HOUR)
    on_next = await add_session(admin, "On next", side, now + HOUR, now + 2 * HOUR)

    _, advanced = await viewer_live.wait_for(
        room_update(side, lambda room: (room["now_playing"] or {}).get("id") == on_now["id"]),
        timeout=6,
    )
    assert advanced["room"]["now_playing"] == session_summary(on_now)
    assert advanced["room"]["next_up"] == session_summary(on_next)
    await StreamWatch(podium.services).advance_now_playing()  # one more round, for certain
    shown = (await staff_rooms(podium, admin))["rooms"][str(main)]
    assert (shown["auto_advance"], shown["now_playing"]) == (False, seeded["Panel"])


async def watch(live: LiveClient, room_id: int | None) -> dict:
    return await live.ok("watch_room", {"room_id": room_id})


async def caption_token(admin: StaffClient, room_id: int, label: str) -> str:
    status, body = await admin.command("POST", f"/rooms/{room_id}/caption-tokens", {"label": label})
    assert status == 200, body
    return body["token"]


async def post_caption(client: HttpClient, token: str, text: str) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    return await client.ok("POST", "/api/v1/captions", {"text": text}, headers=headers)


async def drain(live: LiveClient) -> list[tuple[str, object]]:
    """Whatever has arrived and not been read yet (call after a round trip)."""
    arrived = []
    while True:
        try:
            arrived.append(await live.next(timeout=0.2))
        except socketio.exceptions.TimeoutError:
            return arrived


def caption_of(text: str):
    return lambda name, payload: name == "caption" and payload["text"] == text


async def test_watching_a_room_returns_its_state_and_captions_and_staff_see_how_many_watch(
    podium,
):
    admin, captioner = await podium.staff("admin"), await podium.anonymous()
    main, side = podium.rooms["main"], podium.rooms["side"]
    tokens = {
        main: await caption_token(admin, main, "Main"),
        side: await caption_token(admin, side, "Side"),
    }
    first_main = await post_caption(captioner, tokens[main], "Welcome to the main hall")
    first_side = await post_caption(captioner, tokens[side], "The side room opens")
    staff_live = await podium.live_staff(admin, "/moderator")
    first, second, roaming = [await podium.live_viewer(await podium.viewer(n)) for n in "ABC"]

    watched = await watch(first, main)
    assert watched == {
        "room": await captioner.ok("GET", f"{EVENT_API}/rooms/{main}"),
        "captions": [first_main],
    }
    assert watched["room"]["captions"] == {"available": True}
    await watch(second, main)
    await watch(roaming, main)
    moved = await watch(roaming, side)
    assert (moved["room"]["id"], moved["captions"]) == (side, [first_side])
    assert_ack_error(await roaming.call("watch_room", {"room_id": 999999}), "not_found")

    await post_caption(captioner, tokens[main], "Only for the main hall")
    await post_caption(captioner, tokens[side], "Only for the side room")
    await first.wait_for(caption_of("Only for the main hall"))
    await roaming.wait_for(caption_of("Only for the side room"))
    assert [p["text"] for n, p in roaming.received if n == "caption"] == ["Only for the side room"]

    counts = {"rooms": {str(main): 2, str(side): 1}}
    await staff_live.wait_for(lambda n, p: n == "viewer_counts" and p == counts, timeout=12)
    assert await watch(roaming, None) == {"room": None, "captions": []}
    await post_caption(captioner, tokens[side], "Nobody is watching")
    await post_caption(captioner, tokens[main], "Still watched")
    await first.wait_for(caption_of("Still watched"))  # so the side line went out before
    await roaming.ok("sync")  # answered after anything already sent to this socket
    assert [name for name, _ in await drain(roaming)] == []


async def test_forwarding_hands_a_workshop_question_to_the_panel_and_is_audited(podium):
    moderator, chair = await podium.staff("moderator"), await podium.staff("chair")
    admin = await podium.staff("admin")
    workshop, panel = podium.sessions["Workshop A"], podium.sessions["Panel"]
    asker = await podium.viewer("Asker")
    asker_live = await podium.live_viewer(asker)
    stage_live = await podium.live("/stage", {"event": EVENT})
    await stage_live.ok("sync")
    qid = (await asker.ask("Is this for the panel?", session_id=workshop))["id"]
    status, _ = await moderator.command("POST", f"/questions/{qid}/approve")
    assert status == 200

    assert_http_error(
        await asker.request("POST", f"{EVENT_API}/questions/{qid}/forward", {"session_id": panel}),
        403,
        "forbidden",
    )
    assert_ack_error(
        await asker_live.call("forward_question", {"question_id": qid, "session_id": panel}),
        "not_found",
    )
    status, forwarded = await moderator.command(
        "POST", f"/questions/{qid}/forward", {"session_id": panel}
    )
    assert status == 200, forwarded
    assert (forwarded["session_id"], forwarded["forwarded_from_session_id"]) == (panel, workshop)
    _, public = await stage_live.wait_for(
        lambda n, p: n == "update" and (p.get("question") or {}).get("session_id") == panel
    )
    assert public["question"]["forwarded_from_session_id"] == workshop
    assert public["causes"] == ["QuestionForwarded"]
    _, mine = await asker_live.wait_for(
        lambda n, p: n == "mine" and p["question"]["session_id"] == panel
    )
    assert mine["question"]["forwarded_from_session_id"] == workshop

    chair_live = await podium.live_staff(chair, "/chair")
    back = await chair_live.ok("forward_question", {"question_id": qid, "session_id": workshop})
    assert (back["session_id"], back["forwarded_from_session_id"]) == (workshop, workshop)
    entries = await audit_actions(admin, "QuestionForwarded")
    assert [(e["actor"]["name"], e["question_id"], e["details"]) for e in reversed(entries)] == [
        ("Test moderator", qid, {"from_session_id": workshop, "to_session_id": panel}),
        ("Test chair", qid, {"from_session_id": panel, "to_session_id": workshop}),
    ]
    assert_http_error(
        await moderator.command("POST", f"/questions/{qid}/forward", {"session_id": 999999}),
        404,
        "not_found",
    )


def csp_of(headers) -> dict[str, list[str]]:
    policy = headers["Content-Security-Policy"]
    directives = (part.split() for part in policy.split(";") if part.strip())
    return {name: values for name, *values in directives}


async def page_csp(client: HttpClient, path: str) -> dict[str, list[str]]:
    async with client.session.get(path, allow_redirects=False) as response:
        assert response.status == 200, (path, response.status)
        return csp_of(response.headers)


async def test_the_viewer_page_allows_exactly_the_stream_origins_and_players_other_pages_none(
    podium, origins
):
    admin, origin = await podium.staff("admin"), await origins()
    main, side = podium.rooms["main"], podium.rooms["side"]
    await set_source(admin, side, "primary", "hls", origin.url())
    await set_source(admin, side, "audio", "audio", "https://radio.example.org:8443/side.mp3")
    await set_source(admin, main, "primary", "embed", YOUTUBE_WATCH)
    anonymous = await podium.anonymous()

    viewer_page = await page_csp(anonymous, f"/e/{EVENT}")
    stream_origins = {origin.base_url, "https://radio.example.org:8443"}
    for directive in ("connect-src", "media-src"):
        assert stream_origins <= set(viewer_page[directive]), viewer_page
        assert not {"https://www.youtube.com", "*"} & set(viewer_page[directive])
    assert set(viewer_page["frame-src"]) == {
        "https://www.youtube-nocookie.com",
        "https://player.vimeo.com",
    }
    assert viewer_page["script-src"] == ["'self'"]
    for path in ("/", "/login"):
        other = await page_csp(anonymous, path)
        assert other["frame-src"] == ["'none'"], (path, other)
        assert origin.base_url not in other.get("connect-src", []), (path, other)
    assert (await page_csp(admin, f"/e/{EVENT}/moderate"))["frame-src"] == ["'none'"]
