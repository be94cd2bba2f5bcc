"""The single path every push takes, so each client receives updates in commit order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import socketio

log = logging.getLogger(__name__)

# The stage screen first: it is what the room and the webcast are looking at.
STREAM_NAMESPACES = {"public": ("/stage", "/viewer"), "staff": ("/chair", "/moderator")}


def event_room(event_id: int) -> str:
    return f"event:{event_id}"


def viewer_room(viewer_id: int) -> str:
    return f"viewer:{viewer_id}"


def watch_room(event_id: int, room_id: int) -> str:
    """Sockets watching one room's webcast: they get its captions, and are counted."""
    return f"watching:{event_id}:{room_id}"


class SocketPublisher:
    """Queues pushes synchronously (right after commit) and emits them from one task."""

    def __init__(self, sockets: socketio.AsyncServer) -> None:
        self.sockets = sockets
        self._queue: asyncio.Queue[tuple[tuple[str, ...], str, str, dict[str, Any]]] = (
            asyncio.Queue()
        )

    def publish(self, event_id: int, stream: str, entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            self._queue.put_nowait(
                (STREAM_NAMESPACES[stream], event_room(event_id), "update", entry)
            )

    def notify_viewer(self, viewer_id: int, payload: dict[str, Any]) -> None:
        self._queue.put_nowait((("/viewer",), viewer_room(viewer_id), "mine", payload))

    def to_room(self, namespaces: tuple[str, ...], room: str, name: str, payload: Any) -> None:
        self._queue.put_nowait((namespaces, room, name, payload))

    async def run(self) -> None:
        cork = getattr(self.sockets.eio, "cork", None)
        one_encoding = getattr(self.sockets.manager, "one_encoding", None)
        while True:
            namespaces, room, name, payload = await self._queue.get()
            if cork is not None and not self._queue.empty():
                cork()  # a burst: each client gets all of its share in one write
            shared = len(namespaces) > 1 and one_encoding is not None
            with one_encoding(payload) if shared else contextlib.nullcontext():
                for namespace in namespaces:
                    try:
                        await self.sockets.emit(name, payload, room=room, namespace=namespace)
                    except Exception:  # one failed emit must not stop the others
                        log.exception("emit %s to %s%s failed", name, namespace, room)
            self._queue.task_done()

    async def drain(self) -> None:
        """Wait until everything queued so far has been emitted."""
        await self._queue.join()
