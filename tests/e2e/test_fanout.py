"""The fast fan-out path against the real app: order per client, slow consumers, polling, Redis."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import socketio

from server.app_keys import SOCKETS
from server.realtime.direct_sockets import DirectSocket
from server.realtime.fanout import FanoutManager, RedisFanoutManager
from tests.conftest import podium_with, start_app
from tests.conftest import test_settings as settings_for
from tests.support.clients import EVENT, LiveClient, Podium, client_id
from tests.support.live_state import LiveState, receive_through
from tests.support.waiting import wait_until

EVENT_API = f"/api/v1/events/{EVENT}"
# The fast path does not depend on the database: one kind keeps the suite short.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def manager_of(podium: Podium) -> FanoutManager:
    return podium.app[SOCKETS].manager


def engine_sid(live: LiveClient) -> str:
    """The client's engine.io session id, as the server's engine.io knows it."""
    return live.client.client.eio.sid


def assert_gapless(updates: list[dict], after_seq: int) -> None:
    seqs = [u["seq"] for u in updates]
    assert seqs == list(range(after_seq + 1, after_seq + 1 + len(seqs))), seqs


async def upgrading_client(podium: Podium, token: str) -> LiveClient:
    """A viewer that starts on long-polling and upgrades to a websocket, as browsers do."""
    client = socketio.AsyncSimpleClient()
    await client.connect(
        podium.base_url,
        namespace="/viewer",
        auth={"token": token},
        headers={"Origin": podium.base_url},
        transports=["polling", "websocket"],
        wait_timeout=5,
    )
    live = LiveClient(client)
    podium._closers.append(live.close)
    return live


@sqlite_only
async def test_every_websocket_client_gets_each_broadcast_once_in_order_among_its_own_pushes(
    podium,
):
    moderator = await podium.staff("moderator")
    mod_live = await podium.live_staff(moderator, "/moderator")
    viewers = [await podium.viewer(f"Viewer {n}") for n in range(12)]
    lives = [await podium.live_viewer(viewer) for viewer in viewers[:-1]]
    lives.append(await upgrading_client(podium, viewers[-1].token))
    started = [(await live.ok("sync"))["seq"] for live in lives]
    await mod_live.ok("sync")
    assert len(set(started)) == 1
    manager = manager_of(podium)
    queued_before = manager.queued_deliveries

    async def ask_and_vote(live: LiveClient, n: int) -> int:
        mine = await live.ok("submit_question", {"client_id": client_id(), "text": f"Q{n}?"})
        return mine["id"]

    question_ids = await asyncio.gather(*(ask_and_vote(live, n) for n, live in enumerate(lives)))
    approvals = [mod_live.ok("approve_question", {"question_id": q}) for q in question_ids]
    votes = [
        live.ok("vote", {"question_id": question_ids[(n + 1) % len(lives)]})
        for n, live in enumerate(lives)
    ]
    for approved in await asyncio.gather(*approvals):
        assert approved["state"] == "approved"
    for voted in await asyncio.gather(*votes):
        assert voted["voted"] is True
    last = await seq_once_votes_are_out(lives[0], len(question_ids))

    received = [await receive_through(live, last) for live in lives]
    for updates in received:
        assert_gapless(updates, started[0])
        assert updates == received[0]  # every client, the same broadcasts in the same order
    for live, question_id in zip(lives, question_ids, strict=True):
        told = lambda n, p, q=question_id: n == "mine" and _approved(p, q)  # noqa: E731
        if not any(told(name, payload) for name, payload in live.received):
            await live.wait_for(told)
        # The author hears of its approval after the broadcast that made it public.
        pushes = [(name, payload) for name, payload in live.received if name in {"update", "mine"}]
        assert _first(pushes, "update", question_id) < _first(pushes, "mine", question_id)
    engine_sockets = list(podium.app[SOCKETS].eio.sockets.values())
    assert engine_sockets and all(type(s) is DirectSocket and s.direct for s in engine_sockets)
    assert all(s.queue.empty() for s in engine_sockets)
    assert manager.queued_deliveries == queued_before
    assert manager.direct_deliveries >= len(lives) * (last - started[0])


async def seq_once_votes_are_out(live: LiveClient, voted: int) -> int:
    """The public sequence number once the coalesced tally shows every vote."""
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        snapshot = await live.ok("sync", {})
        if sum(q["votes"] for q in snapshot["questions"]) == voted:
            return snapshot["seq"]
        assert asyncio.get_running_loop().time() < deadline, snapshot
        await asyncio.sleep(0.05)


def _approved(payload: dict[str, Any], question_id: int) -> bool:
    question = payload.get("question") or {}
    return question.get("id") == question_id and question.get("state") == "approved"


def _first(pushes: list[tuple[str, Any]], kind: str, question_id: int) -> int:
    """Where the first push of `kind` telling of the question's approval is."""
    return next(
        n for n, (name, p) in enumerate(pushes) if name == kind and _approved(p, question_id)
    )


