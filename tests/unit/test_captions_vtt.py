"""Caption cue timing, WebVTT export and the parser that reads exports back."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.captions import (
    CaptionLine,
    cue_timings,
    parse_webvtt,
    reading_time,
    to_webvtt,
    validate_caption_text,
)
from server.domain.errors import InvalidInput

ORIGIN = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


def line(seq: int, at: float, text: str = "Hello") -> CaptionLine:
    return CaptionLine(seq=seq, text=text, at=ORIGIN + seconds(at))


# timing rules


@pytest.mark.parametrize(
    ("characters", "expected"),
    [(0, 1.5), (5, 1.5), (10, 1.6), (50, 4.0), (100, 7.0), (400, 7.0)],
)
def test_reading_time_is_a_second_plus_60_ms_a_character_within_one_and_a_half_to_seven(
    characters, expected
):
    assert reading_time("x" * characters) == seconds(expected)


def test_cue_ends_when_the_next_line_arrives_if_that_is_sooner_than_reading_time():
    assert cue_timings([line(1, 2, "x" * 50), line(2, 3)], ORIGIN)[0] == (seconds(2), seconds(3))


def test_cue_ends_after_its_reading_time_if_the_next_line_is_later():
    timings = cue_timings([line(1, 2, "x" * 50), line(2, 30)], ORIGIN)
    assert timings == [(seconds(2), seconds(6)), (seconds(30), seconds(31.5))]


def test_last_cue_lasts_its_reading_time():
    assert cue_timings([line(1, 10, "x" * 20)], ORIGIN) == [(seconds(10), seconds(12.2))]


def test_cue_lasts_at_least_half_a_second_and_a_burst_pushes_the_next_cue_back():
    timings = cue_timings([line(1, 1), line(2, 1.1), line(3, 1.2), line(4, 5)], ORIGIN)
    assert timings == [
        (seconds(1), seconds(1.5)),
        (seconds(1.5), seconds(2)),
        (seconds(2), seconds(3.5)),
        (seconds(5), seconds(6.5)),
    ]


def test_lines_before_the_origin_start_at_zero():
    assert cue_timings([line(1, -30)], ORIGIN) == [(seconds(0), seconds(1.5))]


def test_timings_are_whole_milliseconds():
    [(start, end)] = cue_timings([line(1, 1.0004567)], ORIGIN)
    assert (start, end) == (seconds(1), seconds(2.5))


@pytest.mark.parametrize("seqs", [(2, 1), (3, 3)])
def test_lines_out_of_seq_order_are_refused(seqs):
    with pytest.raises(ValueError, match="seq order"):
        cue_timings([line(seqs[0], 1), line(seqs[1], 2)], ORIGIN)


arrival_gaps = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=120, allow_nan=False),
        st.text(max_size=300),
    ),
    max_size=40,
)


@given(gaps=arrival_gaps, first=st.floats(min_value=-60, max_value=3600))
def test_cues_are_ordered_non_overlapping_and_non_negative(gaps, first):
    at = first
    lines = []
    for seq, (gap, text) in enumerate(gaps, start=1):
        at += gap
        lines.append(line(seq, at, text))
    timings = cue_timings(lines, ORIGIN)
    assert len(timings) == len(lines)
    for start, end in timings:
        assert timedelta(0) <= start
        assert end - start >= seconds(0.5)
    for (_, end), (next_start, _) in pairwise(timings):
        assert end <= next_start


# WebVTT export


def test_webvtt_export_has_a_header_and_numbered_cues():
    lines = [line(1, 1.25, "Good morning"), line(2, 2.5, "and welcome")]
    assert to_webvtt(lines, ORIGIN) == (
        "WEBVTT\n"
        "\n"
        "1\n"
        "00:00:01.250 --> 00:00:02.500\n"
        "Good morning\n"
        "\n"
        "2\n"
        "00:00:02.500 --> 00:00:04.160\n"
        "and welcome\n"
    )


def test_webvtt_timestamps_grow_past_99_hours():
    far = CaptionLine(1, "Still here", ORIGIN + timedelta(hours=100, minutes=2, seconds=3.5))
    assert "100:02:03.500 --> 100:02:05.100" in to_webvtt([far], ORIGIN)


def test_webvtt_escapes_markup_ampersands_and_timing_arrows():
    text = "<b>bold</b> & A --> B"
    vtt = to_webvtt([line(1, 1, text)], ORIGIN)
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; A --&gt; B" in vtt
    assert vtt.count("-->") == 1
    assert [cue[2] for cue in parse_webvtt(vtt)] == [text]


def test_webvtt_collapses_blank_lines_that_would_end_a_cue():
    vtt = to_webvtt([line(1, 1, "first\n\n  \r\nsecond"), line(2, 5, "next")], ORIGIN)
    assert "first\nsecond\n\n2\n" in vtt
    assert [cue[2] for cue in parse_webvtt(vtt)] == ["first\nsecond", "next"]


def test_webvtt_round_trip_keeps_texts_and_timings():
    lines = [
        line(1, 0.5, "Welcome to Podium"),
        line(3, 2.123, "Questions go in the <Q&A> tab"),
        line(7, 2.3, "Two lines\nof text"),
        line(8, 40.999, "That's all -> bye --> now"),
    ]
    cues = parse_webvtt(to_webvtt(lines, ORIGIN))
    assert [text for _, _, text in cues] == [caption.text for caption in lines]
    assert [(start, end) for start, end, _ in cues] == cue_timings(lines, ORIGIN)


@given(texts=st.lists(st.text(min_size=1, max_size=200), max_size=10))
def test_webvtt_round_trip_keeps_any_validated_caption_text(texts):
    valid = []
    for text in texts:
        with suppress(InvalidInput):
            valid.append(validate_caption_text(text))
    lines = [line(seq, seq * 0.7, text) for seq, text in enumerate(valid, start=1)]
    assert [text for _, _, text in parse_webvtt(to_webvtt(lines, ORIGIN))] == valid


def test_webvtt_of_no_lines_is_just_the_header():
    assert to_webvtt([], ORIGIN) == "WEBVTT\n"
    assert parse_webvtt("WEBVTT\n") == []


# WebVTT parser


def test_parser_accepts_cues_without_identifiers_or_hours_and_skips_notes():
    text = (
        "\ufeffWEBVTT - exported\r\n\r\n"
        "NOTE made by hand\r\n\r\n"
        "00:01.000 --> 00:02.500 align:start\r\n"
        "Hi &amp; bye&nbsp;now\r\n"
    )
    assert parse_webvtt(text) == [(seconds(1), seconds(2.5), "Hi & bye\u00a0now")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "line 1: a WebVTT file must start with WEBVTT"),
        ("WEBVTTX\n", "line 1: a WebVTT file must start with WEBVTT"),
        ("\nWEBVTT\n", "line 1: a WebVTT file must start with WEBVTT"),
        ("WEBVTT\n\n1\n00:00:01.000 -> 00:00:02.000\nHi\n", "line 4: expected a cue timing"),
        ("WEBVTT\n\n1\n", "line 3: expected a cue timing"),
        ("WEBVTT\n\n00:00:01.000 --> 00:00:61.000\nHi\n", "line 3: expected a cue timing"),
        ("WEBVTT\n\n00:00:02.000 --> 00:00:01.000\nHi\n", "line 3: a cue must end after"),
    ],
)
def test_parser_rejects_malformed_files_naming_the_line(text, message):
    with pytest.raises(InvalidInput, match=message):
        parse_webvtt(text)


# caption text validation


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  hello  ", "hello"),
        ("one\n\n\ntwo", "one\ntwo"),
        ("one  \r\n \t \r\n  two", "one\ntwo"),
        ("keeps  inner\tspacing", "keeps  inner\tspacing"),
        ("x" * 500, "x" * 500),
    ],
)
def test_caption_text_is_trimmed_and_blank_lines_collapse(raw, clean):
    assert validate_caption_text(raw) == clean


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        (" \n\t ", "empty"),
        ("x" * 501, "501 characters; the limit is 500"),
        ("bell\x07", "control character"),
        ("null\x00", "control character"),
        ("escape\x1b[31m", "control character"),
        ("next line\x85", "control character"),
    ],
)
def test_caption_text_rejects_empty_overlong_and_control_characters(raw, message):
    with pytest.raises(InvalidInput, match=message) as raised:
        validate_caption_text(raw)
    assert set(raised.value.fields) == {"text"}


def test_caption_text_limit_is_configurable():
    assert validate_caption_text("abc", max_length=3) == "abc"
    with pytest.raises(InvalidInput):
        validate_caption_text("abcd", max_length=3)
