"""WebSocket frames built once per broadcast, read back as RFC 6455 says a client reads them."""

from __future__ import annotations

import struct

import pytest

from server.realtime.direct_sockets import websocket_frame


def read_frame(frame: bytes) -> tuple[bool, int, bytes]:
    """(final, opcode, payload) of one unmasked frame, checking nothing is left over."""
    first, second = frame[0], frame[1]
    assert second & 0x80 == 0, "a server never masks"
    size, offset = second & 0x7F, 2
    if size == 126:
        (size,), offset = struct.unpack("!H", frame[2:4]), 4
    elif size == 127:
        (size,), offset = struct.unpack("!Q", frame[2:10]), 10
    assert len(frame) == offset + size
    return bool(first & 0x80), first & 0x0F, frame[offset:]


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 200_000])
def test_text_frames_of_every_length_encoding_read_back_whole(size):
    text = "4" + "é" * (size // 2) + "x" * (size % 2)
    final, opcode, payload = read_frame(websocket_frame(text))
    assert (final, opcode) == (True, 0x1)
    assert payload.decode() == text


def test_the_shortest_length_encoding_is_used():
    assert len(websocket_frame("x" * 125)) == 2 + 125
    assert len(websocket_frame("x" * 126)) == 4 + 126
    assert len(websocket_frame("x" * 65536)) == 10 + 65536


def test_bytes_become_a_binary_frame():
    assert read_frame(websocket_frame(b"\x00\xff")) == (True, 0x2, b"\x00\xff")
