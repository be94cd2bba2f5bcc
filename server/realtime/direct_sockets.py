"""Direct websocket writes: once a client's websocket is open, it is written in place.

Stock python-socketio sends each delivery through engine.io's per-socket queue and writer
task (40-116 µs of CPU each, much of it scheduling and garbage). Here, once a client's
websocket is open, *everything* sent to it (broadcasts, direct emits, acks, engine.io pings
and close packets) is written synchronously to its transport, so it arrives in the order the
server produced it. A client whose unsent bytes pass `socket_write_buffer_max_bytes` is
dropped; it reconnects and resyncs with `sync {since}`. Long-polling clients, and clients
still upgrading, keep the stock path. Broadcasts to these sockets are written by the
fan-out manager (server/realtime/fanout.py), one shared frame for every recipient.

This leans on internals of python-engineio 4.15 (pinned in pyproject.toml;
tests/unit/test_fanout_internals.py fails if they move):
- engine.io builds its sockets itself (no factory), so a socket becomes a `DirectSocket`
  (a subclass) when its websocket opens, found through the bound handler it passes;
- the engine.io websocket writer task takes its packets from `AsyncSocket.poll()`.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable
from typing import Any

import engineio
from aiohttp import web
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from engineio.async_drivers import aiohttp as eio_aiohttp
from engineio.async_socket import AsyncSocket

from server.realtime.lean_queue import LeanQueue

log = logging.getLogger(__name__)


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

    held: list[bytes] | None = None  # frames written while the engine is corked

    def attach(self, transport: asyncio.Transport) -> None:
        self.transport = transport

    def write_frame(self, frame: bytes) -> None:
        if self.server.corked:
            self.hold(frame)
            return
        transport = self.transport
        if self.closed or transport is None or transport.is_closing():
            return
        transport.write(frame)
        if transport.get_write_buffer_size() > self.server.write_buffer_max_bytes:
            self.server.drop_slow_consumer(self)

    def hold(self, frame: bytes) -> None:
        """Keep `frame` for the engine's uncork, after any frame held before it."""
        self.server.held_frames += 1
        if self.held is None:
            self.held = [frame]
            self.server.holding.append(self)
        else:
            self.held.append(frame)

    def release(self) -> None:
        """Write the frames held, in one write."""
        frames, self.held = self.held, None
        if frames:
            self.server.held_writes += 1
            self.write_frame(frames[0] if len(frames) == 1 else b"".join(frames))

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
        client for the stock receive timeout; plain events go to `fast_events`. Otherwise as
        stock: any end of the websocket (or a cancel) ends the loop, then the websocket is
        closed and the socket with it."""
        if self.connected:
            await super()._websocket_handler(ws)
            return
        self.connected = self.upgraded = True
        self.go_direct()
        loop = asyncio.get_running_loop()
        self.heard_at = loop.time()
        self.silence_timer = loop.call_later(self.silence_limit(), self.check_silence)
        biggest = self.server.max_http_buffer_size
        fast_events = self.server.fast_events
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
                    if (
                        fast_events is not None
                        and type(data) is str
                        and data.startswith("42")
                        and fast_events(self, data)
                    ):
                        continue
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
        self.corked = False
        # Set by the Socket.IO server: takes plain events off the lean receive loop.
        self.fast_events: Callable[[DirectSocket, str], bool] | None = None
        self.holding: list[DirectSocket] = []  # sockets with frames held while corked
        self.held_frames = self.held_writes = 0  # frames held, and the writes that sent them

    def cork(self) -> None:
        """Hold every direct write until the event loop's next turn, then write each client's
        frames in one write: a burst (a batch of questions committed together: its staff
        updates, each author's `mine` push and answer) costs each client one send() rather
        than one per frame. Order is kept: while corked, every write to a client is held."""
        if not self.corked:
            self.corked = True
            asyncio.get_running_loop().call_soon(self.uncork)

    def uncork(self) -> None:
        self.corked = False
        holding, self.holding = self.holding, []
        for socket in holding:
            socket.release()

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
    if getattr(engine, "corked", False):
        engine.uncork()  # what was written before the hang-up goes before the close frame
    hung_up = set()
    for sid, socket in engine.sockets.items():
        transport = socket.transport if type(socket) is DirectSocket else None
        if transport is not None and not transport.is_closing():
            transport.write(GOING_AWAY_FRAME)
            transport.close()
            hung_up.add(sid)
    return hung_up
