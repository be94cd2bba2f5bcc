"""Socket.IO events from direct websockets, dispatched without the stock per-message layers.

A frame that reaches python-socketio's handler the stock way passes through an engine.io
packet, engine.io's receive and its event trigger (a closure made per message), a
Socket.IO packet, two more dispatch steps and a task made by `ensure_future`; its answer
through a Socket.IO packet, an engine.io packet, `send` and a ping-timeout check. Skipping
them took a `heartbeat` round trip from 77–84 µs of server CPU to 61–72 on the benchmark
machine (docs/benchmarks.md).

Here a text frame holding a plain event (engine.io MESSAGE "4", Socket.IO EVENT "2") for a
namespace with a registered class is parsed once and handed to that namespace's
`trigger_event` in a task of its own, as python-socketio does with `async_handlers`; the
answer is written to the client's transport, as every direct write is. Anything else
(binary events, acks from the client, connects, a namespace with a query string, an event
from a client not connected to the namespace, an event named like the server's own, text
that is not a JSON list) is left to the stock path, which answers it as it always has.

This leans on python-socketio 5.18's dispatch (pinned in pyproject.toml):
`tests/unit/test_fanout_internals.py` fails if the stock steps this replaces move.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

from socketio import packet as sio_packet

from server.realtime.direct_sockets import websocket_frame

if TYPE_CHECKING:
    import socketio

    from server.realtime.direct_sockets import DirectSocket

log = logging.getLogger(__name__)

# "42", then "/namespace," unless it is "/", then the ack id's digits if an answer is wanted.
EVENT_HEADER = re.compile(r"42(?:(/[^,?]*),)?(\d*)")
MAX_ACK_ID_DIGITS = 100  # as python-socketio's packet decoder


class FastEvents:
    """Takes plain events off a direct websocket's receive loop (see the module docstring)."""

    def __init__(self, server: socketio.AsyncServer, reserved: frozenset[str]) -> None:
        self.server = server
        self.reserved = reserved
        self.loads = server.packet_class.json.loads
        self._tasks: set[asyncio.Task] = set()
        self.dispatched = 0  # events taken here (for tests)

    def __call__(self, socket: DirectSocket, frame: str) -> bool:
        """Dispatch `frame` when it is a plain event; False leaves it to the stock path."""
        header = EVENT_HEADER.match(frame)
        if header is None:
            return False
        namespace = header.group(1) or "/"
        handler = self.server.namespace_handlers.get(namespace)
        if handler is None or namespace in self.server.handlers:
            return False
        try:
            args = self.loads(frame[header.end() :])
        except ValueError:
            return False
        if type(args) is not list or not args or type(args[0]) is not str:
            return False
        if args[0] in self.reserved:  # the stock path drops these (server/realtime/fanout.py)
            return False
        manager = self.server.manager
        sid = manager.sid_from_eio_sid(socket.sid, namespace)
        if sid is None or not manager.is_connected(sid, namespace):
            return False
        digits = header.group(2)
        if len(digits) > MAX_ACK_ID_DIGITS:
            return False  # the stock path refuses it
        ack_id = int(digits) if digits else None
        task = asyncio.get_running_loop().create_task(
            self._handle(socket, handler, sid, namespace, ack_id, args)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self.dispatched += 1
        return True

    async def _handle(
        self,
        socket: DirectSocket,
        handler: socketio.AsyncNamespace,
        sid: str,
        namespace: str,
        ack_id: int | None,
        args: list[Any],
    ) -> None:
        try:
            result = await handler.trigger_event(args[0], sid, *args[1:])
        except Exception:  # the stock task would end the same way, with its error logged
            log.exception("%s %s failed", namespace, args[0])
            return
        if ack_id is None or result is self.server.not_handled:
            return
        data = [] if result is None else list(result) if isinstance(result, tuple) else [result]
        answer = self.server.packet_class(sio_packet.ACK, data, namespace, ack_id)
        encoded = answer.encode()
        if isinstance(encoded, list):  # binary attachments: the stock way sends them
            await self.server._send_packet(socket.sid, answer)
        else:
            socket.write_frame(websocket_frame("4" + encoded))
