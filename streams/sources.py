"""Stream sources behind one interface: validate what an organiser gave, say how to play it.

Each kind of source is an adapter: a frozen dataclass with a `from_url` classmethod that
validates and normalises, and a `player` property that is the JSON sent to browsers.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import ClassVar, Self
from urllib.parse import urlsplit

from streams.embeds import embed_player
from streams.errors import InvalidSource
from streams.urls import check_url

# Extension -> the format a browser needs to pick a player: HLS needs hls.js, the rest play
# natively. M4A is AAC in an MP4 box; OGA and Opus files are Ogg.
AUDIO_FORMATS = {
    ".m3u8": "hls",
    ".mp3": "mp3",
    ".aac": "aac",
    ".m4a": "aac",
    ".ogg": "ogg",
    ".oga": "ogg",
    ".opus": "ogg",
}
WHEP_PREFIX = "/whep/"
_WHEP_PATH = re.compile(r"/whep/[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*")


@dataclass(frozen=True)
class StreamSource(ABC):
    """A playable source; `url` is the organiser's URL, normalised."""

    kind: ClassVar[str]
    url: str

    @classmethod
    @abstractmethod
    def from_url(cls, url: str) -> Self:
        """Validate `url` for this kind of source; raise InvalidSource if it cannot play."""

    @property
    @abstractmethod
    def player(self) -> dict[str, str]:
        """What a browser needs to play this source; its `type` picks the player."""


@dataclass(frozen=True)
class HlsSource(StreamSource):
    kind = "hls"

    @classmethod
    def from_url(cls, url: str) -> Self:
        url = check_url(url)
        if _extension(url) != ".m3u8":
            raise InvalidSource("an HLS source must be a .m3u8 playlist URL")
        return cls(url)

    @property
    def player(self) -> dict[str, str]:
        return {"type": "hls", "src": self.url}


@dataclass(frozen=True)
class EmbedSource(StreamSource):
    """A YouTube or Vimeo page, played through the provider's privacy-enhanced iframe."""

    kind = "embed"
    provider: str
    src: str

    @classmethod
    def from_url(cls, url: str) -> Self:
        url = check_url(url)
        provider, src = embed_player(url)
        return cls(url, provider, src)

    @property
    def player(self) -> dict[str, str]:
        return {"type": "embed", "provider": self.provider, "src": self.src}


@dataclass(frozen=True)
class AudioSource(StreamSource):
    kind = "audio"
    format: str

    @classmethod
    def from_url(cls, url: str) -> Self:
        url = check_url(url)
        audio_format = AUDIO_FORMATS.get(_extension(url))
        if audio_format is None:
            allowed = ", ".join(AUDIO_FORMATS)
            raise InvalidSource(f"an audio source must be a file ending in one of: {allowed}")
        return cls(url, audio_format)

    @property
    def player(self) -> dict[str, str]:
        return {"type": "audio", "src": self.url, "format": self.format}


@dataclass(frozen=True)
class WebRtcSource(StreamSource):
    """A WHEP endpoint: a path on Podium itself (the aiortc relay) or an external server."""

    kind = "webrtc"

    @classmethod
    def from_url(cls, url: str) -> Self:
        if not url.startswith(WHEP_PREFIX):
            return cls(check_url(url))
        # Dot segments would let a relative path climb out of /whep/ once the browser resolves it.
        segments = url.split("/")
        if not _WHEP_PATH.fullmatch(url) or "." in segments or ".." in segments:
            raise InvalidSource("a WHEP path must look like /whep/<name>")
        return cls(url)

    @property
    def player(self) -> dict[str, str]:
        return {"type": "webrtc", "whep": self.url}


ADAPTERS: dict[str, type[StreamSource]] = {
    adapter.kind: adapter for adapter in (HlsSource, EmbedSource, AudioSource, WebRtcSource)
}


def make_source(kind: str, url: str) -> StreamSource:
    """The validated source of `kind` for `url`; InvalidSource names the field at fault."""
    adapter = ADAPTERS.get(kind)
    if adapter is None:
        allowed = ", ".join(ADAPTERS)
        raise InvalidSource(
            f"unknown stream kind {kind!r}; expected one of: {allowed}", field="kind"
        )
    return adapter.from_url(url)


def _extension(url: str) -> str:
    return PurePosixPath(urlsplit(url).path).suffix.lower()
