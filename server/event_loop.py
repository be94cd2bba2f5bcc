"""The event loop `podium serve` runs on: uvloop when it is installed, unless told otherwise.

A broadcast is one `transport.write` per recipient. On asyncio's selector loop each write
runs a dozen lines of Python around the `send()`; on uvloop it is C. uvloop is a dependency
where it builds (not on Windows); `event_loop = "asyncio"` keeps the standard loop.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)


def new_serving_loop(choice: str) -> asyncio.AbstractEventLoop:
    """A new loop for serving: `choice` is "auto" (uvloop if installed), "uvloop" or
    "asyncio". "uvloop" without uvloop installed falls back to asyncio, with a warning."""
    if choice != "asyncio":
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                log.warning("event_loop = uvloop, but uvloop is not installed: using asyncio")
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
