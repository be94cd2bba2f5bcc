"""A restart with viewers connected: every client is hung up at once, comes back to the new
server on its own, and catches up with `sync {since}` to exactly the new server's state."""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path
from typing import Any

import pytest
import socketio

from bench import loadgen
from server.app_keys import SOCKETS
from server.settings import PROJECT_ROOT
from tests.conftest import start_app
from tests.conftest import test_settings as settings_for
from tests.support.clients import EVENT, HttpClient, Podium, client_id
from tests.support.live_state import LiveState

VIEWERS = 200
# The fast path does not depend on the database: one kind keeps the suite short.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


class ReturningViewer:
    """A python-socketio client that reconnects by itself, as a viewer's page does, and keeps
    the state it was sent: a snapshot with every later `update` applied."""

    def __init__(self, base_url: str, token: str, transport: str = "websocket") -> None:
        self.base_url, self.token, self.transport = base_url, token, transport
        # Reconnect soon, but not all at once (the pages' own options are in common.js).
        self.client = socketio.AsyncClient(reconnection_delay=0.2, randomization_factor=0.5)
        self.state: LiveState | None = None
        self.early: list[dict[str, Any]] = []  # updates that arrived before the first sync
        self.connects = 0
        self.disconnects: list[str] = []
        self.connected = asyncio.Event()
        self.gone = asyncio.Event()
        self.client.on("connect", self._on_connect, namespace="/viewer")
        self.client.on("disconnect", self._on_disconnect, namespace="/viewer")
        self.client.on("update", self._on_update, namespace="/viewer")

    async def _on_connect(self) -> None:
        self.connects += 1
        self.connected.set()

    async def _on_disconnect(self, reason: Any = None) -> None:
        self.disconnects.append(str(reason))
        self.connected.clear()
        self.gone.set()

    async def _on_update(self, entry: dict[str, Any]) -> None:
        if self.state is None:
            self.early.append(entry)
        elif entry["seq"] > self.state.seq:
            self.state.apply(entry)

    async def connect(self) -> None:
        await self.client.connect(
            self.base_url,
            namespaces=["/viewer"],
            auth={"token": self.token},
            headers={"Origin": self.base_url},
            transports=[self.transport],
            wait_timeout=10,
        )

    async def sync(self) -> dict[str, Any]:
        """`sync {since}` from what is held (a snapshot the first time), applied."""
        since = {} if self.state is None else {"since": self.state.seq}
        try:
            ack = await self.client.call("sync", since, namespace="/viewer", timeout=20)
        except socketio.exceptions.TimeoutError:
            # Seen once in CI, never reproduced: say what this client knew at the time.
            raise AssertionError(
                f"no answer to sync {since} in 20 s: connects {self.connects}, "
                f"disconnects {self.disconnects}, sid {self.client.get_sid('/viewer')}, "
                f"engine.io {self.client.eio.state} on {self.client.transport()}"
            ) from None
        assert ack["ok"], ack
        result = ack["data"]
        if result["mode"] == "snapshot":
            self.state = LiveState.from_snapshot(result)
            for entry in self.early:
                if entry["seq"] > self.state.seq:
                    self.state.apply(entry)
        else:
            self.state.apply_all(result["entries"])
        return result

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.client.disconnect()


async def join_viewers(base_url: str, count: int) -> list[str]:
    http = HttpClient(base_url)
    try:
        path = f"/api/v1/events/{EVENT}/viewers"
        joined = [await http.ok("POST", path, {"display_name": f"V{n}"}) for n in range(count)]
    finally:
        await http.close()
    return [body["token"] for body in joined]


async def approve_new_question(podium: Podium, asker_token: str, text: str) -> int:
    asker = HttpClient(podium.base_url, {"Authorization": f"Bearer {asker_token}"})
    moderator = await podium.staff("moderator")
    try:
        question = await asker.ok(
            "POST", f"/api/v1/events/{EVENT}/questions", {"client_id": client_id(), "text": text}
        )
        status, body = await moderator.command("POST", f"/questions/{question['id']}/approve")
        assert status == 200, body
    finally:
        await asker.close()
        await moderator.close()
    return question["id"]


