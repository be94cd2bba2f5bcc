"""Publishing to Redis without a round trip per emit.

python-socketio's Redis manager awaits each PUBLISH's reply before its `emit` returns, and
Podium emits from one task (server/realtime/publisher.py keeps every client's pushes in
commit order). So with several workers each push costs that task a round trip to Redis:
141–277 µs on the benchmark machine, against 18–20 µs a message when the same PUBLISHes go
in pipelines (`python -m bench.redis_pubsub`, docs/benchmarks.md). A question pushes three
times (two staff namespaces and its author), so one worker's pushes topped out at 1,200–2,400
questions a second, and fell seconds behind the acknowledgements above that.

Here `_publish` puts the message in an outbox and returns; one sender task writes whatever
the outbox holds as a pipeline of PUBLISHes (still one message per PUBLISH, in the order
emitted, on python-socketio's channel), and waits for their replies before the next. The
local clients have their copy already: the stock manager delivers here before publishing.
Failures are handled as the stock `_publish` handles them: log, reconnect, one retry, then
the messages are given up and logged. While Redis cannot keep up, emits wait for room in
the outbox instead of holding an unbounded backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any

log = logging.getLogger(__name__)

# Messages one pipeline carries at most: big enough to drain a burst in a few round trips.
PIPELINE_MESSAGES = 512
# Messages waiting at most before `_publish` waits for room (a few seconds of pushes).
OUTBOX_MESSAGES = 20_000
# How long `close` waits for what is still in the outbox.
CLOSE_FLUSH_SECONDS = 5.0


class PipelinedPublishing:
    """Mixed into python-socketio's AsyncRedisManager (see the module docstring)."""

    # python-socketio's AsyncRedisManager provides these, and `_redis_connect`.
    redis: Any
    channel: str
    connected: bool
    json: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._outbox: deque[str] = deque()
        self._sender: asyncio.Task | None = None
        self._room_in_outbox = asyncio.Event()
        self._room_in_outbox.set()
        self.published = 0  # messages Redis has taken (for tests and logs)
        self.given_up = 0  # messages dropped after the retry failed
        self.pipelines = 0  # round trips to Redis

    async def _publish(self, data: Any) -> None:
        while len(self._outbox) >= OUTBOX_MESSAGES:
            self._room_in_outbox.clear()
            self._start_sender()
            await self._room_in_outbox.wait()
        self._outbox.append(self.json.dumps(data))
        self._start_sender()

    def _start_sender(self) -> None:
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send_outbox())

    async def _send_outbox(self) -> None:
        while self._outbox:
            count = min(len(self._outbox), PIPELINE_MESSAGES)
            messages = [self._outbox.popleft() for _ in range(count)]
            if len(self._outbox) < OUTBOX_MESSAGES:
                self._room_in_outbox.set()
            await self._send(messages)

    async def _send(self, messages: list[str]) -> None:
        for retries_left in (1, 0):  # two attempts, as python-socketio's own _publish
            try:
                if not self.connected:
                    self._redis_connect()  # type: ignore[attr-defined]
                async with self.redis.pipeline(transaction=False) as pipeline:
                    for message in messages:
                        pipeline.publish(self.channel, message)
                    await pipeline.execute()
                self.pipelines += 1
                self.published += len(messages)
                return
            except Exception as error:  # Redis down or restarting: as the stock manager
                if retries_left:
                    log.error("cannot publish to redis (%s): retrying", error)
                    self.connected = False
                else:
                    log.error("cannot publish to redis (%s): gave up %d", error, len(messages))
                    self.given_up += len(messages)

    async def flush_outbox(self, timeout: float = CLOSE_FLUSH_SECONDS) -> None:
        """Wait until everything emitted so far has gone to Redis (or been given up)."""
        while self._sender is not None and not self._sender.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._sender), timeout)
                continue
            log.error("redis outbox not flushed in %.1f s: %d left", timeout, len(self._outbox))
            self._sender.cancel()
            return
