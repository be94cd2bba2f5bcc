"""Fast fan-out: a broadcast is encoded once and its WebSocket frame written to every recipient.

Recipients whose websocket is open are written directly (server/realtime/direct_sockets.py
says why, and which engine.io internals that leans on); long-polling clients, and clients
still upgrading, get the stock engine.io queue.

This leans on internals of python-socketio 5.18 (pinned in pyproject.toml;
tests/unit/test_fanout_internals.py fails if they move):
- `AsyncPubSubManager._handle_emit` delivers through `super().emit`, which the MRO of
  `RedisFanoutManager` resolves to `FanoutManager.emit`, so Redis emits take the fast path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

import engineio
import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from server import stopping
from server.realtime.direct_sockets import DirectEngineServer, DirectSocket, websocket_frame
from server.realtime.fast_events import FastEvents
from server.realtime.packets import JsonFirstPacket
from server.realtime.redis_outbox import PipelinedPublishing
from server.settings import Settings

log = logging.getLogger(__name__)

Listener = Callable[[str, "str | list[str] | None", str, Any], None]
# A room's recipients: (direct websockets with their transports, other clients' engine.io
# ids, the engine's direct_generation when the lists were made).
Recipients = tuple[list[tuple["DirectSocket", asyncio.Transport]], list[str], int]
# Smaller rooms (one client's own room, a viewer's devices) are listed afresh each time:
# cheap, and nothing is kept for rooms nobody will enter again.
CACHED_ROOM_MIN_MEMBERS = 16
# While the engine is corked, rooms up to this size have their frames held for one write per
# client; a bigger room (the viewers) is written at once: holding costs each recipient more
# than the send() it might save, and a broadcast to thousands should not wait a turn.
CORKED_ROOM_MAX_MEMBERS = 64
# Event names python-socketio uses for the server's own calls to a namespace's handlers.
RESERVED_EVENTS = frozenset({"connect", "disconnect"})


class FastSocketServer(socketio.AsyncServer):
    """A Socket.IO server whose engine.io writes websockets directly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("serializer", JsonFirstPacket)
        super().__init__(*args, **kwargs)
        if self.async_handlers:  # the fast path runs each event in a task, as these do
            self.eio.fast_events = FastEvents(self, RESERVED_EVENTS)

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return DirectEngineServer

    async def _handle_event(self, eio_sid: str, namespace: str, ack_id: Any, data: Any) -> None:
        """A client's event named like the server's own (`connect`, `disconnect`) would call
        that handler for its socket (python-socketio does not tell them apart): dropped."""
        event = data[0] if isinstance(data, list) and data else None
        if isinstance(event, str) and event in RESERVED_EVENTS:
            log.info("dropped a client's %r event on %s", event, namespace)
            return
        await super()._handle_event(eio_sid, namespace, ack_id, data)


