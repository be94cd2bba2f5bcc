"""Stopping a task that waits in redis-py, even when redis-py swallowed its cancel."""

from __future__ import annotations

import asyncio
import contextlib

# How long to wait for a cancelled task before cancelling it again.
RECANCEL_SECONDS = 0.5


async def cancel_until_done(task: asyncio.Task) -> None:
    """Cancel `task` and wait until it has ended; re-raise what it failed with, if not that.

    A cancel that lands while redis-py is connecting or reading can be swallowed (redis-py
    issues 2028 and 2551; seen here with redis-py 8.1, in about a quarter of cancels timed
    into a fresh connection's first command): the task carries on, and a plain `await task`
    would hold the shutdown for good. So the cancel is repeated until the task ends. Only
    for a task with no cleanup of its own to await once cancelled (python-socketio's Redis
    listener): a repeated cancel would cut that short. Podium's own loops that call Redis
    check `Task.cancelling()` after each call instead (server/realtime/presence.py)."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=RECANCEL_SECONDS)
    with contextlib.suppress(asyncio.CancelledError):
        await task