async def fresh_state(base_url: str, token: str) -> LiveState:
    """The public state a viewer connecting now is sent."""
    newcomer = ReturningViewer(base_url, token)
    await newcomer.connect()
    try:
        await newcomer.sync()
        return newcomer.state
    finally:
        await newcomer.close()


@sqlite_only
async def test_every_viewer_is_hung_up_comes_back_after_a_restart_and_resyncs(
    database_url: str, tmp_path: Path
):
    settings = settings_for(database_url, tmp_path)
    runner = await start_app(settings)
    first = Podium(settings, runner.app)
    viewers: list[ReturningViewer] = []
    try:
        await first.seed()
        tokens = await join_viewers(first.base_url, VIEWERS + 1)
        asker = tokens.pop()
        await approve_new_question(first, asker, "Asked before anyone watched?")
        viewers = [ReturningViewer(first.base_url, token) for token in tokens[:-1]]
        # One old browser on long-polling: engine.io itself tells it the server is going.
        polling = ReturningViewer(first.base_url, tokens[-1], transport="polling")
        await asyncio.gather(*(v.connect() for v in [*viewers, polling]))
        await asyncio.gather(*(v.sync() for v in [*viewers, polling]))
        await approve_new_question(first, asker, "Asked while everyone watched?")
        await first.services.publisher.drain()
        engine = first.app[SOCKETS].eio
        assert len(engine.sockets) == VIEWERS
        await first.close()
    finally:
        await runner.cleanup()  # SIGTERM's path: on_shutdown, then the services close

    assert not engine.sockets
    for viewer in [*viewers, polling]:
        await asyncio.wait_for(viewer.gone.wait(), timeout=5)
        assert viewer.connects == 1
    # Hung up by the end of its websocket, not by a close message: so it comes back.
    assert all(v.client._reconnect_task is not None for v in viewers)

    runner = await start_app(settings)  # the same database, the same port
    second = Podium(settings, runner.app)
    try:
        # A change the viewers can only learn by catching up, made as the server comes up.
        await approve_new_question(second, asker, "Asked during the restart?")
        await asyncio.wait_for(asyncio.gather(*(v.connected.wait() for v in viewers)), timeout=20)
        # Each is back and connected now. Once each, but for a client that gave up on a slow
        # answer and tried again: seen once, with the suite run beside a CPU hog.
        odd = [(v.connects, v.disconnects) for v in viewers if v.connects != 2]
        assert all(v.connects >= 2 and v.client.connected for v in viewers), odd
        assert len(odd) <= 2, odd
        caught_up = await asyncio.gather(*(v.sync() for v in viewers))
        expected = await fresh_state(second.base_url, tokens[0])
        assert sum(q["state"] == "approved" for q in expected.questions.values()) == 3
        for viewer, result in zip(viewers, caught_up, strict=True):
            assert result["mode"] == "catchup", result
            assert viewer.state.seq == expected.seq
            assert viewer.state.view() == expected.view()
    finally:
        for viewer in [*viewers, polling]:
            await viewer.close()
        await second.close()
        await runner.cleanup()


def test_the_benchmark_reconnects_as_the_pages_do():
    """bench/ times a restart with the pages' reconnection options, or its figure is moot."""
    common = (PROJECT_ROOT / "client_static/js/common.js").read_text()
    options = re.search(r"const RECONNECT = \{([^}]*)\}", common).group(1)
    pages = {name: float(value) for name, value in re.findall(r"(\w+): ([\d.]+)", options)}
    assert pages == {
        "reconnectionDelay": loadgen.RECONNECT_DELAY_S * 1000,
        "reconnectionDelayMax": loadgen.RECONNECT_DELAY_MAX_S * 1000,
        "randomizationFactor": loadgen.RANDOMIZATION_FACTOR,
    }
    assert "...RECONNECT" in common  # and connect() passes them to the client
