"""Socket.IO packets for the fast server (see server/realtime/fanout.py and direct_sockets.py)."""

from __future__ import annotations

from typing import Any

from engineio import json as engineio_json
from socketio import packet as sio_packet

from server import json_text


class _PacketJson:
    """The `json` a packet reads and writes with: python-socketio's (engineio's, which
    refuses integers of over 100 digits), read faster by `json_text` with the same result.
    The client manager takes it too, for the Redis messages between workers (bytes)."""

    dumps = staticmethod(engineio_json.dumps)

    @staticmethod
    def loads(text: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or not isinstance(text, str):
            return engineio_json.loads(text, *args, **kwargs)
        return json_text.loads(text, engineio_json.loads)


class JsonFirstPacket(sio_packet.Packet):
    """python-socketio's packet, told apart from a binary one by encoding its data as JSON
    first: JSON cannot hold bytes, so if that works there are none, and the encoding is kept
    for `encode`. The stock test walks the whole data in Python first, about twice the cost
    of the encoding itself (a first `sync` answer is the largest thing a viewer is sent).
    Data that JSON refuses takes the stock way, with the same outcome as stock. The JSON is
    `json_text`'s: text that stock escapes (é as \\u00e9) is written as UTF-8, the same JSON."""

    json = _PacketJson
    json_data: str | None = None

    def __init__(
        self,
        packet_type: int = sio_packet.EVENT,
        data: Any = None,
        namespace: str | None = None,
        id: int | None = None,  # noqa: A002 (python-socketio's name)
        binary: bool | None = None,
        encoded_packet: Any = None,
    ) -> None:
        if binary is None and encoded_packet is None and data is not None:
            try:
                encoded = json_text.dumps(data)
            except TypeError:
                pass  # bytes in it, or something JSON cannot hold: the stock walk decides
            else:
                super().__init__(packet_type, data, namespace, id, binary=False)
                self.json_data = encoded
                return
        super().__init__(packet_type, data, namespace, id, binary, encoded_packet)

    def encode(self) -> str | list[Any]:
        if self.json_data is None:
            return super().encode()
        encoded = str(self.packet_type)
        if self.namespace is not None and self.namespace != "/":
            encoded += self.namespace + ","
        if self.id is not None:
            encoded += str(self.id)
        return encoded + self.json_data
