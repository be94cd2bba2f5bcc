"""Stopping background tasks at shutdown, even those whose cancel a library swallowed."""

from __future__ import annotations

import asyncio
import contextlib

# How long to wait for a cancelled task before cancelling it again.
RECANCEL_SECONDS = 0.5


async def stop(task: asyncio.Task) -> None:
    """Cancel `task` and wait until it has ended; re-raise what it failed with, if not that.

    A cancel that lands while redis-py is connecting or reading can be swallowed (redis-py
    issues 2028 and 2551; seen here with redis-py 8.1, in about a quarter of cancels timed
    into a fresh connection's first command): the task carries on, and a plain `await task`
    would hold the shutdown for good. So the cancel is repeated until the task ends; the
    second one finds it somewhere else, usually asleep."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=RECANCEL_SECONDS)
    with contextlib.suppress(asyncio.CancelledError):
        await task
