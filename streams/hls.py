"""HLS playlists (RFC 8216): parse what a source serves, and check that it is actually playing."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from urllib.parse import urljoin

import aiohttp

from streams.errors import InvalidSource
from streams.urls import check_url

MAX_PLAYLIST_BYTES = 1024 * 1024
_ATTRIBUTE = re.compile(r'\s*([A-Z0-9-]+)=("[^"\r\n]*"|[^",\s]*)\s*(,|$)')
_RESOLUTION = re.compile(r"(\d+)x(\d+)")


@dataclass(frozen=True)
class Variant:
    uri: str
    bandwidth: int
    resolution: tuple[int, int] | None = None


@dataclass(frozen=True)
class Subtitles:
    name: str
    uri: str
    language: str | None = None


@dataclass(frozen=True)
class Playlist:
    """A master playlist (variants, subtitles) or a media playlist (segments); URIs absolute."""

    is_master: bool
    variants: tuple[Variant, ...] = ()
    subtitles: tuple[Subtitles, ...] = ()
    target_duration: int | None = None
    segment_count: int = 0
    ended: bool = False


@dataclass(frozen=True)
class PlaylistHealth:
    """`playlist` is what parsed at the URL checked, even when a variant behind it failed."""

    ok: bool
    reason: str | None = None
    playlist: Playlist | None = None


def parse_playlist(text: str, base_url: str) -> Playlist:
    """Parse an M3U8 playlist, resolving its URIs against `base_url`."""
    lines = [line.strip() for line in text.removeprefix("\ufeff").splitlines()]
    lines = [line for line in lines if line]
    if not lines or lines[0] != "#EXTM3U":
        raise InvalidSource("this is not an HLS playlist: it does not start with #EXTM3U")
    is_master = any(line.startswith("#EXT-X-STREAM-INF:") for line in lines)
    is_media = any(line.startswith(("#EXTINF:", "#EXT-X-TARGETDURATION:")) for line in lines)
    if is_master and is_media:
        raise InvalidSource("the playlist mixes variant streams and media segments")
    if is_master:
        return _parse_master(lines, base_url)
    if is_media:
        return _parse_media(lines)
    raise InvalidSource("the playlist has neither variant streams nor media segments")


def parse_attributes(text: str) -> dict[str, str]:
    """An attribute list (NAME=value,NAME="quoted, value") as a dict, quotes removed."""
    attributes: dict[str, str] = {}
    position = 0
    while position < len(text):
        match = _ATTRIBUTE.match(text, position)
        if match is None:
            raise InvalidSource(f"malformed attribute list: {text!r}")
        name, value, _separator = match.groups()
        attributes[name] = value[1:-1] if value.startswith('"') else value
        position = match.end()
    return attributes


def _parse_master(lines: list[str], base_url: str) -> Playlist:
    variants: list[Variant] = []
    subtitles: list[Subtitles] = []
    for index, line in enumerate(lines):
        tag, _, rest = line.partition(":")
        if tag == "#EXT-X-STREAM-INF":
            uri = _uri_after(lines, index, "#EXT-X-STREAM-INF")
            variants.append(_variant(parse_attributes(rest), urljoin(base_url, uri)))
        elif tag == "#EXT-X-MEDIA":
            attributes = parse_attributes(rest)
            if attributes.get("TYPE") == "SUBTITLES":
                subtitles.append(_subtitles(attributes, base_url))
    return Playlist(is_master=True, variants=tuple(variants), subtitles=tuple(subtitles))


def _parse_media(lines: list[str]) -> Playlist:
    target_duration = None
    segment_count = 0
    for index, line in enumerate(lines):
        tag, _, rest = line.partition(":")
        if tag == "#EXT-X-TARGETDURATION":
            target_duration = _integer(rest, "#EXT-X-TARGETDURATION")
        elif tag == "#EXTINF":
            _uri_after(lines, index, "#EXTINF")
            segment_count += 1
    if target_duration is None:
        raise InvalidSource("the media playlist has no #EXT-X-TARGETDURATION")
    return Playlist(
        is_master=False,
        target_duration=target_duration,
        segment_count=segment_count,
        ended="#EXT-X-ENDLIST" in lines,
    )


def _uri_after(lines: list[str], index: int, tag: str) -> str:
    # A URI line follows its tag, possibly after other tags; the next tag of the same kind
    # (or the end) first means the URI is missing.
    for line in lines[index + 1 :]:
        if not line.startswith("#"):
            return line
        if line.startswith(tag + ":"):
            break
    raise InvalidSource(f"{tag} on line '{lines[index]}' is not followed by a URI")


def _variant(attributes: dict[str, str], uri: str) -> Variant:
    if "BANDWIDTH" not in attributes:
        raise InvalidSource("a variant stream has no BANDWIDTH")
    resolution = None
    if "RESOLUTION" in attributes:
        match = _RESOLUTION.fullmatch(attributes["RESOLUTION"])
        if match is None:
            raise InvalidSource(f"malformed RESOLUTION {attributes['RESOLUTION']!r}")
        resolution = (int(match.group(1)), int(match.group(2)))
    return Variant(uri, _integer(attributes["BANDWIDTH"], "BANDWIDTH"), resolution)


def _subtitles(attributes: dict[str, str], base_url: str) -> Subtitles:
    if "NAME" not in attributes or "URI" not in attributes:
        raise InvalidSource("a subtitles rendition needs both NAME and URI")
    uri = urljoin(base_url, attributes["URI"])
    return Subtitles(attributes["NAME"], uri, attributes.get("LANGUAGE"))


def _integer(text: str, what: str) -> int:
    if not text.isdigit():
        raise InvalidSource(f"{what} must be a whole number, not {text!r}")
    return int(text)


async def check_playlist(
    session: aiohttp.ClientSession, url: str, timeout: float = 5.0
) -> PlaylistHealth:
    """Whether `url` serves a playable playlist; `timeout` bounds the whole check. Never raises."""
    playlist = None
    try:
        async with asyncio.timeout(timeout):
            playlist = await _fetch_playlist(session, url)
            if playlist.is_master:
                if not playlist.variants:
                    return PlaylistHealth(False, "the master playlist has no variants", playlist)
                variant = await _fetch_playlist(session, playlist.variants[0].uri)
                return _media_health(variant, playlist, "the first variant")
            return _media_health(playlist, playlist, "the playlist")
    except TimeoutError:
        return PlaylistHealth(False, f"no answer within {timeout:g} seconds", playlist)
    except aiohttp.ClientError as error:
        return PlaylistHealth(False, f"could not fetch the playlist: {error}", playlist)
    except InvalidSource as error:
        return PlaylistHealth(False, error.message, playlist)


async def _fetch_playlist(session: aiohttp.ClientSession, url: str) -> Playlist:
    # The master playlist is remote content, so its variant URIs are checked like user input.
    url = check_url(url)
    async with session.get(url) as response:
        if response.status != 200:
            raise InvalidSource(f"{url} answered HTTP {response.status}")
        body = await _read_capped(response, url)
        base_url = str(response.url)  # after redirects, where relative URIs resolve from
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidSource(f"{url} is not UTF-8 text, so not an HLS playlist") from error
    return parse_playlist(text, base_url)


async def _read_capped(response: aiohttp.ClientResponse, url: str) -> bytes:
    # A playlist is small text; refusing early keeps a wrong URL (a video file) from being pulled.
    too_large = InvalidSource(f"{url} is larger than {MAX_PLAYLIST_BYTES} bytes")
    if (response.content_length or 0) > MAX_PLAYLIST_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in response.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > MAX_PLAYLIST_BYTES:
            raise too_large
    return bytes(body)


def _media_health(media: Playlist, checked: Playlist, what: str) -> PlaylistHealth:
    if media.is_master:
        return PlaylistHealth(False, f"{what} is a master playlist, not media", checked)
    if media.segment_count == 0:
        return PlaylistHealth(False, f"{what} has no segments", checked)
    return PlaylistHealth(True, None, checked)
