"""Socket.IO packets told apart from binary ones by encoding them first encode as stock does."""

from __future__ import annotations

import pytest
from socketio import packet

from server.realtime.fanout import FastSocketServer
from server.realtime.packets import JsonFirstPacket

CASES = [
    (
        packet.EVENT,
        ["update", {"seq": 3, "entries": [{"a": [1, 2.5, None, True]}]}],
        "/viewer",
        None,
    ),
    (packet.ACK, [], "/viewer", 0),
    (packet.EVENT, ["x"], None, None),
    (packet.EVENT, ["x", {1: "integer keys"}], "/", None),
    (packet.EVENT, ["x", {"big": 2**70, "nan": float("nan")}], "/viewer", None),
    (packet.CONNECT, {"sid": "abc"}, "/viewer", None),
    (packet.CONNECT, None, "/viewer", None),
    (packet.EVENT, ["x", b"\x00\x01"], "/viewer", None),  # binary: attachments, as stock
    (packet.ACK, [{"nested": [b"ab", {"more": bytearray(b"cd")}]}], "/viewer", 4),
]


@pytest.mark.parametrize(("kind", "data", "namespace", "ack_id"), CASES)
def test_encodes_exactly_as_python_socketio(kind, data, namespace, ack_id):
    ours = JsonFirstPacket(kind, data=data, namespace=namespace, id=ack_id)
    stock = packet.Packet(kind, data=data, namespace=namespace, id=ack_id)
    assert ours.packet_type == stock.packet_type
    assert ours.encode() == stock.encode()


@pytest.mark.parametrize(
    "encoded",
    [
        '2/viewer,5["sync",{"since":3}]',
        '0/viewer,{"token":"t"}',
        "1/viewer,",
        '3/viewer,7[{"ok":true}]',
        '2/viewer,8["vote",{"question_id":123456789012345678901234567890}]',  # an int, as stock
        '2/viewer,9["submit_question",{"text":"\\ud800 alone","n":NaN}]',  # read as stock reads
        '2/viewer,["x",{"é":"ü","n":-1.5e3}]',
    ],
)
def test_decodes_exactly_as_python_socketio(encoded):
    assert vars(JsonFirstPacket(encoded_packet=encoded)) == vars(
        packet.Packet(encoded_packet=encoded)
    )


def test_text_beyond_ascii_is_the_same_json_written_as_utf8():
    data = [{"ok": True, "data": {"é": "ü", "question": "Où est la salle 2 ?"}}]
    ours = JsonFirstPacket(packet.ACK, data=data, namespace="/viewer", id=12).encode()
    stock = packet.Packet(packet.ACK, data=data, namespace="/viewer", id=12).encode()
    assert ours == '3/viewer,12[{"ok":true,"data":{"é":"ü","question":"Où est la salle 2 ?"}}]'
    assert vars(packet.Packet(encoded_packet=ours)) == vars(packet.Packet(encoded_packet=stock))


def test_the_client_manager_reads_redis_messages_as_stock_does():
    message = b'{"method":"emit","event":"update","data":{"seq":3,"q":"\\u00e9"}}'
    assert FastSocketServer().manager.json.loads(message) == packet.Packet.json.loads(message)


def test_what_stock_refuses_to_read_is_refused():
    too_long = "2/viewer,[" + "9" * 101 + "]"
    for make in (JsonFirstPacket, packet.Packet):
        with pytest.raises(ValueError):
            make(encoded_packet=too_long)
        with pytest.raises(ValueError):
            make(encoded_packet='2/viewer,["x",')


def test_what_json_cannot_hold_fails_as_stock_does():
    for make in (JsonFirstPacket, packet.Packet):
        with pytest.raises(TypeError):
            make(packet.EVENT, data=["x", {b"bytes key": 1}]).encode()


def test_the_fast_server_uses_it():
    assert FastSocketServer().packet_class is JsonFirstPacket
