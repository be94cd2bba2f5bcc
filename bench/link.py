"""One load-generator connection: a Socket.IO client over websocket on a bare asyncio Protocol.

The HTTP upgrade is written by hand, frames are parsed just enough to find packets, Engine.IO
pings are answered, and the swarm's watched event is only timestamped and counted by its
`seq`, never decoded (`bench.loadgen.Swarm` holds a process's links).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.loadgen import Swarm

SEQ = re.compile(rb'"seq":(\d+)')
ACK_ID = re.compile(rb"(\d+)")
OK = b'"ok":true'
# A client frame must be masked; a zero key makes masking the identity, so nothing is copied.
ZERO_MASK = b"\0\0\0\0"
CONNECTING, UPGRADING, OPEN, CLOSED = range(4)


def client_frame(payload: bytes) -> bytes:
    """One masked text frame (FIN set) carrying `payload`."""
    size = len(payload)
    if size < 126:
        header = bytes((0x81, 0x80 | size))
    elif size < 65536:
        header = bytes((0x81, 0xFE)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 0xFF)) + size.to_bytes(8, "big")
    return header + ZERO_MASK + payload


PONG = client_frame(b"3")


class Link(asyncio.Protocol):
    """One Socket.IO client connected to one namespace."""

    def __init__(self, swarm: Swarm, auth: bytes) -> None:
        self.swarm = swarm
        self.auth = auth
        self.transport: asyncio.Transport | None = None
        self.state = CONNECTING
        self.pending = b""
        self.acks: dict[int, Callable[[bytes, int], None]] = {}
        self.next_ack = 0
        self.last_seq: int | None = None
        self.synced = False
        self.joined: asyncio.Future[None] = swarm.loop.create_future()
        self.lost: asyncio.Future[None] = swarm.loop.create_future()

    # --- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.state = UPGRADING
        transport.write(self.swarm.upgrade_request)  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        self.state = CLOSED
        self._settle(self.joined, ConnectionError(f"connection lost: {exc}"))
        if not self.lost.done():
            self.lost.set_result(None)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        if self.pending:
            data = self.pending + data
            self.pending = b""
        position = 0
        if self.state == UPGRADING:
            end = data.find(b"\r\n\r\n")
            if end < 0:
                self.pending = data
                return
            if not data.startswith(b"HTTP/1.1 101"):
                status = data[: data.find(b"\r\n")].decode(errors="replace")
                self._fail(ConnectionError(f"upgrade refused: {status}"))
                return
            self.state = OPEN
            position = end + 4
        size = len(data)
        while size - position >= 2:
            length = data[position + 1] & 0x7F
            start = position + 2
            if length == 126:
                start = position + 4
                length = int.from_bytes(data[position + 2 : start], "big")
            elif length == 127:
                start = position + 10
                length = int.from_bytes(data[position + 2 : start], "big")
            stop = start + length
            if stop > size:
                break
            opcode = data[position] & 0x0F
            if opcode == 1:
                self._packet(data[start:stop], now)
            elif opcode == 9:  # a websocket ping: answer with a pong carrying the same bytes
                self.transport.write(bytes((0x8A, 0x80 | length)) + ZERO_MASK + data[start:stop])
            elif opcode == 8:
                self.transport.close()
                return
            position = stop
        if position < size:
            self.pending = data[position:]

    # --- packets ----------------------------------------------------------------------------

    def _packet(self, packet: bytes, now: int) -> None:
        swarm = self.swarm
        kind = packet[0]
        if kind == 0x34:  # "4": a Socket.IO packet
            if packet.startswith(swarm.watched_prefix):
                found = SEQ.match(packet, len(swarm.watched_prefix))
                if found:
                    self.last_seq = int(found.group(1))
                    swarm.received(self.last_seq, now)
                return
            body = packet[swarm.namespace_offset :]
            kind = packet[1]
            if kind == 0x33:  # "3": an ack
                digits = ACK_ID.match(body)
                if digits:
                    callback = self.acks.pop(int(digits.group(1)), None)
                    if callback:
                        callback(body[digits.end() :], now)
            elif kind == 0x30:  # "0": the namespace accepted us
                self._settle(self.joined, None)
            elif kind == 0x34:  # "4": the namespace refused us
                self._fail(ConnectionRefusedError(body.decode(errors="replace")))
            elif kind == 0x31:  # "1": the server dropped us from the namespace
                self.transport.close()
        elif kind == 0x32:  # "2": Engine.IO ping
            self.transport.write(PONG)
        elif kind == 0x30:  # "0": Engine.IO open; now join the namespace
            self.transport.write(client_frame(b"40" + swarm.namespace_comma + self.auth))
        elif kind == 0x31:  # "1": Engine.IO close
            self.transport.close()

    def emit(self, name: str, payload: Any, on_ack: Callable[[bytes, int], None]) -> None:
        """Send event `name` with an ack id; `on_ack(raw_json_array, receive_ns)` on reply."""
        self.next_ack += 1
        self.acks[self.next_ack] = on_ack
        body = json.dumps([name, payload], separators=(",", ":")).encode()
        packet = b"42" + self.swarm.namespace_comma + str(self.next_ack).encode() + body
        self.transport.write(client_frame(packet))

    async def call(self, name: str, payload: Any, timeout: float = 30) -> tuple[bytes, int]:
        """Emit and wait for the ack: (raw JSON array, receive time in ns)."""
        future = self.swarm.loop.create_future()
        self.emit(name, payload, lambda raw, now: self._settle(future, (raw, now)))
        return await asyncio.wait_for(future, timeout)

    def close(self) -> None:
        if self.transport is not None and self.state != CLOSED:
            self.transport.close()

    def _fail(self, error: Exception) -> None:
        self._settle(self.joined, error)
        self.transport.close()

    @staticmethod
    def _settle(future: asyncio.Future, outcome: Any) -> None:
        if future.done():
            return
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
            future.exception()  # retrieved here: a refused join is reported, not logged
        else:
            future.set_result(outcome)
