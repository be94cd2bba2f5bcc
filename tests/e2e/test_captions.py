"""Live captions: caption tokens, lines to a room's watchers in order, WebVTT afterwards."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
import socketio

from server.domain.captions import parse_webvtt
from tests.conftest import podium_with
from tests.e2e.test_bad_input import assert_ack_error, assert_http_error
from tests.e2e.test_stream_failover import audit_actions, set_source, set_status
from tests.e2e.test_webcast import caption_of, caption_token, drain, post_caption, watch
from tests.support.clients import EVENT, HttpClient, LiveClient, Podium, StaffClient

EVENT_API = f"/api/v1/events/{EVENT}"
CAPTIONS = "/api/v1/captions"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def captioner_socket(podium: Podium, token: str) -> LiveClient:
    return await podium.live("/captioner", {"token": token})


def captions_received(live: LiveClient) -> list[dict]:
    return [payload for name, payload in live.received if name == "caption"]


async def stored_lines(client: HttpClient, room_id: int) -> list[dict]:
    return await client.ok("GET", f"{EVENT_API}/rooms/{room_id}/captions")


async def test_lines_from_http_and_socket_reach_the_rooms_watchers_and_stage_in_order(podium):
    admin, anonymous = await podium.staff("admin"), await podium.anonymous()
    main, side = podium.rooms["main"], podium.rooms["side"]
    main_token = await caption_token(admin, main, "Main captioner")
    side_token = await caption_token(admin, side, "Side captioner")
    in_main = await podium.live_viewer(await podium.viewer("In main"))
    in_side = await podium.live_viewer(await podium.viewer("In side"))
    await watch(in_main, main)
    await watch(in_side, side)
    stage = await podium.live("/stage", {"event": EVENT, "room": main})
    typist = await captioner_socket(podium, main_token)

    posted = []
    for n in range(1, 7):
        text = f"Line {n} of the keynote"
        if n % 2:
            posted.append(await post_caption(anonymous, main_token, text))
        else:
            posted.append(await typist.ok("caption", {"text": text}))
    assert [(line["room_id"], line["seq"]) for line in posted] == [(main, n) for n in range(1, 7)]
    await post_caption(anonymous, side_token, "Meanwhile in the side room")

    for live in (in_main, stage):
        await live.wait_for(caption_of("Line 6 of the keynote"))
        assert captions_received(live) == posted
    await in_side.wait_for(caption_of("Meanwhile in the side room"))
    assert [line["text"] for line in captions_received(in_side)] == ["Meanwhile in the side room"]
    await in_main.ok("sync")
    assert [name for name, _ in await drain(in_main)] == []  # nothing from the side room
    assert await stored_lines(anonymous, main) == posted


async def test_a_caption_token_is_shown_once_and_stops_working_everywhere_when_revoked(podium):
    admin, moderator = await podium.staff("admin"), await podium.staff("moderator")
    anonymous = await podium.anonymous()
    main = podium.rooms["main"]
    assert_http_error(
        await moderator.command("POST", f"/rooms/{main}/caption-tokens", {"label": "Nope"}),
        403,
        "forbidden",
    )
    status, created = await admin.command(
        "POST", f"/rooms/{main}/caption-tokens", {"label": "CART writer"}
    )
    assert status == 200, created
    token = created.pop("token")
    assert token.startswith("cap_") and len(token) >= 30, token
    assert created == {"id": created["id"], "room_id": main, "label": "CART writer"}

    listed = await admin.ok("GET", f"{EVENT_API}/caption-tokens")
    assert [{k: v for k, v in t.items() if k != "created_at"} for t in listed] == [
        {"id": created["id"], "room_id": main, "label": "CART writer", "revoked": False}
    ]
    assert token not in json.dumps(listed)
    assert token not in json.dumps(await admin.ok("GET", f"{EVENT_API}/audit?limit=1000"))
    assert [e["details"] for e in await audit_actions(admin, "CaptionTokenCreated")] == [
        {"room_id": main, "label": "CART writer"}
    ]
    room = await anonymous.ok("GET", f"{EVENT_API}/rooms/{main}")
    assert room["captions"] == {"available": True}

    typist = await captioner_socket(podium, token)
    kept = await typist.ok("caption", {"text": "Before the swap"})
    revoked = await admin.command("DELETE", f"/caption-tokens/{created['id']}")
    assert revoked == (200, {"id": created["id"], "revoked": True})

    assert_ack_error(await typist.call("caption", {"text": "After"}), "not_authenticated")
    assert_http_error(
        await anonymous.request("POST", CAPTIONS, {"text": "After"}, headers=bearer(token)),
        401,
        "not_authenticated",
    )
    with pytest.raises(socketio.exceptions.ConnectionError):
        await captioner_socket(podium, token)
    for refused in ({}, bearer("cap_forged-token"), bearer(""), {"Authorization": "Basic x"}):
        answer = await anonymous.request("POST", CAPTIONS, {"text": "Hi"}, headers=refused)
        assert_http_error(answer, 401, "not_authenticated")
    assert_http_error(
        await admin.request("POST", CAPTIONS, {"text": "Staff are not captioners"}),
        401,
        "not_authenticated",
    )
    assert await stored_lines(anonymous, main) == [kept]
    assert (await admin.ok("GET", f"{EVENT_API}/caption-tokens"))[0]["revoked"] is True
    room = await anonymous.ok("GET", f"{EVENT_API}/rooms/{main}")
    assert room["captions"] == {"available": False}
    assert_http_error(await admin.command("DELETE", "/caption-tokens/999999"), 404, "not_found")


UNSHOWABLE = [
    "",
    "   \n\t  ",
    "x" * 501,
    "ring the bell\x07",
    "nul\x00byte",
    "\x1b[31mred alert",
    "next\x85line",
]


async def test_empty_overlong_or_control_character_lines_are_refused_and_not_stored(podium):
    admin, anonymous = await podium.staff("admin"), await podium.anonymous()
    main = podium.rooms["main"]
    token = await caption_token(admin, main, "Captioner")
    typist = await captioner_socket(podium, token)
    watcher = await podium.live_viewer(await podium.viewer("Watcher"))
    await watch(watcher, main)

    for text in UNSHOWABLE:
        answer = await anonymous.request("POST", CAPTIONS, {"text": text}, headers=bearer(token))
        assert_http_error(answer, 400, "invalid_input", "text")
        assert_ack_error(await typist.call("caption", {"text": text}), "invalid_input", "text")
    assert_ack_error(await typist.call("caption", {"words": "hi"}), "invalid_input")
    longest = await post_caption(anonymous, token, "y" * 500)
    tidied = await typist.ok("caption", {"text": "  two\r\n\r\n   lines  "})

    assert tidied["text"] == "two\nlines"
    assert [(line["seq"], line["text"]) for line in await stored_lines(anonymous, main)] == [
        (1, "y" * 500),
        (2, "two\nlines"),
    ]
    await watcher.wait_for(caption_of("two\nlines"))
    assert captions_received(watcher) == [longest, tidied]


def at(line: dict) -> datetime:
    return datetime.fromisoformat(line["at"])


async def test_the_webvtt_transcript_reads_back_as_the_lines_timed_from_going_live(podium):
    admin, anonymous = await podium.staff("admin"), await podium.anonymous()
    main = podium.rooms["main"]
    token = await caption_token(admin, main, "Captioner")
    await set_source(admin, main, "primary", "embed", "https://vimeo.com/76979871")
    before_live = datetime.now(UTC)
    await set_status(admin, main, "live")
    after_live = datetime.now(UTC)
    await asyncio.sleep(0.3)  # so the first line comes measurably after going live
    texts = [
        "Good morning, everyone.",
        "Fish & chips <b>are</b> not bold --> nor an arrow",
        "A line\nacross two",
        "ok",
        "Questions go through the Q&A tab.",
    ]
    lines = [await post_caption(anonymous, token, text) for text in texts]

    async with anonymous.session.get(f"{EVENT_API}/rooms/{main}/captions.vtt") as response:
        assert response.status == 200
        assert response.content_type == "text/vtt"
        download = f'attachment; filename="{EVENT}-room-{main}.vtt"'
        assert response.headers["Content-Disposition"] == download
        vtt = await response.text()
    cues = parse_webvtt(vtt)

    assert [text for _, _, text in cues] == texts
    assert all(start < end for start, end, _ in cues), cues
    for (_, earlier_end, _), (later_start, _, _) in pairwise(cues):
        assert earlier_end <= later_start, cues
    millisecond = timedelta(milliseconds=1)
    first_start = cues[0][0]
    assert at(lines[0]) - after_live - millisecond <= first_start, (first_start, lines[0])
    assert first_start <= at(lines[0]) - before_live + millisecond, (first_start, lines[0])
    assert first_start >= timedelta(seconds=0.3)


@pytest.fixture
async def strict_podium(database_url, tmp_path):
    """The app letting a room's captioners post two lines a minute."""
    async with podium_with(database_url, tmp_path, caption_rate_per_minute=2) as podium:
        yield podium


