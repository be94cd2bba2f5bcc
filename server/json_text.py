"""JSON text of plain data (dicts, lists, strings, numbers): what every push, answer and
batch of rows is encoded as, so it is worth doing fast.

orjson encodes such data about ten times as fast as the standard library. What it refuses
(a dict key that is not a string, an integer beyond 64 bits, a subclass of str or dict,
bytes, a string that is not valid UTF-8, ...) goes to the standard library, which then
succeeds or fails as it always did. Text is left as UTF-8 rather than escaped, and NaN and
infinities become null (the standard library writes NaN, which is not JSON).

Reading is likewise orjson's where its answer is the standard library's, and the standard
library's (or the caller's fallback) otherwise: for text orjson refuses (NaN, a lone
surrogate, ...) and for integers too long for 64 bits (which orjson reads as floats).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import orjson

# Dates and dataclasses are not plain data: left to the standard library, which refuses them.
_PLAIN_ONLY = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_PLAIN_ONLY |= orjson.OPT_PASSTHROUGH_SUBCLASS


def dumps(value: Any) -> str:
    """Compact JSON text of `value`; TypeError (or ValueError) where JSON cannot hold it."""
    try:
        return orjson.dumps(value, option=_PLAIN_ONLY).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# An integer orjson may read as a float; digits in a string only cost the slower way.
_LONG_DIGITS = re.compile(r"\d{19}")


def loads(text: str, fallback: Callable[[str], Any] = json.loads) -> Any:
    """The value `text` holds, exactly as `fallback` (the standard library's) reads it."""
    if _LONG_DIGITS.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return fallback(text)
