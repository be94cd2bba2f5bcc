"""A small stand-in for asyncio.Queue, for the one queue engine.io keeps per client.

asyncio.Queue builds four deques up front (items, getters, putters, and its Event's waiters),
about 3 KB per queue: a tenth of what a connected viewer costs. A websocket client of the
fast path uses its queue only until the websocket opens (see server/realtime/direct_sockets.py), so
this keeps the items in a list and makes waiters only when someone waits.
"""

from __future__ import annotations

import asyncio
from typing import Any


class LeanQueue:
    """The unbounded part of asyncio.Queue that python-engineio uses, with its semantics:
    FIFO, `get` waits, `get_nowait` raises asyncio.QueueEmpty, `join` waits until every item
    put has been marked `task_done`."""

    __slots__ = ("_items", "_getters", "_unfinished", "_joiners")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._getters: list[asyncio.Future[None]] = []
        self._unfinished = 0
        self._joiners: list[asyncio.Future[None]] = []

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        self._unfinished += 1
        _wake_first(self._getters)

    async def put(self, item: Any) -> None:
        self.put_nowait(item)

    def get_nowait(self) -> Any:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.pop(0)

    async def get(self) -> Any:
        while not self._items:
            getter = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                if getter in self._getters:
                    self._getters.remove(getter)
                if self._items and not getter.cancelled():
                    _wake_first(self._getters)  # it was woken, then cancelled: pass it on
                raise
        return self._items.pop(0)

    def task_done(self) -> None:
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if self._unfinished == 0:
            joiners, self._joiners = self._joiners, []
            for joiner in joiners:
                if not joiner.done():
                    joiner.set_result(None)

    async def join(self) -> None:
        if self._unfinished > 0:
            joiner = asyncio.get_running_loop().create_future()
            self._joiners.append(joiner)
            await joiner


def _wake_first(waiters: list[asyncio.Future[None]]) -> None:
    while waiters:
        waiter = waiters.pop(0)
        if not waiter.done():
            waiter.set_result(None)
            return
