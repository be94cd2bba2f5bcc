"""engine.io's per-client queue is a LeanQueue: it must behave as asyncio.Queue does where
engine.io relies on it. Each test runs against both, so a difference shows as one failing."""

from __future__ import annotations

import asyncio

import pytest

from server.realtime.lean_queue import LeanQueue

KINDS = pytest.mark.parametrize("make", [asyncio.Queue, LeanQueue], ids=["asyncio", "lean"])


@KINDS
async def test_items_come_out_in_order_and_an_empty_queue_says_so(make):
    queue = make()
    assert queue.empty() and queue.qsize() == 0
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()
    await queue.put("open")
    queue.put_nowait("message")
    queue.put_nowait(None)
    assert queue.qsize() == 3
    assert [queue.get_nowait(), await queue.get(), await queue.get()] == ["open", "message", None]
    assert queue.empty()


@KINDS
async def test_a_waiting_get_is_woken_by_a_put_and_a_timed_out_one_loses_nothing(make):
    queue = make()
    waiting = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    assert not waiting.done()
    queue.put_nowait("ping")
    assert await waiting == "ping"
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(queue.get(), 0.01)  # as engine.io's poll waits
    queue.put_nowait("after")
    assert queue.get_nowait() == "after"


@KINDS
async def test_a_getter_cancelled_after_being_woken_passes_the_item_on(make):
    queue = make()
    first = asyncio.ensure_future(queue.get())
    second = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("only")
    first.cancel()  # woken by the put, cancelled before it ran
    assert await second == "only"
    assert first.cancelled()


@KINDS
async def test_join_waits_until_every_item_is_done(make):
    queue = make()
    await queue.join()  # nothing put: returns at once
    queue.put_nowait("a")
    queue.put_nowait("b")
    joined = asyncio.ensure_future(queue.join())
    queue.get_nowait()
    queue.task_done()
    await asyncio.sleep(0)
    assert not joined.done()
    queue.get_nowait()
    queue.task_done()
    await asyncio.wait_for(joined, 1)
    with pytest.raises(ValueError):
        queue.task_done()
