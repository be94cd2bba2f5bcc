"""Emits reach Redis through the outbox: in order, pipelined, without waiting on Redis."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from server.app_keys import SOCKETS
from server.realtime import redis_outbox
from server.realtime.fanout import RedisFanoutManager
from tests.conftest import free_port, start_app
from tests.conftest import test_settings as settings_for
from tests.support.waiting import wait_until

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
ROOM = "event:1"


class Subscriber:
    """A plain Redis client on the workers' channel: what the other workers would hear."""

    def __init__(self, url: str, channel: str) -> None:
        self.client = aioredis.Redis.from_url(url)
        self.channel = channel
        self.heard: list[dict[str, Any]] = []

    async def __aenter__(self) -> Subscriber:
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        await self.pubsub.subscribe(self.channel)
        self.task = asyncio.create_task(self._listen())
        return self

    async def _listen(self) -> None:
        async for message in self.pubsub.listen():
            self.heard.append(json.loads(message["data"]))

    def numbers(self, event: str = "n") -> list[int]:
        return [m["data"][0]["i"] for m in self.heard if m.get("event") == event]

    async def __aexit__(self, *exc: object) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.pubsub.aclose()
        await self.client.aclose()


@contextlib.asynccontextmanager
async def worker(
    database_url: str, tmp_path, redis_url: str
) -> AsyncIterator[tuple[Any, list[int], Subscriber]]:
    """One real app on a fresh channel of the test Redis, as one of several workers: (its
    runner, the numbers it delivered to its own clients, what the other workers heard)."""
    channel = f"podium-test-{uuid.uuid4().hex}"
    settings = settings_for(database_url, tmp_path, redis_url=redis_url, redis_channel=channel)
    runner = await start_app(settings)
    manager = runner.app[SOCKETS].manager
    assert isinstance(manager, RedisFanoutManager)
    local: list[int] = []
    manager.add_listener(lambda ns, room, event, data: local.append(data["i"]))
    try:
        async with Subscriber(redis_url, channel) as other_workers:
            yield runner, local, other_workers
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def redis_paused(redis_url: str) -> AsyncIterator[None]:
    """Redis holds every client's writes (PUBLISH among them) until the block ends."""
    admin = aioredis.Redis.from_url(redis_url)
    await admin.execute_command("CLIENT", "PAUSE", 30_000, "WRITE")
    try:
        yield
    finally:
        await admin.execute_command("CLIENT", "UNPAUSE")
        await admin.aclose()


async def emit_numbers(sockets: Any, numbers: range) -> None:
    for i in numbers:
        await sockets.emit("n", {"i": i}, room=ROOM, namespace="/viewer")


@sqlite_only
async def test_a_burst_of_emits_goes_to_redis_in_order_in_a_few_round_trips(
    database_url, tmp_path, redis_url
):
    async with worker(database_url, tmp_path, redis_url) as (runner, local, other_workers):
        manager = runner.app[SOCKETS].manager
        round_trips_before = manager.pipelines
        await emit_numbers(runner.app[SOCKETS], range(300))
        assert local == list(range(300))  # delivered here at once
        await wait_until(lambda: len(other_workers.numbers()) == 300, what="all 300")
        assert other_workers.numbers() == list(range(300))
        assert all(m["host_id"] == manager.host_id for m in other_workers.heard)
        assert manager.pipelines - round_trips_before <= 3  # one PUBLISH each, pipelined
        assert manager.given_up == 0


@sqlite_only
async def test_emits_do_not_wait_for_redis_to_answer(database_url, tmp_path, redis_url):
    """The stock manager's emit waits for its PUBLISH's reply; while Redis is held up, the
    50 emits here would take turns with it, and the other workers would hear each one as
    the next was made."""
    async with worker(database_url, tmp_path, redis_url) as (runner, local, other_workers):
        async with redis_paused(redis_url):
            emitting = asyncio.create_task(emit_numbers(runner.app[SOCKETS], range(50)))
            await wait_until(emitting.done, what="the emits to return")
            assert local == list(range(50))
            await asyncio.sleep(0.2)
            assert other_workers.numbers() == []  # Redis has not taken any yet
        await wait_until(lambda: len(other_workers.numbers()) == 50, what="all 50")
        assert other_workers.numbers() == list(range(50))


@sqlite_only
async def test_while_redis_is_held_up_emits_wait_for_room_in_the_outbox(
    database_url, tmp_path, redis_url, monkeypatch
):
    monkeypatch.setattr(redis_outbox, "OUTBOX_MESSAGES", 10)
    async with worker(database_url, tmp_path, redis_url) as (runner, local, other_workers):
        async with redis_paused(redis_url):
            emitting = asyncio.create_task(emit_numbers(runner.app[SOCKETS], range(40)))
            await wait_until(lambda: len(local) >= 21, what="the outbox to fill")
            await asyncio.sleep(0.2)
            # 10 sent and unanswered, 10 waiting, and the 21st emit waiting for room
            assert local == list(range(21))
            assert not emitting.done()
        await wait_until(emitting.done, what="the emits to return")
        await wait_until(lambda: len(other_workers.numbers()) == 40, what="all 40")
        assert other_workers.numbers() == list(range(40))
        assert local == list(range(40))


@sqlite_only
async def test_what_is_in_the_outbox_is_published_before_the_worker_stops(
    database_url, tmp_path, redis_url
):
    async with worker(database_url, tmp_path, redis_url) as (runner, local, other_workers):
        await emit_numbers(runner.app[SOCKETS], range(200))
        await runner.cleanup()  # at once: nothing has been sent yet
        await wait_until(lambda: len(other_workers.numbers()) == 200, what="all 200")
        assert other_workers.numbers() == list(range(200))


async def test_messages_redis_cannot_take_are_given_up_and_later_ones_still_go(redis_url, caplog):
    """As the stock manager's publish: log, reconnect, try once more, then give up; the
    caller never sees the error, and the next messages go out once Redis is back."""
    channel = f"podium-test-{uuid.uuid4().hex}"
    manager = RedisFanoutManager(f"redis://127.0.0.1:{free_port()}/0", channel=channel)
    async with Subscriber(redis_url, channel) as other_workers:
        with caplog.at_level(logging.ERROR, logger=redis_outbox.__name__):
            await manager._publish({"method": "emit", "event": "n", "data": [{"i": 1}]})
            await manager.flush_outbox()
        assert (manager.given_up, manager.published) == (1, 0)
        assert [r.getMessage().split(":")[-1].strip() for r in caplog.records] == [
            "retrying",
            "gave up 1",
        ]

        manager.redis_url, manager.connected = redis_url, False  # Redis is back
        await manager._publish({"method": "emit", "event": "n", "data": [{"i": 2}]})
        await manager.flush_outbox()
        await wait_until(lambda: other_workers.numbers() == [2], what="the later message")
        assert (manager.given_up, manager.published) == (1, 1)
    await manager.redis.aclose()
