"""Live viewer counts per room, for staff: how many sockets watch each room right now."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

import socketio
from redis import asyncio as aioredis

from server.realtime.publisher import event_room

log = logging.getLogger(__name__)

# {event_id: {room_id: watchers}}
Counts = dict[int, dict[str, int]]


class Presence:
    """Counts the /viewer sockets in each room's watch group and tells staff when it changes.

    Sockets are counted where they are connected. With several workers (a Redis URL set), each
    worker also publishes its own counts to Redis and shows its staff the sum over all workers.
    """

    def __init__(
        self,
        sockets: socketio.AsyncServer,
        interval_seconds: float = 5.0,
        redis_url: str = "",
        key_prefix: str = "podium",
    ) -> None:
        self.sockets = sockets
        self.interval = interval_seconds
        self._shared = (
            SharedCounts(redis_url, key_prefix, expire_seconds=3 * interval_seconds)
            if redis_url
            else None
        )
        self._all_workers: Counts | None = None
        self._last: Counts = {}

    def counts(self) -> Counts:
        """Counts over every worker as of the last round (this worker's alone until then)."""
        return self._all_workers if self._all_workers is not None else self.local_counts()

    def local_counts(self) -> Counts:
        """Counts of the sockets connected to this process, from the rooms of `watch_room`."""
        rooms = self.sockets.manager.rooms.get("/viewer", {})
        counts: Counts = {}
        for name, members in rooms.items():
            if isinstance(name, str) and name.startswith("watching:"):
                _, event_id, room_id = name.split(":")
                counts.setdefault(int(event_id), {})[room_id] = len(members)
        return counts

    async def refresh(self) -> Counts:
        local = self.local_counts()
        if self._shared is None:
            return local
        self._all_workers = await self._shared.exchange(local)
        return self._all_workers

    async def push_changes(self) -> None:
        current = await self.refresh()
        for event_id in set(current) | set(self._last):
            counts = current.get(event_id, {})
            if counts != self._last.get(event_id):
                for namespace in ("/moderator", "/chair"):
                    # Every worker tells the staff connected to it: not through the queue,
                    # or staff would hear it once per worker.
                    await self.sockets.emit(
                        "viewer_counts",
                        {"rooms": counts},
                        room=event_room(event_id),
                        namespace=namespace,
                        ignore_queue=True,
                    )
        self._last = current

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self.push_changes()
                except Exception:
                    log.exception("pushing viewer counts failed")
                if asyncio.current_task().cancelling():
                    # redis-py swallowed the cancel (see server/stopping.py): end as told.
                    raise asyncio.CancelledError
                await asyncio.sleep(self.interval)
        finally:
            if self._shared is not None:
                await self._shared.close()


class SharedCounts:
    """Each worker's counts in Redis, under a key that expires unless the worker renews it,
    so a worker that dies stops being counted within `expire_seconds`."""

    def __init__(self, redis_url: str, key_prefix: str, expire_seconds: float) -> None:
        self.redis = aioredis.from_url(redis_url, decode_responses=True)
        self.members = f"{key_prefix}:presence:workers"
        self.key = f"{key_prefix}:presence:{uuid.uuid4().hex}"
        self.expire_ms = int(expire_seconds * 1000)

    async def exchange(self, local: Counts) -> Counts:
        """Publish this worker's counts, then add up those of every worker still alive."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(self.key, json.dumps(local), px=self.expire_ms)
            pipe.sadd(self.members, self.key)
            pipe.smembers(self.members)
            *_, members = await pipe.execute()
        keys = sorted(members)
        shares = await self.redis.mget(keys)
        gone = [key for key, share in zip(keys, shares, strict=True) if share is None]
        if gone:
            await self.redis.srem(self.members, *gone)
        total: Counts = {}
        for share in shares:
            for event_id, rooms in json.loads(share or "{}").items():
                event_counts = total.setdefault(int(event_id), {})
                for room_id, watchers in rooms.items():
                    event_counts[room_id] = event_counts.get(room_id, 0) + watchers
        return total

    async def close(self) -> None:
        """Stop being counted at once (a clean shutdown), then hang up."""
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.delete(self.key)
                pipe.srem(self.members, self.key)
                await pipe.execute()
        except Exception:
            log.warning("could not withdraw this worker's viewer counts", exc_info=True)
        finally:
            await self.redis.aclose()
