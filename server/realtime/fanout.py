"""Fast fan-out: a broadcast is encoded once and its WebSocket frame written to every recipient.

Stock python-socketio sends each delivery through engine.io's per-socket queue and writer
task (40-116 µs of CPU each, much of it scheduling and garbage). Here, once a client's
websocket is open, *everything* sent to it (broadcasts, direct emits, acks, engine.io pings
and close packets) is written synchronously to its transport, so it arrives in the order the
server produced it. A client whose unsent bytes pass `socket_write_buffer_max_bytes` is
dropped; it reconnects and resyncs with `sync {since}`. Long-polling clients, and clients
still upgrading, keep the stock path.

This leans on internals of python-engineio 4.15 and python-socketio 5.18 (pinned in
pyproject.toml; tests/unit/test_fanout_internals.py fails if they move):
- engine.io builds its sockets itself (no factory), so a socket becomes a `DirectSocket`
  (a subclass) when its websocket opens, found through the bound handler it passes;
- the engine.io websocket writer task takes its packets from `AsyncSocket.poll()`;
- `AsyncPubSubManager._handle_emit` delivers through `super().emit`, which the MRO of
  `RedisFanoutManager` resolves to `FanoutManager.emit`, so Redis emits take the fast path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Callable
from typing import Any

import engineio
import socketio
from aiohttp import web
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from engineio.async_drivers import aiohttp as eio_aiohttp
from engineio.async_socket import AsyncSocket
from socketio import packet as sio_packet

from server.realtime.lean_queue import LeanQueue
from server.realtime.packets import JsonFirstPacket
from server.settings import Settings

log = logging.getLogger(__name__)

Listener = Callable[[str, "str | list[str] | None", str, Any], None]
# A room's recipients: (direct websockets with their transports, other clients' engine.io
# ids, the engine's direct_generation when the lists were made).
Recipients = tuple[list[tuple["DirectSocket", asyncio.Transport]], list[str], int]
# Smaller rooms (one client's own room, a viewer's devices) are listed afresh each time:
# cheap, and nothing is kept for rooms nobody will enter again.
CACHED_ROOM_MIN_MEMBERS = 16


def websocket_frame(encoded: str | bytes) -> bytes:
    """One unmasked, unfragmented server frame: text for str, binary for bytes."""
    if isinstance(encoded, str):
        payload, first = encoded.encode(), 0x81
    else:
        payload, first = encoded, 0x82
    size = len(payload)
    if size < 126:
        return struct.pack("!BB", first, size) + payload
    if size < 65536:
        return struct.pack("!BBH", first, 126, size) + payload
    return struct.pack("!BBQ", first, 127, size) + payload


class DirectSocket(AsyncSocket):
    """An engine.io socket whose websocket is written directly, never through its queue."""

    transport: asyncio.Transport | None = None
    direct = False  # set once what was queued before the websocket opened has been written
    heard_at = 0.0  # loop time of the last message received (lean loop only)
    silence_timer: asyncio.TimerHandle | None = None

    def attach(self, transport: asyncio.Transport) -> None:
        self.transport = transport

    def write_frame(self, frame: bytes) -> None:
        transport = self.transport
        if self.closed or transport is None or transport.is_closing():
            return
        transport.write(frame)
        if transport.get_write_buffer_size() > self.server.write_buffer_max_bytes:
            self.server.drop_slow_consumer(self)

    async def send(self, pkt: eio_packet.Packet) -> None:
        if not self.direct:
            await super().send(pkt)
        elif await self.check_ping_timeout():
            self.write_frame(websocket_frame(pkt.encode()))

    def go_direct(self) -> bool:
        """Write what was queued before the websocket opened, then write in place from now
        on. False when the queue held the None that stops the writer."""
        self.direct = True
        self.server.direct_generation += 1  # rooms' cached recipient lists are stale
        while not self.queue.empty():
            pkt = self.queue.get_nowait()
            self.queue.task_done()
            if pkt is None:
                return False
            self.write_frame(websocket_frame(pkt.encode()))
        return True

    async def poll(self) -> list[eio_packet.Packet]:
        """The websocket writer task's source (a client upgrading from long-polling): once
        upgraded, go direct, and then only wait for the None that tells the writer to stop."""
        if self.transport is None or not self.upgraded:
            return await super().poll()
        if not self.direct and not self.go_direct():
            return []
        try:
            while (pkt := await self.queue.get()) is not None:
                self.queue.task_done()
                self.write_frame(websocket_frame(pkt.encode()))
        except asyncio.CancelledError:
            raise eio_exceptions.QueueEmpty() from None  # as the stock poll does
        self.queue.task_done()
        return []

    async def _websocket_handler(self, ws: eio_aiohttp.WebSocket) -> None:
        """engine.io's websocket loop, lean for a client that opened its websocket directly
        (an upgrade from long-polling keeps the stock one): no writer task, since everything
        is written in place, and no task and timer per message received, only one timer per
        client for the stock receive timeout. Otherwise as stock: any end of the websocket
        (or a cancel) ends the loop, then the websocket is closed and the socket with it."""
        if self.connected:
            await super()._websocket_handler(ws)
            return
        self.connected = self.upgraded = True
        self.go_direct()
        loop = asyncio.get_running_loop()
        self.heard_at = loop.time()
        self.silence_timer = loop.call_later(self.silence_limit(), self.check_silence)
        biggest = self.server.max_http_buffer_size
        try:
            while True:
                try:
                    data = await ws.wait()
                except (Exception, asyncio.CancelledError):
                    break
                if len(data) > biggest:
                    break
                self.heard_at = loop.time()
                try:
                    await self.receive(eio_packet.Packet(encoded_packet=data))
                except eio_exceptions.UnknownPacketError:
                    pass
                except eio_exceptions.SocketIsClosedError:
                    break
                except asyncio.CancelledError:
                    break
                except Exception:
                    self.server.logger.exception("Unknown receive error")
        finally:
            self.silence_timer.cancel()
        await ws.close()
        await self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)

    def silence_limit(self) -> float:
        return self.server.ping_interval + self.server.ping_timeout

    def check_silence(self) -> None:
        """A client silent for longer than a ping cycle is gone: its transport is cut, which
        ends its receive loop (the stock loop's timeout on each receive)."""
        loop = asyncio.get_running_loop()
        silent = loop.time() - self.heard_at
        if silent < self.silence_limit():
            self.silence_timer = loop.call_later(self.silence_limit() - silent, self.check_silence)
        elif self.transport is not None:
            self.transport.abort()


class DirectWebSocket(eio_aiohttp.WebSocket):
    """engine.io's aiohttp websocket, uncompressed (fan-out frames are shared, and a
    deflate context per client would cost far more memory), with its socket made direct."""

    async def __call__(self, environ: dict[str, Any]) -> web.WebSocketResponse:
        request = environ["aiohttp.request"]
        self._sock = web.WebSocketResponse(
            max_msg_size=self.server.max_http_buffer_size, compress=False
        )
        await self._sock.prepare(request)
        self.environ = environ
        socket = self.handler.__self__
        socket.__class__ = DirectSocket
        socket.attach(request.transport)
        self.handler = socket._websocket_handler  # bound again: now DirectSocket's
        await self.handler(self)
        return self._sock


class DirectEngineServer(engineio.AsyncServer):
    """engine.io with direct websocket writes and a cap on each client's unsent bytes."""

    def __init__(self, *, write_buffer_max_bytes: int = 1 << 20, **options: Any) -> None:
        super().__init__(**options)
        self.write_buffer_max_bytes = write_buffer_max_bytes
        self.dropped_consumers = 0
        self.direct_generation = 0  # counts sockets that went direct
        self._async = {**self._async, "websocket": DirectWebSocket}  # this server only

    def create_queue(self, *args: Any, **kwargs: Any) -> LeanQueue:
        """Each client's queue: a lean one (about 3 KB less per client than asyncio's)."""
        return LeanQueue(*args, **kwargs)

    def drop_slow_consumer(self, socket: DirectSocket) -> None:
        """Cut a client that stopped reading: its buffer is freed at once, and it will
        reconnect and catch up with `sync {since}`."""
        self.dropped_consumers += 1
        log.info(
            "dropped a slow Socket.IO client with %d bytes unsent",
            socket.transport.get_write_buffer_size(),
        )
        socket.transport.abort()


class FastSocketServer(socketio.AsyncServer):
    """A Socket.IO server whose engine.io writes websockets directly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("serializer", JsonFirstPacket)
        super().__init__(*args, **kwargs)

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return DirectEngineServer


class FanoutManager(socketio.AsyncManager):
    """Delivers each emit by writing one shared frame to every direct websocket recipient."""

    def __init__(self) -> None:
        super().__init__()
        self._listeners: list[Listener] = []
        self._rooms_of: dict[tuple[str, str], dict[Any, None]] = {}
        self._recipients: dict[tuple[str, Any], Recipients] = {}
        self.direct_deliveries = 0
        self.queued_deliveries = 0

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
            encoded = self._encode(event, data, namespace)
            if encoded is not None:
                await self._deliver(encoded, namespace, room, skip_sid)
                return
        await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback)

    def _encode(self, event: str, data: Any, namespace: str) -> eio_packet.Packet | None:
        """The engine.io packet for this emit, or None when it needs several (binary)."""
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        encoded = self.server.packet_class(
            sio_packet.EVENT, namespace=namespace, data=[event, *args]
        ).encode()
        if isinstance(encoded, list):
            return None
        return eio_packet.Packet(eio_packet.MESSAGE, encoded)

    async def _deliver(
        self, pkt: eio_packet.Packet, namespace: str, room: Any, skip_sid: Any
    ) -> None:
        frame = websocket_frame(pkt.encode())
        engine = self.server.eio
        direct, queued, _ = self._recipients_of(namespace, room, skip_sid, engine)
        # The hot loop: ~0.5 µs of Python per recipient around the send() itself.
        cap = engine.write_buffer_max_bytes
        slow = []
        for socket, transport in direct:
            if socket.closed or transport.is_closing():
                continue
            transport.write(frame)
            if transport.get_write_buffer_size() > cap:
                slow.append(socket)
        for socket in slow:
            engine.drop_slow_consumer(socket)
        self.direct_deliveries += len(direct)
        self.queued_deliveries += len(queued)
        for eio_sid in queued:  # a queue put each: no task, no wait
            await self.server._send_eio_packet(eio_sid, pkt)

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


class RedisFanoutManager(socketio.AsyncRedisManager, FanoutManager):
    """python-socketio's Redis manager, delivering locally through the fast path."""

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
        """Stop listening to Redis and close its connections."""
        listening = getattr(self, "thread", None)
        if listening is not None:
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listening
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


# WebSocket close, status 1001 (going away): the server is stopping, come back later.
GOING_AWAY_FRAME = struct.pack("!BBH", 0x88, 2, 1001)


def hang_up_websockets(engine: engineio.AsyncServer) -> set[str]:
    """Close every client on a websocket at once, synchronously: a close frame written
    straight to each transport, then the transport closed. Returns their engine.io ids.

    No task, no queue and no engine.io CLOSE packet per client (the stock way, seconds at
    10,000): socket.io clients take the end of the websocket as a cue to reconnect, while
    an engine.io CLOSE would stop python-socketio's from reconnecting. Each socket's own
    handler then sees the end of its websocket and runs the usual disconnect handlers.
    """
    hung_up = set()
    for sid, socket in engine.sockets.items():
        transport = socket.transport if type(socket) is DirectSocket else None
        if transport is not None and not transport.is_closing():
            transport.write(GOING_AWAY_FRAME)
            transport.close()
            hung_up.add(sid)
    return hung_up
