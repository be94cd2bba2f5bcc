"""Live viewer counts per room, for staff: how many sockets watch each room right now."""

from __future__ import annotations

import asyncio
import logging

import socketio

from server.realtime.publisher import event_room

log = logging.getLogger(__name__)
COUNT_INTERVAL_SECONDS = 5.0


class Presence:
    """Counts the /viewer sockets in each room's watch group and tells staff when it changes.

    Counts are per process; with several workers each reports its own share (see docs).
    """

    def __init__(self, sockets: socketio.AsyncServer) -> None:
        self.sockets = sockets
        self._last: dict[int, dict[str, int]] = {}

    def counts(self) -> dict[int, dict[str, int]]:
        """{event_id: {room_id: watchers}}, from the socket rooms of `watch_room`."""
        rooms = self.sockets.manager.rooms.get("/viewer", {})
        counts: dict[int, dict[str, int]] = {}
        for name, members in rooms.items():
            if isinstance(name, str) and name.startswith("watching:"):
                _, event_id, room_id = name.split(":")
                counts.setdefault(int(event_id), {})[room_id] = len(members)
        return counts

    async def push_changes(self) -> None:
        current = self.counts()
        for event_id in set(current) | set(self._last):
            counts = current.get(event_id, {})
            if counts != self._last.get(event_id):
                for namespace in ("/moderator", "/chair"):
                    await self.sockets.emit(
                        "viewer_counts",
                        {"rooms": counts},
                        room=event_room(event_id),
                        namespace=namespace,
                    )
        self._last = current

    async def run(self) -> None:
        while True:
            await asyncio.sleep(COUNT_INTERVAL_SECONDS)
            try:
                await self.push_changes()
            except Exception:
                log.exception("pushing viewer counts failed")
