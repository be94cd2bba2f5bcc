"""The event loop `podium serve` runs on: uvloop when it is installed, unless told otherwise.

A broadcast is one `transport.write` per recipient. On asyncio's selector loop each write
runs a dozen lines of Python around the `send()`; on uvloop it is C. uvloop is a dependency
where it builds (not on Windows); `event_loop = "asyncio"` keeps the standard loop.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging

log = logging.getLogger(__name__)

# At exit, aiohttp's run_app closes every async generator still open (`shutdown_asyncgens`)
# and waits for them all. A generator whose clean-up waits on something already stopped
# would hold the process there for good (seen once in a few dozen worker stops in the
# test suite): after this long it is left, named in the log, and the process exits.
GENERATORS_CLOSE_SECONDS = 5.0


def new_serving_loop(
    choice: str, generators_close_seconds: float = GENERATORS_CLOSE_SECONDS
) -> asyncio.AbstractEventLoop:
    """A new loop for serving: `choice` is "auto" (uvloop if installed), "uvloop" or
    "asyncio". "uvloop" without uvloop installed falls back to asyncio, with a warning.
    Its `shutdown_asyncgens` gives up after `generators_close_seconds`."""
    loop = _new_loop(choice)
    closing = loop.shutdown_asyncgens

    async def shutdown_asyncgens() -> None:
        closed = asyncio.ensure_future(closing())
        done, _pending = await asyncio.wait({closed}, timeout=generators_close_seconds)
        if not done:
            log.warning(
                "exiting with async generators still closing after %g s: %s",
                generators_close_seconds,
                "; ".join(_open_async_generators()) or "none found",
            )

    loop.shutdown_asyncgens = shutdown_asyncgens  # type: ignore[method-assign]
    return loop


def _new_loop(choice: str) -> asyncio.AbstractEventLoop:
    if choice != "asyncio":
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                log.warning("event_loop = uvloop, but uvloop is not installed: using asyncio")
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def _open_async_generators() -> list[str]:
    """Each async generator not finished: its name, where it stands, and what it awaits."""
    found = []
    for candidate in gc.get_objects():
        if inspect.isasyncgen(candidate) and candidate.ag_frame is not None:
            frame = candidate.ag_frame
            found.append(
                f"{candidate.__qualname__} at {frame.f_code.co_filename}:{frame.f_lineno}"
                f" awaiting {candidate.ag_await!r}"
            )
    return found


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
