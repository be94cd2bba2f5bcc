"""The viewer-count loop ends when cancelled, even when redis-py swallows the cancel."""

from __future__ import annotations

import asyncio
import random
import uuid

import socketio

from server.realtime.presence import Presence

TRIALS = 100


async def test_a_cancel_timed_into_the_first_exchange_with_redis_ends_the_loop(redis_url):
    """Cancels landing in a fresh connection's first commands: with redis-py 8.1 about a
    quarter of them were swallowed, and the loop went on to sleep and exchange again; a
    worker's shutdown, which waits for it, then never ended."""
    rng = random.Random(7)
    for trial in range(TRIALS):
        presence = Presence(
            socketio.AsyncServer(), 60, redis_url, key_prefix=f"test-{uuid.uuid4().hex}"
        )
        running = asyncio.create_task(presence.run())
        await asyncio.sleep(rng.uniform(0, 0.003))
        running.cancel()
        done, _ = await asyncio.wait({running}, timeout=5)
        assert done, f"trial {trial}: the loop carried on after its cancel"
        assert running.cancelled()
