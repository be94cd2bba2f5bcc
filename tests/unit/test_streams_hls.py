"""HLS playlists: parsing real-looking playlists, and health checks against a real HTTP server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from streams.errors import InvalidSource
from streams.hls import (
    MAX_PLAYLIST_BYTES,
    Subtitles,
    Variant,
    check_playlist,
    parse_attributes,
    parse_playlist,
)

BASE = "https://cdn.example.org/live/event7/master.m3u8"

MASTER = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",LANGUAGE="en",DEFAULT=YES,URI="audio/en.m3u8"
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English (CC)",LANGUAGE="en",URI="subs/en.m3u8"
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Deutsch, live",LANGUAGE="de",URI="https://subs.example.org/de.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=5000000,AVERAGE-BANDWIDTH=4500000,RESOLUTION=1920x1080,CODECS="avc1.640028,mp4a.40.2",FRAME-RATE=30.000,AUDIO="aud",SUBTITLES="subs"
1080p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=1280x720,CODECS="avc1.4d401f,mp4a.40.2",AUDIO="aud",SUBTITLES="subs"
720p/index.m3u8?token=abc
#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS="mp4a.40.2",AUDIO="aud"
/audio-only/index.m3u8
"""

LIVE_MEDIA = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:6
#EXT-X-MEDIA-SEQUENCE:2680

