"""`stopping.cancel_until_done`: a task ends even when it swallowed its cancel."""

from __future__ import annotations

import asyncio

import pytest

from server import stopping


async def test_a_task_that_swallowed_its_cancel_is_cancelled_again_until_it_ends():
    swallowed = []

    async def like_a_redis_wait() -> None:
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed.append(True)  # carried on, as redis-py sometimes does

    task = asyncio.create_task(like_a_redis_wait())
    await asyncio.sleep(0)
    await asyncio.wait_for(stopping.cancel_until_done(task), timeout=5)
    assert task.cancelled() and swallowed == [True]


async def test_what_the_task_failed_with_is_raised():
    async def failing() -> None:
        raise LookupError("the job's own error")

    task = asyncio.create_task(failing())
    await asyncio.sleep(0)
    with pytest.raises(LookupError, match="own error"):
        await stopping.cancel_until_done(task)


async def test_a_task_that_has_ended_is_left_as_it_is():
    async def quick() -> int:
        return 7

    task = asyncio.create_task(quick())
    await task
    await stopping.cancel_until_done(task)
    assert task.result() == 7
