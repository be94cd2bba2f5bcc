"""Plain events from a direct websocket skip the stock per-message layers, and are answered
exactly as the stock path answers them; anything else still takes the stock path."""

from __future__ import annotations

import json

import aiohttp
import pytest

from server.app_keys import SOCKETS
from tests.support.clients import client_id

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@sqlite_only
async def test_events_from_a_websocket_are_taken_by_the_fast_path_and_answered(podium):
    viewer = await podium.viewer("Fast")
    live = await podium.live_viewer(viewer)
    fast = podium.app[SOCKETS].eio.fast_events
    before = fast.dispatched

    synced = await live.ok("sync")
    heartbeat = await live.ok("heartbeat")
    question = await live.ok("submit_question", {"client_id": client_id(), "text": "Fast?"})
    refused = await live.call("vote", {"question_id": "not a number"})
    missing = await live.call("no_such_event", {})

    assert fast.dispatched - before == 5
    assert synced["mode"] == "snapshot" and heartbeat == {"watching": None}
    assert question["text"] == "Fast?" and question["state"] == "pending"
    assert refused["ok"] is False and refused["error"]["code"] == "invalid_input"
    assert missing["ok"] is False and missing["error"]["code"] == "not_found"


async def _raw_viewer(podium, session: aiohttp.ClientSession) -> aiohttp.ClientWebSocketResponse:
    """A bare engine.io websocket joined to /viewer: frames are sent and read as text."""
    viewer = await podium.viewer("Raw")
    url = podium.base_url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
    socket = await session.ws_connect(url, headers={"Origin": podium.base_url})
    assert (await socket.receive_str(timeout=5)).startswith("0{")  # engine.io open
    await socket.send_str("40/viewer," + json.dumps({"token": viewer.token}))
    assert (await socket.receive_str(timeout=5)).startswith("40/viewer,{")
    return socket


@sqlite_only
async def test_frames_the_fast_path_leaves_alone_get_the_stock_answer_and_the_socket_lives_on(
    podium,
):
    fast = podium.app[SOCKETS].eio.fast_events
    async with aiohttp.ClientSession() as session:
        socket = await _raw_viewer(podium, session)
        before = fast.dispatched

        heartbeat = '[{"ok":true,"data":{"watching":null}}]'
        await socket.send_str('42/viewer,7["heartbeat",{}]')
        assert await socket.receive_str(timeout=5) == "43/viewer,7" + heartbeat
        await socket.send_str('42/viewer,["heartbeat",{}]')  # no ack id: no answer
        # Not plain events the fast path can take: the stock path gets each, as before.
        await socket.send_str('42/viewer,8{"not":"a list"}')  # refused, logged, no answer
        await socket.send_str('42/moderator,9["sync"]')  # not joined to /moderator: dropped
        await socket.send_str('42/viewer?x=1,10["heartbeat",{}]')  # a query string
        await socket.send_str("42/viewer,11[7]")  # an event name that is not text
        await socket.send_str('42/viewer,12["heartbeat",{}]')  # and the fast path again
        answers = sorted([await socket.receive_str(timeout=5) for _ in range(3)])

        assert fast.dispatched - before == 3  # ids 7, 12 and the one without
        assert answers[0] == "43/viewer,10" + heartbeat
        assert answers[1].startswith('43/viewer,11[{"ok":false,"error":{"code":"not_found"')
        assert answers[2] == "43/viewer,12" + heartbeat

        # The server's own event names, sent by a client, reach no handler on either path.
        await socket.send_str('42/viewer,13["disconnect"]')
        await socket.send_str('42/viewer,14["connect",{}]')
        await socket.send_str('42/viewer,15["heartbeat",{}]')
        assert await socket.receive_str(timeout=5) == "43/viewer,15" + heartbeat
        assert fast.dispatched - before == 4
        assert not socket.closed
        await socket.close()
