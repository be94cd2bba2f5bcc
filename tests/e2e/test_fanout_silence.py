"""The lean websocket loop keeps engine.io's receive timeout with one timer per client."""

from __future__ import annotations

import asyncio

import pytest

from server.app_keys import SOCKETS
from server.realtime.direct_sockets import DirectSocket
from tests.e2e.test_fanout import StalledClient

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@sqlite_only
async def test_a_websocket_client_silent_for_a_ping_cycle_is_cut_and_its_socket_closed(podium):
    engine = podium.app[SOCKETS].eio
    silent = await StalledClient.connect(podium, (await podium.viewer("Silent")).token)
    talking = await StalledClient.connect(podium, (await podium.viewer("Talking")).token)
    (silent_socket, talking_socket) = engine.sockets.values()
    assert type(silent_socket) is DirectSocket and silent_socket.direct
    # A short ping cycle, as if both had not been heard from for a whole one.
    engine.ping_interval, engine.ping_timeout = 0.2, 0.2
    loop = asyncio.get_running_loop()
    for socket in (silent_socket, talking_socket):
        socket.silence_timer.cancel()
        socket.check_silence()

    async def keep_talking() -> None:
        while True:
            talking.send("3")  # a pong: heard from again, so it stays
            await asyncio.sleep(0.05)

    talker = asyncio.create_task(keep_talking())
    try:
        assert await asyncio.wait_for(silent.was_cut_off(), timeout=5)
        await asyncio.sleep(0.5)  # more than a cycle later, the one talking is still there
        assert silent_socket.closed and silent_socket.sid not in engine.sockets
        assert not talking_socket.closed and not talking_socket.transport.is_closing()
        assert loop.time() - talking_socket.heard_at < 0.4
    finally:
        talker.cancel()
        silent.close()
        talking.close()