async def lines_posted_until_refused(
    podium: Podium, admin: StaffClient, room_id: int, label: str
) -> list[dict]:
    token = await caption_token(admin, room_id, label)
    anonymous = await podium.anonymous()
    typist = await captioner_socket(podium, token)
    accepted = [
        await post_caption(anonymous, token, f"{label}: first"),
        await typist.ok("caption", {"text": f"{label}: second"}),
    ]
    answer = await anonymous.request(
        "POST", CAPTIONS, {"text": f"{label}: third"}, headers=bearer(token)
    )
    error = assert_http_error(answer, 429, "rate_limited")
    assert error["retry_after"] > 0, error
    assert_ack_error(await typist.call("caption", {"text": f"{label}: third"}), "rate_limited")
    return accepted


async def test_caption_lines_over_the_rate_limit_are_refused_on_both_transports(strict_podium):
    podium = strict_podium
    admin, anonymous = await podium.staff("admin"), await podium.anonymous()
    main = podium.rooms["main"]

    accepted = await lines_posted_until_refused(podium, admin, main, "Main")

    assert await stored_lines(anonymous, main) == accepted


async def test_each_caption_token_has_its_own_rate_limit(strict_podium):
    podium = strict_podium
    admin, anonymous = await podium.staff("admin"), await podium.anonymous()
    main = podium.rooms["main"]

    first = await lines_posted_until_refused(podium, admin, main, "Morning captioner")
    second = await lines_posted_until_refused(podium, admin, main, "Afternoon captioner")

    assert await stored_lines(anonymous, main) == first + second


async def test_a_captioner_socket_learns_its_room_and_where_to_watch_it(podium):
    admin, main = await podium.staff("admin"), podium.rooms["main"]
    typist = await captioner_socket(podium, await caption_token(admin, main, "Main captioner"))
    room = await typist.ok("room", {})
    assert room == {"id": main, "name": "Main", "whep": f"/whep/rooms/{main}"}
    refused = await typist.call("room", {"extra": 1})
    assert refused["ok"] is False and refused["error"]["code"] == "invalid_input"
