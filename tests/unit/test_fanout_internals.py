"""The python-socketio / python-engineio internals server/realtime/fanout.py and
direct_sockets.py rely on.

If one of these fails after an upgrade, the fast path may silently stop being taken (or
break ordering): read the new sources, adapt those modules, then move the pins in pyproject.toml.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

import engineio
import socketio
from engineio.async_drivers import aiohttp as eio_aiohttp
from engineio.async_socket import AsyncSocket
from socketio.async_pubsub_manager import AsyncPubSubManager

from server.realtime.direct_sockets import DirectEngineServer, DirectSocket, DirectWebSocket
from server.realtime.fanout import FanoutManager, FastSocketServer, RedisFanoutManager


def source(function) -> str:
    return inspect.getsource(function)


def test_the_installed_versions_are_the_pinned_ones():
    assert version("python-socketio").startswith("5.18.")
    assert version("python-engineio").startswith("4.15.")


def test_engineio_opens_websockets_through_its_driver_table_with_the_sockets_bound_handler():
    upgrade = source(AsyncSocket._upgrade_websocket)
    assert "self.server._async['websocket'](" in upgrade
    assert "self._websocket_handler, self.server)" in upgrade
    assert eio_aiohttp._async["websocket"] is eio_aiohttp.WebSocket
    assert issubclass(DirectWebSocket, eio_aiohttp.WebSocket)
    assert "def __init__(self, handler, server)" in source(eio_aiohttp.WebSocket)


def test_engineio_makes_plain_sockets_itself_so_they_are_made_direct_later():
    assert "async_socket.AsyncSocket(self, sid)" in source(engineio.AsyncServer._handle_connect)
    assert DirectSocket.__bases__ == (AsyncSocket,)
    assert "__slots__" not in vars(AsyncSocket)  # so an instance may change class


def test_the_websocket_writer_task_takes_its_packets_from_poll_and_stops_on_an_empty_list():
    handler = source(AsyncSocket._websocket_handler)
    assert "packets = await self.poll()" in handler
    assert "if not packets:" in handler
    assert "await self.queue.put(None)" in handler
    assert "self.upgraded = True" in handler


def test_every_packet_for_a_socket_goes_through_its_send():
    assert "await socket.send(pkt)" in source(engineio.AsyncServer.send_packet)
    for method in (AsyncSocket.close, AsyncSocket._send_ping, AsyncSocket.receive):
        assert "await self.send(packet.Packet(" in source(method)
    assert "await self.eio.send(" in source(socketio.AsyncServer._send_packet)
    assert "self.eio.send_packet(eio_sid, eio_pkt)" in source(socketio.AsyncServer._send_eio_packet)


def test_socketio_builds_its_engineio_server_from_an_overridable_class():
    assert "self.eio = self._engineio_server_class()(**engineio_options)" in source(
        socketio.base_server.BaseServer.__init__
    )
    assert FastSocketServer._engineio_server_class(None) is DirectEngineServer
    assert "def _get_socket(self, sid)" in source(engineio.base_server.BaseServer)


def test_redis_emits_are_delivered_locally_through_the_fast_manager():
    assert "await super().emit(" in source(AsyncPubSubManager._handle_emit)
    mro = RedisFanoutManager.__mro__
    assert mro.index(AsyncPubSubManager) < mro.index(FanoutManager)
    assert mro.index(FanoutManager) < mro.index(socketio.AsyncManager)
    assert super(AsyncPubSubManager, RedisFanoutManager).emit is FanoutManager.emit


def test_participants_are_sid_and_engineio_sid_pairs():
    manager = socketio.AsyncManager()
    manager.basic_enter_room("sid", "/", None, eio_sid="eio")
    manager.basic_enter_room("sid", "/", "room")
    assert list(manager.get_participants("/", "room")) == [("sid", "eio")]


def test_the_stock_websocket_loop_is_what_the_lean_one_replaces():
    handler = source(AsyncSocket._websocket_handler)
    # A fresh websocket (not an upgrade from polling) is told apart by `connected`...
    assert "if self.connected:" in handler
    assert "self.connected = True\n            self.upgraded = True" in handler
    # ...and each receive waits at most one ping cycle, then the socket closes this way.
    assert "self.server.ping_interval + self.server.ping_timeout)" in handler
    assert "reason=self.server.reason.TRANSPORT_CLOSE)" in handler
    assert "self.server.max_http_buffer_size" in handler


def test_socketio_packets_come_from_the_serializer_class_and_are_encoded_once_made():
    init = source(socketio.base_server.BaseServer.__init__)
    assert "self.packet_class = serializer" in init
    assert "binary is None and self.data_is_binary(" in source(socketio.packet.Packet.__init__)
    assert "self.json.dumps(data, separators=(',', ':'))" in source(socketio.packet.Packet.encode)


def test_the_stock_event_dispatch_is_what_the_fast_events_replace():
    """server/realtime/fast_events.py does these steps itself for a plain event."""
    assert "self.server._trigger_event(\n                'message', self.sid, pkt.data," in (
        source(AsyncSocket.receive)
    )
    incoming = source(socketio.AsyncServer._handle_eio_message)
    assert "await self._handle_event(eio_sid, pkt.namespace, pkt.id," in incoming
    event = source(socketio.AsyncServer._handle_event)
    assert "sid = self.manager.sid_from_eio_sid(eio_sid, namespace)" in event
    assert "if not self.manager.is_connected(sid, namespace):" in event
    assert "self._handle_event_internal, self, sid, eio_sid, data," in event
    internal = source(socketio.AsyncServer._handle_event_internal)
    assert "await server._trigger_event(data[0], namespace, sid, *data[1:])" in internal
    assert "if r != self.not_handled and id is not None:" in internal
    assert "packet.ACK, namespace=namespace, id=id, data=data))" in internal
    trigger = source(socketio.AsyncServer._trigger_event)
    assert "self._get_event_handler(event, namespace, args)" in trigger  # `on` handlers first
    assert "await handler.trigger_event(event, *args)" in trigger
    decode = source(socketio.packet.Packet.decode)
    assert "q = self.namespace.find('?')" in decode  # a query string: left to the stock path
    assert "i >= 100" in decode  # so is an ack id of over 100 digits