#EXT-X-PROGRAM-DATE-TIME:2024-05-02T09:00:00.000Z
#EXTINF:6.006,
segment2680.ts
#EXTINF:5.005,
segment2681.ts
#EXT-X-DISCONTINUITY
#EXTINF:6.006,title="after the break"
segment2682.ts
"""

ENDED_MEDIA = """#EXTM3U
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-TARGETDURATION:10
#EXTINF:9.009,
https://media.example.org/first.ts
#EXTINF:9.009,
https://media.example.org/second.ts
#EXT-X-ENDLIST
"""

EMPTY_LIVE_MEDIA = "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:0\n"


# --- Parsing ---


def test_master_playlist_lists_variants_with_absolute_uris() -> None:
    playlist = parse_playlist(MASTER, BASE)
    assert playlist.is_master
    assert playlist.variants == (
        Variant("https://cdn.example.org/live/event7/1080p/index.m3u8", 5_000_000, (1920, 1080)),
        Variant(
            "https://cdn.example.org/live/event7/720p/index.m3u8?token=abc", 2_500_000, (1280, 720)
        ),
        Variant("https://cdn.example.org/audio-only/index.m3u8", 64_000, None),
    )


def test_master_playlist_lists_subtitles_even_when_a_quoted_name_has_a_comma() -> None:
    playlist = parse_playlist(MASTER, BASE)
    assert playlist.subtitles == (
        Subtitles("English (CC)", "https://cdn.example.org/live/event7/subs/en.m3u8", "en"),
        Subtitles("Deutsch, live", "https://subs.example.org/de.m3u8", "de"),
    )


def test_live_media_playlist_counts_segments_and_is_not_ended() -> None:
    playlist = parse_playlist(LIVE_MEDIA, BASE)
    assert not playlist.is_master
    assert (playlist.target_duration, playlist.segment_count, playlist.ended) == (6, 3, False)
    assert playlist.variants == ()


def test_finished_media_playlist_is_ended() -> None:
    playlist = parse_playlist(ENDED_MEDIA, BASE)
    assert (playlist.target_duration, playlist.segment_count, playlist.ended) == (10, 2, True)


def test_live_playlist_between_segments_parses_with_no_segments() -> None:
    assert parse_playlist(EMPTY_LIVE_MEDIA, BASE).segment_count == 0


def test_windows_line_endings_and_a_byte_order_mark_are_tolerated() -> None:
    text = "\ufeff" + ENDED_MEDIA.replace("\n", "\r\n")
    assert parse_playlist(text, BASE).segment_count == 2


def test_attribute_lists_keep_commas_inside_quotes() -> None:
    attributes = parse_attributes('BANDWIDTH=1,CODECS="avc1.4d401f,mp4a.40.2",NAME="a, b",X=YES')
    assert attributes == {
        "BANDWIDTH": "1",
        "CODECS": "avc1.4d401f,mp4a.40.2",
        "NAME": "a, b",
        "X": "YES",
    }


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "#EXTM3U"),
        ("<!doctype html><html><body>Not found</body></html>", "#EXTM3U"),
        ("#EXTINF:6,\nsegment.ts\n", "#EXTM3U"),
        ("#EXTM3U\n#EXT-X-VERSION:3\n", "neither"),
        ("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n", "not followed by a URI"),
        ("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n#EXT-X-STREAM-INF:BANDWIDTH=2\nb.m3u8\n", "URI"),
        ("#EXTM3U\n#EXT-X-STREAM-INF:RESOLUTION=1x1\na.m3u8\n", "BANDWIDTH"),
        ("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=fast\na.m3u8\n", "BANDWIDTH"),
        ("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=big\na.m3u8\n", "RESOLUTION"),
        ('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS="avc1\na.m3u8\n', "attribute"),
        (
            '#EXTM3U\n#EXT-X-MEDIA:TYPE=SUBTITLES,NAME="en"\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n',
            "NAME and URI",
        ),
        ("#EXTM3U\n#EXTINF:6,\nseg.ts\n", "TARGETDURATION"),
        ("#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\n", "not followed by a URI"),
        ("#EXTM3U\n#EXT-X-TARGETDURATION:six\n#EXTINF:6,\nseg.ts\n", "whole number"),
        (MASTER + LIVE_MEDIA.removeprefix("#EXTM3U"), "mixes"),
    ],
)
def test_malformed_playlists_are_refused_with_a_reason(text: str, complaint: str) -> None:
    with pytest.raises(InvalidSource, match=complaint):
        parse_playlist(text, BASE)


# --- Health checks against a real server ---


@dataclass
class Origin:
    """A real HLS origin on 127.0.0.1; `release` lets the slow endpoint finish."""

    server: TestServer
    release: asyncio.Event

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))


def text_route(body: str | bytes, status: int = 200) -> web.RequestHandler:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, status=status, content_type="application/vnd.apple.mpegurl")

    return handler


@pytest.fixture
async def origin() -> AsyncIterator[Origin]:
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text=LIVE_MEDIA)

    master_to_missing = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nmissing.m3u8\n"
    master_to_empty = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nempty.m3u8\n"
    app = web.Application()
    app.router.add_get("/live/master.m3u8", text_route(MASTER.replace("1080p/index", "media")))
    app.router.add_get("/live/media.m3u8", text_route(LIVE_MEDIA))
    app.router.add_get("/live/empty.m3u8", text_route(EMPTY_LIVE_MEDIA))
    app.router.add_get("/live/to-missing.m3u8", text_route(master_to_missing))
    app.router.add_get("/live/to-empty.m3u8", text_route(master_to_empty))
    app.router.add_get("/live/moved.m3u8", moved_to("/live/media.m3u8"))
    app.router.add_get("/live/oops.m3u8", text_route("<html>Server error</html>", status=500))
    app.router.add_get("/live/page.m3u8", text_route("<!doctype html><h1>Welcome</h1>"))
    app.router.add_get("/live/binary.m3u8", text_route(b"\x00\xff\xfe" * 100))
    app.router.add_get("/live/huge.m3u8", text_route(LIVE_MEDIA + "#" * MAX_PLAYLIST_BYTES))
    app.router.add_get("/live/slow.m3u8", slow)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield Origin(server, release)
    finally:
        release.set()
        await server.close()


def moved_to(location: str) -> web.RequestHandler:
    async def handler(request: web.Request) -> web.Response:
        raise web.HTTPFound(location)

    return handler


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def test_healthy_master_playlist_is_ok_after_checking_its_first_variant(
    origin: Origin, session: aiohttp.ClientSession
) -> None:
    health = await check_playlist(session, origin.url("/live/master.m3u8"))
    assert (health.ok, health.reason) == (True, None)
    assert health.playlist is not None and health.playlist.is_master
    assert health.playlist.variants[0].uri == origin.url("/live/media.m3u8")


async def test_healthy_media_playlist_is_ok(origin: Origin, session: aiohttp.ClientSession) -> None:
    health = await check_playlist(session, origin.url("/live/media.m3u8"))
    assert health.ok
    assert health.playlist is not None and health.playlist.segment_count == 3


async def test_redirected_playlist_is_followed(
    origin: Origin, session: aiohttp.ClientSession
) -> None:
    assert (await check_playlist(session, origin.url("/live/moved.m3u8"))).ok


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/live/nowhere.m3u8", "HTTP 404"),
        ("/live/oops.m3u8", "HTTP 500"),
        ("/live/page.m3u8", "#EXTM3U"),
        ("/live/binary.m3u8", "UTF-8"),
        ("/live/huge.m3u8", "larger than"),
        ("/live/empty.m3u8", "the playlist has no segments"),
        ("/live/to-missing.m3u8", "HTTP 404"),
        ("/live/to-empty.m3u8", "the first variant has no segments"),
    ],
)
async def test_unplayable_playlists_are_reported_not_raised(
    origin: Origin, session: aiohttp.ClientSession, path: str, reason: str
) -> None:
    health = await check_playlist(session, origin.url(path))
    assert not health.ok
    assert reason in (health.reason or "")


async def test_a_master_whose_variant_fails_still_returns_the_master(
    origin: Origin, session: aiohttp.ClientSession
) -> None:
    health = await check_playlist(session, origin.url("/live/to-missing.m3u8"))
    assert health.playlist is not None and health.playlist.is_master


async def test_slow_origin_times_out_within_the_budget(
    origin: Origin, session: aiohttp.ClientSession
) -> None:
    started = asyncio.get_running_loop().time()
    health = await check_playlist(session, origin.url("/live/slow.m3u8"), timeout=0.2)
    assert not health.ok
    assert "0.2 seconds" in (health.reason or "")
    assert asyncio.get_running_loop().time() - started < 2


async def test_refused_connection_is_reported_not_raised(session: aiohttp.ClientSession) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    health = await check_playlist(session, f"http://127.0.0.1:{closed_port}/live.m3u8")
    assert not health.ok
    assert "could not fetch" in (health.reason or "")


async def test_non_http_url_is_reported_without_any_request(
    session: aiohttp.ClientSession,
) -> None:
    health = await check_playlist(session, "file:///etc/passwd")
    assert not health.ok
    assert "http://" in (health.reason or "")
