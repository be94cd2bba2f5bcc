"""Validating URLs organisers paste in, before any browser or server ever follows them."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit, urlunsplit

from streams.errors import InvalidSource

MAX_URL_LENGTH = 2000
ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
_HOSTNAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")


def check_url(url: str, *, field: str = "url") -> str:
    """Return `url` normalised (lower-case scheme and host, no default port) if it is safe."""
    if not url:
        raise InvalidSource("a URL is required", field=field)
    if len(url) > MAX_URL_LENGTH:
        raise InvalidSource(f"the URL is longer than {MAX_URL_LENGTH} characters", field=field)
    # Checked before parsing: urlsplit silently drops some of these, a browser may not.
    if any(_is_invisible_or_space(char) for char in url):
        raise InvalidSource("the URL must not contain spaces or control characters", field=field)
    # Browsers read "\" as "/" in http(s) URLs, so our parse and theirs could disagree.
    if "\\" in url:
        raise InvalidSource("the URL must not contain backslashes", field=field)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise InvalidSource(f"the URL is malformed: {error}", field=field) from error
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise InvalidSource("the URL must start with http:// or https://", field=field)
    if "@" in parts.netloc:
        raise InvalidSource("the URL must not contain a user name or password", field=field)
    host = _normalised_host(parts.hostname or "", field)
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, parts.fragment))


def _is_invisible_or_space(char: str) -> bool:
    # Cc: control characters; Cf: zero-width and bidi overrides that disguise a URL.
    return char.isspace() or unicodedata.category(char) in ("Cc", "Cf")


def _normalised_host(host: str, field: str) -> str:
    if not host:
        raise InvalidSource("the URL has no host", field=field)
    if ":" in host:
        try:
            return f"[{ipaddress.IPv6Address(host).compressed}]"
        except ValueError as error:
            raise InvalidSource("the URL has an invalid IPv6 host", field=field) from error
    try:
        # Punycode, so a look-alike Unicode host is visible for what it is.
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError as error:
        raise InvalidSource("the URL has an invalid host name", field=field) from error
    if not _HOSTNAME.fullmatch(ascii_host):
        raise InvalidSource("the URL has an invalid host name", field=field)
    return ascii_host
