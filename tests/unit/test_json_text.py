"""JSON text of plain data: fast where it can be, and otherwise as the standard library."""

from __future__ import annotations

import json
from collections import OrderedDict
from datetime import UTC, datetime

import pytest

from server import json_text


@pytest.mark.parametrize(
    "value",
    [
        {"seq": 3, "question": {"text": "Où ?", "flags": [], "votes": 0, "starred": False}},
        [1, 2.5, None, True, "\u0000 control"],
        {1: "an integer key"},  # orjson refuses: the standard library writes "1"
        {"big": 2**70},  # beyond 64 bits: likewise
        OrderedDict(a=1),  # a dict subclass: likewise
        ("a", "tuple"),
    ],
)
def test_plain_data_reads_back_as_the_standard_library_writes_it(value):
    text = json_text.dumps(value)
    assert json.loads(text) == json.loads(json.dumps(value))
    assert ", " not in text and ": " not in text  # compact


def test_text_is_utf8_not_escaped():
    assert json_text.dumps({"é": "ü"}) == '{"é":"ü"}'


@pytest.mark.parametrize("value", [b"bytes", {"when": datetime(2026, 1, 1, tzinfo=UTC)}, {1, 2}])
def test_what_json_cannot_hold_is_refused_as_the_standard_library_refuses_it(value):
    with pytest.raises(TypeError):
        json.dumps(value)
    with pytest.raises(TypeError):
        json_text.dumps(value)


@pytest.mark.parametrize(
    "text",
    [
        '{"seq":3,"question":{"text":"Où ?","votes":-2,"score":1.5e3,"flags":[]}}',
        "[12345678901234567890123, 1]",  # beyond 64 bits: an int, not a float
        '{"n": NaN, "i": -Infinity}',
        '["\\ud800 a lone surrogate"]',
        '{"a": 1, "a": 2}',
    ],
)
def test_reads_every_text_as_the_standard_library_does(text):
    ours, theirs = json_text.loads(text), json.loads(text)
    assert repr(ours) == repr(theirs)  # repr: NaN is not equal to itself


def test_reads_with_the_callers_fallback_where_orjson_would_differ():
    seen = []

    def fallback(text):
        seen.append(text)
        return json.loads(text)

    assert json_text.loads('{"a": [1, 2]}', fallback) == {"a": [1, 2]}
    assert json_text.loads("[12345678901234567890123]", fallback) == [12345678901234567890123]
    assert seen == ["[12345678901234567890123]"]
    with pytest.raises(ValueError):
        json_text.loads('{"a": ', fallback)