class FanoutManager(socketio.AsyncManager):
    """Delivers each emit by writing one shared frame to every direct websocket recipient."""

    def __init__(self) -> None:
        super().__init__()
        self._listeners: list[Listener] = []
        self._rooms_of: dict[tuple[str, str], dict[Any, None]] = {}
        self._recipients: dict[tuple[str, Any], Recipients] = {}
        self.direct_deliveries = 0
        self.queued_deliveries = 0
        self.corked_room_max_members = CORKED_ROOM_MAX_MEMBERS
        # (event, payload, its JSON once encoded) while `one_encoding(payload)` lasts.
        self._shared: tuple[str | None, Any, str] | None = None

    # python-socketio finds a client's rooms by testing every room of the namespace, one
    # per client at least: a storm of n disconnects costs n² steps (seconds at 10,000).
    # Each client's rooms are kept here too, so leaving them all costs only their number.

    def basic_enter_room(self, sid: str, namespace: str, room: Any, eio_sid: Any = None) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        self._rooms_of.setdefault((namespace, sid), {})[room] = None
        self._recipients.pop((namespace, room), None)

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)
        self._recipients.pop((namespace, room), None)
        rooms = self._rooms_of.get((namespace, sid))
        if rooms is not None:
            rooms.pop(room, None)
            if not rooms:
                del self._rooms_of[(namespace, sid)]

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        """python-socketio's, with the client's rooms looked up rather than searched for."""
        if namespace not in self.rooms:
            return
        for room in list(self._rooms_of.get((namespace, sid), ())):
            self.basic_leave_room(sid, namespace, room)
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            if sid in pending.get(namespace, ()):
                pending[namespace].remove(sid)
                if not pending[namespace]:
                    del pending[namespace]

    def get_rooms(self, sid: str, namespace: str) -> list[Any]:
        return [room for room in self._rooms_of.get((namespace, sid), ()) if room is not None]

    def add_listener(self, callback: Listener) -> None:
        """Call `callback(namespace, room, event, data)` for every emit delivered in this
        process (local ones and those from Redis), before it is delivered."""
        self._listeners.append(callback)

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        room = to or room
        for listener in self._listeners:
            try:
                listener(namespace, room, event, data)
            except Exception:  # a listener's fault must not keep the push from clients
                log.exception("fan-out listener failed on %s to %s%s", event, namespace, room)
        if callback is None and namespace in self.rooms:
            engine = self.server.eio
            direct, queued, _ = self._recipients_of(namespace, room, skip_sid, engine)
            if not direct and not queued:
                return  # nobody here to tell (a staff room with no chair connected, ...)
            encoded = self._encode(event, data, namespace)
            if encoded is not None:
                await self._deliver(encoded, engine, direct, queued)
                return
        await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback)

    @contextlib.contextmanager
    def one_encoding(self, data: Any) -> Iterator[None]:
        """Emits of `data` meanwhile (the same payload to each namespace of a stream) share
        one JSON encoding: only the namespace differs between their packets."""
        self._shared = (None, data, "")
        try:
            yield
        finally:
            self._shared = None

    def _encode(self, event: str, data: Any, namespace: str) -> eio_packet.Packet | None:
        """The engine.io packet for this emit, or None when it needs several (binary)."""
        shared = self._shared
        if shared is not None and shared[0] == event and shared[1] is data and shared[2]:
            json_data = shared[2]
        else:
            args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
            packet = self.server.packet_class(sio_packet.EVENT, data=[event, *args])
            json_data = getattr(packet, "json_data", None)
            if json_data is None:
                return None  # binary, or a serializer without a JSON text: the stock way
            if shared is not None and shared[1] is data:
                self._shared = (event, data, json_data)
        prefix = "2" if namespace == "/" else "2" + namespace + ","
        return eio_packet.Packet(eio_packet.MESSAGE, prefix + json_data)

    async def _deliver(
        self,
        pkt: eio_packet.Packet,
        engine: Any,
        direct: list[tuple[DirectSocket, asyncio.Transport]],
        queued: list[str],
    ) -> None:
        frame = websocket_frame(pkt.encode())
        if getattr(engine, "corked", False) and len(direct) <= self.corked_room_max_members:
            for socket, transport in direct:
                if not (socket.closed or transport.is_closing()):
                    socket.hold(frame)
        else:
            self._write_to_all(frame, engine, direct)
        self.direct_deliveries += len(direct)
        self.queued_deliveries += len(queued)
        for eio_sid in queued:  # a queue put each: no task, no wait
            await self.server._send_eio_packet(eio_sid, pkt)

    @staticmethod
    def _write_to_all(
        frame: bytes, engine: Any, direct: list[tuple[DirectSocket, asyncio.Transport]]
    ) -> None:
        # The hot loop: ~0.5 µs of Python per recipient around the send() itself. A client
        # with frames held (the engine is corked) gets this one after them.
        cap = engine.write_buffer_max_bytes
        slow = []
        for socket, transport in direct:
            if socket.closed or transport.is_closing():
                continue
            if socket.held is not None:
                socket.hold(frame)
                continue
            transport.write(frame)
            if transport.get_write_buffer_size() > cap:
                slow.append(socket)
        for socket in slow:
            engine.drop_slow_consumer(socket)

    def _recipients_of(self, namespace: str, room: Any, skip_sid: Any, engine: Any) -> Recipients:
        """The room's direct websockets (with their transports) and its other clients'
        engine.io ids. A big room's lists are kept until someone enters or leaves it or a
        socket goes direct, so a broadcast does no lookup per recipient."""
        generation = getattr(engine, "direct_generation", 0)
        key = (namespace, room) if skip_sid is None and isinstance(room, str | None) else None
        cached = self._recipients.get(key) if key is not None else None
        if cached is not None and cached[2] == generation:
            return cached
        skip = skip_sid if isinstance(skip_sid, list) else (skip_sid,)
        sockets = engine.sockets
        direct: list[tuple[DirectSocket, asyncio.Transport]] = []
        queued: list[str] = []
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skip:
                continue
            socket = sockets.get(eio_sid)
            if type(socket) is DirectSocket and socket.direct:
                direct.append((socket, socket.transport))
            elif socket is not None:
                queued.append(eio_sid)
        found = (direct, queued, generation)
        if key is not None and len(direct) + len(queued) >= CACHED_ROOM_MIN_MEMBERS:
            self._recipients[key] = found
        return found


class RedisFanoutManager(PipelinedPublishing, socketio.AsyncRedisManager, FanoutManager):
    """python-socketio's Redis manager, delivering locally through the fast path and
    publishing through an outbox (server/realtime/redis_outbox.py)."""

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        room = to or room
        namespace = namespace or "/"
        if callback is None and isinstance(room, str) and self.is_sid_room(namespace, room):
            # An answer to one client of this process: no other process has that client.
            await FanoutManager.emit(self, event, data, namespace, room=room, skip_sid=skip_sid)
            return
        await super().emit(
            event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs
        )

    async def close(self) -> None:
        """Publish what is still in the outbox, stop listening to Redis and close its
        connections."""
        await self.flush_outbox()
        listening = getattr(self, "thread", None)
        if listening is not None:
            await stopping.cancel_until_done(listening)  # it waits in redis-py
        if self.redis is not None:
            await self.pubsub.aclose()
            await self.redis.aclose()
            self.connected = False


def make_client_manager(settings: Settings) -> FanoutManager:
    """In-process delivery, or Redis-shared between workers when `redis_url` is set."""
    if settings.redis_url:
        return RedisFanoutManager(settings.redis_url, channel=settings.redis_channel)
    return FanoutManager()


async def start_client_manager(sockets: socketio.AsyncServer) -> None:
    """Listen to Redis from start-up, not from the first connection (python-socketio's
    default), so listeners see every emit even before anyone connects."""
    if not sockets.manager_initialized:
        sockets.manager_initialized = True
        sockets.manager.initialize()


async def stop_client_manager(sockets: socketio.AsyncServer) -> None:
    if isinstance(sockets.manager, RedisFanoutManager):
        await sockets.manager.close()
