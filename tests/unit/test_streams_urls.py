"""URL validation: only plain http(s) URLs to a real host get through, normalised."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.errors import InvalidSource
from streams.urls import MAX_URL_LENGTH, check_url


@pytest.mark.parametrize(
    ("given_url", "normalised"),
    [
        ("https://cdn.example.org/live/main.m3u8", "https://cdn.example.org/live/main.m3u8"),
        ("HTTPS://CDN.Example.ORG/Live.m3u8", "https://cdn.example.org/Live.m3u8"),
        ("http://127.0.0.1:8080/a.m3u8?token=x", "http://127.0.0.1:8080/a.m3u8?token=x"),
        ("https://example.org:443/a", "https://example.org/a"),
        ("http://example.org:80", "http://example.org/"),
        ("https://example.org:8443/a#t=5", "https://example.org:8443/a#t=5"),
        ("http://[::1]:9000/live.m3u8", "http://[::1]:9000/live.m3u8"),
        ("https://bücher.example/a.m3u8", "https://xn--bcher-kva.example/a.m3u8"),
    ],
)
def test_safe_urls_are_accepted_and_normalised(given_url: str, normalised: str) -> None:
    assert check_url(given_url) == normalised


@pytest.mark.parametrize(
    "hostile",
    [
        "",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "ftp://example.org/live.m3u8",
        "vbscript:msgbox(1)",
        "//example.org/live.m3u8",
        "/relative/live.m3u8",
        " https://example.org/a",
        "https://example.org/a b",
        "java\tscript:alert(1)",
        "https://example.org/\nSet-Cookie:x",
        "https://example.org/\x00",
        "https://exa\u200bmple.org/",
        "https://example.org/\u202egpj.m3u8",
        "https://user:pass@example.org/a",
        "https://user@example.org/a",
        "https://example.org\\@evil.example/",
        "https:\\\\evil.example",
        "https:evil.example",
        "https:///a.m3u8",
        "https://",
        "https://:8080/",
        "https://exa..mple.org/",
        "https://ex<ample.org/",
        "https://%65vil.example/",
        "https://example.org:99999/",
        "https://example.org:port/",
        "http://[::1/",
        "https://example.org/" + "a" * MAX_URL_LENGTH,
    ],
)
def test_hostile_or_broken_urls_are_refused(hostile: str) -> None:
    with pytest.raises(InvalidSource):
        check_url(hostile)


def test_refusal_names_the_field_and_says_why() -> None:
    with pytest.raises(InvalidSource) as refused:
        check_url("javascript:alert(1)", field="stream_url")
    assert refused.value.field == "stream_url"
    assert "http://" in refused.value.message
    assert isinstance(refused.value, ValueError)


def test_a_url_of_exactly_the_maximum_length_is_accepted() -> None:
    prefix = "https://example.org/"
    url = prefix + "a" * (MAX_URL_LENGTH - len(prefix))
    assert check_url(url) == url


schemes = st.from_regex(r"[A-Za-z][A-Za-z0-9+.-]{0,15}", fullmatch=True).filter(
    lambda scheme: scheme.lower() not in ("http", "https")
)


@given(scheme=schemes, rest=st.text(max_size=60))
def test_no_other_scheme_is_ever_accepted(scheme: str, rest: str) -> None:
    with pytest.raises(InvalidSource):
        check_url(f"{scheme}:{rest}")


@given(st.text(max_size=80))
def test_whatever_is_accepted_is_an_http_url_with_a_host(text: str) -> None:
    try:
        normalised = check_url(text)
    except InvalidSource:
        return
    scheme, _, rest = normalised.partition("://")
    assert scheme in ("http", "https")
    assert rest and rest[0] not in "/@"
