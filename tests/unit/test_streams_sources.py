"""Stream-source adapters: each kind validates its URL and tells browsers how to play it."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from streams.embeds import EMBED_HOSTS, frame_origins
from streams.errors import InvalidSource
from streams.sources import ADAPTERS, StreamSource, make_source

VIDEO_ID = "dQw4w9WgXcQ"
NOCOOKIE = f"https://www.youtube-nocookie.com/embed/{VIDEO_ID}"


def test_every_kind_has_one_adapter_behind_the_shared_interface() -> None:
    assert set(ADAPTERS) == {"hls", "embed", "audio", "webrtc"}
    for kind, adapter in ADAPTERS.items():
        assert issubclass(adapter, StreamSource)
        assert adapter.kind == kind


def test_sources_are_immutable() -> None:
    source = make_source("hls", "https://cdn.example.org/live.m3u8")
    with pytest.raises(dataclasses.FrozenInstanceError):
        source.url = "https://evil.example/live.m3u8"  # type: ignore[misc]


def test_unknown_kind_is_refused_on_the_kind_field() -> None:
    with pytest.raises(InvalidSource) as refused:
        make_source("rtmp", "rtmp://example.org/live")
    assert refused.value.field == "kind"
    assert "hls" in refused.value.message


def test_every_adapter_refuses_a_javascript_url() -> None:
    for kind in ADAPTERS:
        with pytest.raises(InvalidSource):
            make_source(kind, "javascript:alert(1)//.m3u8")


# --- HLS ---


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.example.org/live/main.m3u8",
        "https://cdn.example.org/live/main.M3U8",
        "http://127.0.0.1:8080/hls/room1.m3u8?token=abc&exp=1",
    ],
)
def test_hls_source_plays_its_m3u8_url(url: str) -> None:
    source = make_source("hls", url)
    assert source.kind == "hls"
    assert source.player == {"type": "hls", "src": source.url}


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.example.org/live/main.mp4",
        "https://cdn.example.org/live/?file=main.m3u8",
        "https://cdn.example.org/live/main.m3u8.html",
        "https://cdn.example.org/",
    ],
)
def test_hls_source_must_point_at_a_playlist(url: str) -> None:
    with pytest.raises(InvalidSource, match=r"\.m3u8"):
        make_source("hls", url)


def test_hls_source_keeps_the_normalised_url() -> None:
    assert make_source("hls", "HTTPS://CDN.example.org:443/a.m3u8").url == (
        "https://cdn.example.org/a.m3u8"
    )


# --- Embeds ---


@pytest.mark.parametrize(
    "url",
    [
        f"https://www.youtube.com/watch?v={VIDEO_ID}",
        f"https://youtube.com/watch?v={VIDEO_ID}&t=42s&list=PL123",
        f"https://m.youtube.com/watch?feature=share&v={VIDEO_ID}",
        f"http://www.youtube.com/watch?v={VIDEO_ID}",
        f"https://youtu.be/{VIDEO_ID}",
        f"https://youtu.be/{VIDEO_ID}?si=Tracking123",
        f"https://www.youtube.com/live/{VIDEO_ID}",
        f"https://www.youtube.com/live/{VIDEO_ID}?feature=shared",
        f"https://www.youtube.com/embed/{VIDEO_ID}",
        f"https://www.youtube-nocookie.com/embed/{VIDEO_ID}",
        f"https://youtube-nocookie.com/embed/{VIDEO_ID}/",
    ],
)
def test_youtube_links_become_the_privacy_enhanced_player(url: str) -> None:
    source = make_source("embed", url)
    assert source.player == {"type": "embed", "provider": "youtube", "src": NOCOOKIE}


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/watch?v=short",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQX",
        "https://www.youtube.com/watch?v=dQw4w9WgX%22",
        "https://www.youtube.com/watch",
        "https://youtu.be/",
        "https://youtu.be/dQw4w9WgXcQ/extra",
        "https://www.youtube.com/channel/UC1234567890",
        "https://www.youtube.com/embed/dQw4w9WgX<Q",
    ],
)
def test_youtube_links_without_a_valid_video_id_are_refused(url: str) -> None:
    with pytest.raises(InvalidSource, match="YouTube"):
        make_source("embed", url)


@pytest.mark.parametrize(
    ("url", "player_src"),
    [
        ("https://vimeo.com/76979871", "https://player.vimeo.com/video/76979871?dnt=1"),
        ("https://www.vimeo.com/76979871/", "https://player.vimeo.com/video/76979871?dnt=1"),
        (
            "https://player.vimeo.com/video/76979871?autoplay=1",
            "https://player.vimeo.com/video/76979871?dnt=1",
        ),
        ("https://vimeo.com/event/4143120", "https://player.vimeo.com/event/4143120"),
    ],
)
def test_vimeo_links_become_the_do_not_track_player(url: str, player_src: str) -> None:
    source = make_source("embed", url)
    assert source.player == {"type": "embed", "provider": "vimeo", "src": player_src}


@pytest.mark.parametrize(
    "url", ["https://vimeo.com/channels/staffpicks", "https://vimeo.com/", "https://vimeo.com/12ab"]
)
def test_vimeo_links_without_a_numeric_id_are_refused(url: str) -> None:
    with pytest.raises(InvalidSource, match="Vimeo"):
        make_source("embed", url)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/embed/dQw4w9WgXcQ",
        "https://youtube.com.evil.example/watch?v=dQw4w9WgXcQ",
        "https://notyoutube.com/watch?v=dQw4w9WgXcQ",
        "https://twitch.tv/somechannel",
    ],
)
def test_embeds_from_other_hosts_are_refused_naming_the_allowed_ones(url: str) -> None:
    with pytest.raises(InvalidSource) as refused:
        make_source("embed", url)
    for host in EMBED_HOSTS:
        assert host in refused.value.message


def test_frame_origins_cover_every_player_an_embed_can_produce() -> None:
    sources = [
        make_source("embed", f"https://youtu.be/{VIDEO_ID}"),
        make_source("embed", "https://vimeo.com/76979871"),
        make_source("embed", "https://vimeo.com/event/4143120"),
    ]
    for source in sources:
        origin = "/".join(source.player["src"].split("/")[:3])
        assert origin in frame_origins()


def test_the_embed_source_remembers_the_organisers_url() -> None:
    url = f"https://www.youtube.com/watch?v={VIDEO_ID}"
    assert make_source("embed", url).url == url


# --- Audio ---


@pytest.mark.parametrize(
    ("path", "audio_format"),
    [
        ("radio/live.m3u8", "hls"),
        ("talk.mp3", "mp3"),
        ("talk.MP3", "mp3"),
        ("talk.aac", "aac"),
        ("talk.m4a", "aac"),
        ("talk.ogg", "ogg"),
        ("talk.oga", "ogg"),
        ("talk.opus", "ogg"),
        ("stream.mp3?listener=42", "mp3"),
    ],
)
def test_audio_sources_name_their_format(path: str, audio_format: str) -> None:
    url = f"https://audio.example.org/{path}"
    assert make_source("audio", url).player == {"type": "audio", "src": url, "format": audio_format}


@pytest.mark.parametrize("path", ["talk.wav", "talk.mp4", "talk", "talk.mp3.exe"])
def test_audio_sources_of_other_formats_are_refused(path: str) -> None:
    with pytest.raises(InvalidSource, match=r"\.mp3"):
        make_source("audio", f"https://audio.example.org/{path}")


# --- WebRTC ---


@pytest.mark.parametrize(
    "url",
    ["/whep/room-1", "/whep/event_7/main.stage", "https://whep.example.org/room/1"],
)
def test_webrtc_sources_point_at_a_whep_endpoint(url: str) -> None:
    assert make_source("webrtc", url).player == {"type": "webrtc", "whep": url}


@pytest.mark.parametrize(
    "url",
    [
        "/whep/",
        "/whep/../admin",
        "/whep/a/../../admin",
        "/whep//evil.example",
        "/whep/room 1",
        "/whep/room?x=<script>",
        "/admin/whep/room",
        "whep/room",
        "ftp://whep.example.org/room",
    ],
)
def test_webrtc_sources_outside_whep_are_refused(url: str) -> None:
    with pytest.raises(InvalidSource):
        make_source("webrtc", url)


def test_streams_stays_free_of_the_database_and_socket_layers() -> None:
    code = (
        "import sys, streams.sources, streams.hls; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('server', 'sqlalchemy', 'socketio', 'engineio')))"
    )
    imported = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert imported.strip() == "[]"
