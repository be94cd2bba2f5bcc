"""Live caption transcripts: cue timing, WebVTT export, and a parser to read exports back."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from server.domain.errors import InvalidInput

ZERO = timedelta(0)
MILLISECOND = timedelta(milliseconds=1)
MIN_READING_TIME = timedelta(seconds=1.5)
MAX_READING_TIME = timedelta(seconds=7)
READING_TIME_BASE = timedelta(seconds=1)
READING_TIME_PER_CHARACTER = timedelta(milliseconds=60)
MIN_CUE_DURATION = timedelta(milliseconds=500)

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
LINE_BREAK = re.compile(r"\r\n|\r|\n")
TIMESTAMP = r"(?:\d{2,}:)?[0-5]\d:[0-5]\d\.\d{3}"
CUE_TIMING = re.compile(rf"({TIMESTAMP})[ \t]+-->[ \t]+({TIMESTAMP})(?:[ \t].*)?")
NON_CUE_BLOCK = re.compile(r"(?:NOTE|STYLE|REGION)(?:[ \t]|$)")
ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
UNESCAPES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&nbsp;": "\u00a0"}


@dataclass(frozen=True)
class CaptionLine:
    seq: int
    text: str
    at: datetime


def reading_time(text: str) -> timedelta:
    """How long a viewer needs to read `text`: 1 s plus 60 ms a character, within 1.5–7 s."""
    estimate = READING_TIME_BASE + READING_TIME_PER_CHARACTER * len(text)
    return max(MIN_READING_TIME, min(MAX_READING_TIME, estimate))


def cue_timings(
    lines: Sequence[CaptionLine], origin: datetime
) -> list[tuple[timedelta, timedelta]]:
    """(start, end) offsets from `origin`, ordered and never overlapping, in whole milliseconds."""
    for earlier, later in pairwise(lines):
        if later.seq <= earlier.seq:
            raise ValueError(
                f"caption {later.seq} follows {earlier.seq}; lines must be in seq order"
            )
    # WebVTT has millisecond precision; rounding here makes an export match these timings exactly.
    arrivals = [_whole_milliseconds(max(ZERO, line.at - origin)) for line in lines]
    timings: list[tuple[timedelta, timedelta]] = []
    previous_end = ZERO
    for index, line in enumerate(lines):
        # A cue shown for less than half a second cannot be read, so a burst of lines pushes
        # the next cue back rather than overlapping it.
        start = max(arrivals[index], previous_end)
        end = start + reading_time(line.text)
        if index + 1 < len(lines):
            end = min(end, arrivals[index + 1])
        end = max(end, start + MIN_CUE_DURATION)
        timings.append((start, end))
        previous_end = end
    return timings


def to_webvtt(lines: Sequence[CaptionLine], origin: datetime) -> str:
    """A WebVTT file with one numbered cue per line, text escaped so it renders literally."""
    blocks = ["WEBVTT"]
    timings = cue_timings(lines, origin)
    for number, (line, (start, end)) in enumerate(zip(lines, timings, strict=True), start=1):
        timing = f"{_timestamp(start)} --> {_timestamp(end)}"
        blocks.append("\n".join([str(number), timing, *_cue_text_lines(line.text)]))
    return "\n\n".join(blocks) + "\n"


def parse_webvtt(text: str) -> list[tuple[timedelta, timedelta, str]]:
    """Cues as (start, end, text); NOTE, STYLE and REGION blocks are skipped."""
    blocks = _blocks(LINE_BREAK.split(text.removeprefix("\ufeff")))
    if not blocks or blocks[0][0] != 1 or not re.fullmatch(r"WEBVTT(?:[ \t].*)?", blocks[0][1][0]):
        raise _invalid_file("line 1: a WebVTT file must start with WEBVTT")
    cues = []
    for first_line_number, block in blocks[1:]:
        if NON_CUE_BLOCK.match(block[0]):
            continue
        timing_index = 0 if "-->" in block[0] else 1
        timing = CUE_TIMING.fullmatch(block[timing_index]) if timing_index < len(block) else None
        line_number = first_line_number + min(timing_index, len(block) - 1)
        if not timing:
            raise _invalid_file(
                f"line {line_number}: expected a cue timing such as 00:00:01.000 --> 00:00:02.500"
            )
        start, end = _offset(timing[1]), _offset(timing[2])
        if end <= start:
            raise _invalid_file(f"line {line_number}: a cue must end after it starts")
        cue_text = "\n".join(block[timing_index + 1 :])
        cues.append((start, end, re.sub(r"&(?:amp|lt|gt|nbsp);", _unescape, cue_text)))
    return cues


def validate_caption_text(text: str, max_length: int = 500) -> str:
    """Trimmed text with each run of blank lines and surrounding spaces made one line break."""
    text = LINE_BREAK.sub("\n", text)
    if CONTROL_CHARACTERS.search(text):
        raise InvalidInput(
            "caption text contains a control character",
            fields={"text": "must not contain control characters"},
        )
    text = re.sub(r"\s*\n\s*", "\n", text.strip())
    if not text:
        raise InvalidInput("caption text is empty", fields={"text": "must not be empty"})
    if len(text) > max_length:
        raise InvalidInput(
            f"caption text is {len(text)} characters; the limit is {max_length}",
            fields={"text": f"must be at most {max_length} characters"},
        )
    return text


def _cue_text_lines(text: str) -> list[str]:
    # Escaping ">" also breaks up any "-->", which would otherwise read as a timing line;
    # blank lines are dropped because a blank line ends the cue.
    escaped = re.sub(r"[&<>]", lambda match: ESCAPES[match[0]], text)
    return [line for line in LINE_BREAK.split(escaped) if line.strip()]


def _unescape(match: re.Match[str]) -> str:
    return UNESCAPES[match[0]]


def _blocks(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Runs of non-empty lines, each with the 1-based number of its first line."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    for number, line in enumerate([*lines, ""], start=1):
        if line:
            if not current:
                blocks.append((number, current))
            current.append(line)
        else:
            current = []
    return blocks


def _timestamp(offset: timedelta) -> str:
    milliseconds = offset // MILLISECOND
    hours, milliseconds = divmod(milliseconds, 3_600_000)
    minutes, milliseconds = divmod(milliseconds, 60_000)
    seconds, milliseconds = divmod(milliseconds, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{milliseconds:03d}"


def _offset(timestamp: str) -> timedelta:
    *hours, minutes, seconds = timestamp.split(":")
    whole_seconds, milliseconds = seconds.split(".")
    return timedelta(
        hours=int(hours[0]) if hours else 0,
        minutes=int(minutes),
        seconds=int(whole_seconds),
        milliseconds=int(milliseconds),
    )


def _whole_milliseconds(offset: timedelta) -> timedelta:
    return offset - timedelta(microseconds=offset.microseconds % 1000)


def _invalid_file(message: str) -> InvalidInput:
    return InvalidInput(message, fields={"file": message})
