"""Recognising YouTube and Vimeo links and turning them into privacy-respecting player URLs."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from streams.errors import InvalidSource

YOUTUBE_HOSTS = frozenset(
    {
        "youtube.com",
        "www.youtube.com",
        "m.youtube.com",
        "youtu.be",
        "youtube-nocookie.com",
        "www.youtube-nocookie.com",
    }
)
VIMEO_HOSTS = frozenset({"vimeo.com", "www.vimeo.com", "player.vimeo.com"})
EMBED_HOSTS = YOUTUBE_HOSTS | VIMEO_HOSTS

# The privacy-enhanced players: no tracking cookies until the viewer presses play.
YOUTUBE_PLAYER = "https://www.youtube-nocookie.com"
VIMEO_PLAYER = "https://player.vimeo.com"

_YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_YOUTUBE_PATH = re.compile(r"/(?:live|embed)/([^/]+)/?")
_VIMEO_PATH = re.compile(r"/(?:video/)?(\d+)/?")
_VIMEO_EVENT_PATH = re.compile(r"/event/(\d+)/?")


def embed_player(url: str) -> tuple[str, str]:
    """The (provider, player src) for a checked YouTube or Vimeo URL."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host in YOUTUBE_HOSTS:
        return "youtube", f"{YOUTUBE_PLAYER}/embed/{_youtube_id(host, parts.path, parts.query)}"
    if host in VIMEO_HOSTS:
        return "vimeo", _vimeo_player(parts.path)
    allowed = ", ".join(sorted(EMBED_HOSTS))
    raise InvalidSource(f"embeds must come from one of: {allowed}")


def frame_origins() -> frozenset[str]:
    """The origins a Content-Security-Policy `frame-src` must allow for every embed player."""
    return frozenset({YOUTUBE_PLAYER, VIMEO_PLAYER})


def _youtube_id(host: str, path: str, query: str) -> str:
    if host == "youtu.be":
        candidate = path.strip("/")
    elif path == "/watch":
        candidate = parse_qs(query).get("v", [""])[0]
    elif match := _YOUTUBE_PATH.fullmatch(path):
        candidate = match.group(1)
    else:
        raise InvalidSource("this is not a link to a YouTube video or live stream")
    if not _YOUTUBE_ID.fullmatch(candidate):
        raise InvalidSource("the YouTube video id must be 11 letters, digits, '-' or '_'")
    return candidate


def _vimeo_player(path: str) -> str:
    if match := _VIMEO_EVENT_PATH.fullmatch(path):
        return f"{VIMEO_PLAYER}/event/{match.group(1)}"
    if match := _VIMEO_PATH.fullmatch(path):
        return f"{VIMEO_PLAYER}/video/{match.group(1)}?dnt=1"
    raise InvalidSource("this is not a link to a Vimeo video or live event")