@sqlite_only
async def test_polling_clients_are_still_served_in_order(podium):
    moderator = await podium.staff("moderator")
    viewers = [await podium.viewer(f"Old browser {n}") for n in range(3)]
    polling = [
        await podium.live("/viewer", {"token": v.token}, transport="polling") for v in viewers
    ]
    websocket = await podium.live_viewer(await podium.viewer("New browser"))
    try:
        start = (await websocket.ok("sync"))["seq"]
        for live in polling:
            assert (await live.ok("sync"))["seq"] == start
        manager = manager_of(podium)
        queued_before = manager.queued_deliveries
        asked = [await v.ask(f"Question {n}") for n, v in enumerate(viewers)]
        for question in asked:
            status, body = await moderator.command("POST", f"/questions/{question['id']}/approve")
            assert status == 200, body
        last = (await websocket.ok("sync", {}))["seq"]

        expected = await receive_through(websocket, last)
        for live in polling:
            assert await receive_through(live, last) == expected
        assert_gapless(expected, start)
        # Every update, and two `mine` (asked, approved) each, went through engine.io's queue.
        assert manager.queued_deliveries - queued_before == len(polling) * (last - start + 2)
        polling_sockets = [
            s for s in podium.app[SOCKETS].eio.sockets.values() if s.sid != engine_sid(websocket)
        ]
        assert len(polling_sockets) == 3
        assert all(type(s) is not DirectSocket for s in polling_sockets)
    finally:
        await podium.app[SOCKETS].eio.disconnect()  # answer the pending long-polls now


class StalledClient:
    """A Socket.IO viewer on a bare TCP socket that stops reading once connected, with the
    smallest receive buffer the kernel allows, so the server's buffer for it fills."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, podium: Podium, token: str) -> StalledClient:
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        raw.setblocking(False)
        host, port = podium.settings.host, podium.settings.port
        await asyncio.get_running_loop().sock_connect(raw, (host, port))
        reader, writer = await asyncio.open_connection(sock=raw, limit=1024)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nOrigin: {podium.base_url}\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        client = cls(reader, writer)
        assert (await client.receive()).startswith("0{")  # engine.io open
        client.send("40/viewer," + json.dumps({"token": token}))
        assert (await client.receive()).startswith("40/viewer,")
        return client

    async def receive(self) -> str:
        first, second = await self.reader.readexactly(2)
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return (await self.reader.readexactly(size)).decode()

    def send(self, text: str) -> None:
        payload, mask = text.encode(), os.urandom(4)
        masked = bytes(byte ^ mask[n % 4] for n, byte in enumerate(payload))
        assert len(payload) < 126
        self.writer.write(bytes((0x81, 0x80 | len(payload))) + mask + masked)

    async def sync(self) -> dict[str, Any]:
        self.send('42/viewer,1["sync",{}]')
        while not (text := await self.receive()).startswith("43/viewer,1"):
            pass
        return json.loads(text[len("43/viewer,1") :])[0]["data"]

    async def was_cut_off(self) -> bool:
        """Read what is left; True if the server ended the connection."""
        try:
            while await asyncio.wait_for(self.reader.read(65536), timeout=5):
                pass
        except ConnectionResetError:
            pass
        return True

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
async def small_buffer_podium(database_url: str, tmp_path: Path) -> AsyncIterator[Podium]:
    async with podium_with(database_url, tmp_path, socket_write_buffer_max_bytes=16_384) as p:
        yield p


@sqlite_only
async def test_a_client_that_stops_reading_is_dropped_and_resyncs_after_reconnecting(
    small_buffer_podium,
):
    podium = small_buffer_podium
    moderator, admin = await podium.staff("moderator"), await podium.staff("admin")
    await admin.ok("PATCH", EVENT_API, {"max_question_length": 1000})
    asker, stalled_viewer = await podium.viewer("Asker"), await podium.viewer("Stalled")
    keeping_up = await podium.live_viewer(await podium.viewer("Keeping up"))
    start = (await keeping_up.ok("sync"))["seq"]
    stalled = await StalledClient.connect(podium, stalled_viewer.token)
    before_stall = LiveState.from_snapshot(await stalled.sync())
    engine = podium.app[SOCKETS].eio
    # Keep the kernel's own send buffer for it small too, so a few updates fill what is ours.
    (stalled_socket,) = (s for s in engine.sockets.values() if s.sid != engine_sid(keeping_up))
    stalled_socket.transport.get_extra_info("socket").setsockopt(
        socket.SOL_SOCKET, socket.SO_SNDBUF, 4096
    )
    question = await asker.ask("A long question " + "x" * 900)
    status, body = await moderator.command("POST", f"/questions/{question['id']}/approve")
    assert status == 200, body

    edits = 0
    while engine.dropped_consumers == 0:
        assert edits < 2000, "the stalled client was never dropped"
        edits += 1
        text = f"Edit {edits} " + "y" * 900
        status, body = await moderator.command(
            "POST", f"/questions/{question['id']}/edit", {"text": text}
        )
        assert status == 200, body
        await podium.services.publisher.drain()
    try:
        assert await stalled.was_cut_off()
    finally:
        stalled.close()
    await wait_until(lambda: len(engine.sockets) == 1)  # only the one keeping up is left
    assert engine.dropped_consumers == 1

    status, body = await moderator.command(
        "POST", f"/questions/{question['id']}/edit", {"text": "After the drop"}
    )
    assert status == 200, body
    last = (await keeping_up.ok("sync", {}))["seq"]
    assert_gapless(await receive_through(keeping_up, last), start)

    back = await podium.live_viewer(stalled_viewer)
    caught_up = await back.ok("sync", {"since": before_stall.seq})
    assert caught_up["mode"] == "catchup" and caught_up["seq"] == last
    before_stall.apply_all(caught_up["entries"])
    assert before_stall.view() == LiveState.from_snapshot(await back.ok("sync", {})).view()
    assert before_stall.questions[question["id"]]["text"] == "After the drop"


@sqlite_only
async def test_an_emit_on_one_server_reaches_a_client_of_another_through_redis(
    database_url, tmp_path, redis_url
):
    """Two apps sharing one database and one Redis channel, as two workers would."""
    shared = {"redis_url": redis_url, "redis_channel": f"podium-test-{uuid.uuid4().hex}"}
    settings = [settings_for(database_url, tmp_path, **shared) for _ in range(2)]
    runners, podiums = [], []
    seen: list[list[tuple]] = [[], []]
    try:
        for n, each in enumerate(settings):
            runners.append(await start_app(each))
            podiums.append(Podium(each, runners[-1].app))
            manager = manager_of(podiums[-1])
            assert isinstance(manager, RedisFanoutManager)
            manager.add_listener(lambda *emit, n=n: seen[n].append(emit))
        one, two = podiums
        await one.seed()
        viewer = await one.viewer("Across")  # joins through the first worker
        live = await two.live_viewer(viewer)  # and listens on the second
        await live.ok("sync")
        delivered_directly = manager_of(two).direct_deliveries

        question = await viewer.ask("Does this reach the other worker?")
        status, body = await (await one.staff("moderator")).command(
            "POST", f"/questions/{question['id']}/approve"
        )
        assert status == 200, body
        _, pushed = await live.wait_for(lambda n, p: n == "update" and _approved(p, question["id"]))
        await live.wait_for(lambda n, p: n == "mine" and _approved(p, question["id"]))

        assert manager_of(two).direct_deliveries > delivered_directly
        room = f"event:{one.event_id}"
        assert ("/viewer", room, "update", pushed) in seen[0]  # emitted there
        assert ("/viewer", room, "update", pushed) in seen[1]  # and arrived through Redis

        # An answer to one client of this process is not sent through Redis.
        sockets = two.app[SOCKETS]
        await sockets.emit("notice", {"to": "you"}, to=live.client.sid, namespace="/viewer")
        assert await live.next() == ("notice", {"to": "you"})
        await sockets.emit("marker", {}, room=room, namespace="/viewer")
        await wait_until(lambda: any(emit[2] == "marker" for emit in seen[0]))
        assert not any(emit[2] == "notice" for emit in seen[0])
    finally:
        for podium in podiums:
            await podium.close()
        for runner in runners:
            await runner.cleanup()
