"""Several Podium processes on one PostgreSQL database and one Redis server, as deployed:
real `podium serve` processes, real clients pinned to one worker or another."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from server.services import tally as tally_module
from server.settings import CONFIG_DIR
from server.store import questions as question_store
from server.store.models import BroadcastRow
from tests import conftest
from tests.conftest import REDIS_URL, free_port, podium_with, start_app
from tests.e2e.test_question_flow import is_update
from tests.support.clients import EVENT, LiveClient, Podium

ON_POSTGRESQL = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
PYTHON = [sys.executable, "-m", "server", "--config", str(CONFIG_DIR / "test.toml")]


class Served:
    """One `podium serve` process (a worker, or a supervisor of several), its output in a file."""

    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, env: dict[str, str], *extra: str) -> None:
        with self.log.open("wb") as output:
            self.process = await asyncio.create_subprocess_exec(
                *PYTHON, "serve", "--port", str(self.port), *extra,
                env=env, stdout=output, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def wait_until(self, condition, what: str, timeout: float = 60) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not await condition():
            assert self.process.returncode is None, f"podium stopped: {self.output()}"
            assert asyncio.get_running_loop().time() < deadline, f"{what}: {self.output()}"
            await asyncio.sleep(0.1)

    async def healthy(self) -> bool:
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"{self.base_url}/healthz") as response,
            ):
                return response.status == 200
        except aiohttp.ClientConnectionError:
            return False

    def workers(self) -> set[int]:
        """The worker processes of a supervisor (not multiprocessing's resource tracker)."""
        found = set()
        for pid in children(self.process.pid):
            with contextlib.suppress(OSError):
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.add(pid)
        return found

    async def stop(self) -> None:
        """SIGTERM, as systemd stops a service; SIGKILL (workers too) if that hangs."""
        if self.process is None or self.process.returncode is not None:
            return
        workers = self.workers()
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), timeout=40)
        except TimeoutError:
            for pid in workers | {self.process.pid}:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            await self.process.wait()


def children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found.update(int(child) for child in (task / "children").read_text().split())
    return found


def two_free_ports() -> int:
    """A free port whose next port is free too."""
    while True:
        first = free_port()
        with contextlib.suppress(OSError), socket.socket() as probe:
            probe.bind(("127.0.0.1", first + 1))
            return first


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def deployment_env(database_url: str, origins: list[str]) -> dict[str, str]:
    """What every process of one deployment shares; each also gets a data folder of its own."""
    return {
        **os.environ,
        "PODIUM_DATABASE_URL": database_url,
        "PODIUM_REDIS_URL": REDIS_URL,
        # Channels are not separated by Redis database: one per test, like one per deployment.
        "PODIUM_REDIS_CHANNEL": f"podium-test-{uuid.uuid4().hex}",
        "PODIUM_SECRET_KEY": secrets.token_urlsafe(32),  # viewer tokens work on every worker
        "PODIUM_ALLOWED_ORIGINS": ",".join(origins),
        "PODIUM_VIEWER_COUNT_SECONDS": "1",
    }


@contextlib.asynccontextmanager
async def seeded_event(database_url: str, tmp_path: Path) -> AsyncIterator[Podium]:
    """The test event, seeded through the real services before any worker starts."""
    async with podium_with(database_url, tmp_path / "seed") as seeded:
        pass
    yield seeded


def client_of(seeded: Podium, served: Served) -> Podium:
    """Clients that talk to one process only."""
    client = Podium(seeded.settings.with_overrides(port=served.port), web.Application())
    client.rooms, client.sessions, client.event_id = seeded.rooms, seeded.sessions, seeded.event_id
    return client


async def all_ok(calls) -> list:
    return await asyncio.gather(*calls)


def votes_reach(question_id: int, count: int):
    def predicate(name, payload) -> bool:
        return (
            name == "update"
            and payload.get("type") == "votes"
            and {"id": question_id, "votes": count} in payload["votes"]
        )

    return predicate


@ON_POSTGRESQL
async def test_two_workers_share_questions_votes_and_viewer_counts(
    database_url, redis_url, tmp_path
):
    async with seeded_event(database_url, tmp_path) as seeded:
        main = seeded.rooms["main"]
    a, b = Served(free_port(), tmp_path / "a.log"), Served(free_port(), tmp_path / "b.log")
    origins = [a.base_url, b.base_url]
    clients: list[Podium] = []
    try:
        env = deployment_env(database_url, origins)
        await a.start(env | {"PODIUM_DATA_DIR": str(tmp_path / "a")})
        await b.start(env | {"PODIUM_DATA_DIR": str(tmp_path / "b")})
        await a.wait_until(a.healthy, "worker A did not come up")
        await b.wait_until(b.healthy, "worker B did not come up")
        on_a, on_b = client_of(seeded, a), client_of(seeded, b)
        clients += [on_a, on_b]

        moderator_a = await on_a.live_staff(await on_a.staff("moderator"), "/moderator")
        chair_b = await on_b.live_staff(await on_b.staff("chair"), "/chair")
        viewers = [await on_a.viewer(f"A{n}") for n in range(3)]
        viewers += [await on_b.viewer(f"B{n}") for n in range(3)]
        live_a = [await on_a.live_viewer(viewer) for viewer in viewers[:3]]
        live_b = [await on_b.live_viewer(viewer) for viewer in viewers[3:]]
        for live in (moderator_a, chair_b, *live_a, *live_b):
            assert (await live.ok("sync"))["mode"] == "snapshot"

        # A question asked on B reaches the moderator on A; approved on A, it reaches B.
        asker = live_b[0]
        asked = await asker.ok("submit_question", {"client_id": uuid.uuid4().hex, "text": "Why?"})
        qid = asked["id"]
        await moderator_a.wait_for(is_update("question", id=qid, state="pending"))
        await moderator_a.ok("approve_question", {"question_id": qid})
        for live in live_b + live_a:
            await live.wait_for(is_update("question", id=qid, state="approved"))
        await asker.wait_for(lambda n, p: n == "mine" and p["question"]["state"] == "approved")

        # Everyone else votes at once, on both workers, twice: each vote counts once.
        voters = live_a + live_b[1:]
        first = await all_ok(live.ok("vote", {"question_id": qid}) for live in voters)
        again = await all_ok(live.ok("vote", {"question_id": qid}) for live in voters)
        assert all(ack["voted"] and ack["changed"] for ack in first)
        assert not any(ack["changed"] for ack in again)
        await chair_b.wait_for(votes_reach(qid, len(voters)))
        await live_a[1].wait_for(votes_reach(qid, len(voters)))
        listed = await viewers[0].ok("GET", f"/api/v1/events/{EVENT}/questions")
        assert [(q["id"], q["votes"]) for q in listed] == [(qid, len(voters))]

        # Staff on either worker see the viewers watching on both.
        await all_ok(live.ok("watch_room", {"room_id": main}) for live in voters[1:])
        counts = {"rooms": {str(main): 4}}
        for staff in (moderator_a, chair_b):
            await staff.wait_for(lambda n, p: n == "viewer_counts" and p == counts, timeout=15)
        synced = await chair_b.ok("sync", {"since": None})
        assert synced["viewer_counts"] == counts
    finally:
        for client in clients:
            await client.close()
        await asyncio.gather(a.stop(), b.stop())
    assert (a.process.returncode, b.process.returncode) == (0, 0), a.output() + b.output()


@ON_POSTGRESQL
async def test_serve_workers_share_one_port_replace_a_dead_worker_and_stop_on_sigterm(
    database_url, redis_url, tmp_path
):
    async with seeded_event(database_url, tmp_path) as seeded:
        pass
    served = Served(free_port(), tmp_path / "serve.log")
    first_own = two_free_ports()
    own = [Served(port, served.log) for port in (first_own, first_own + 1)]
    clients: list[Podium] = []
    try:
        env = deployment_env(database_url, [served.base_url] + [w.base_url for w in own])
        await served.start(
            env | {"PODIUM_DATA_DIR": str(tmp_path / "data")},
            *("--workers", "2", "--worker-ports", str(first_own)),
        )

        async def announced() -> bool:
            return "serving on" in served.output()

        await served.wait_until(announced, "the workers did not all start")
        workers = served.workers()
        assert len(workers) == 2
        client, *pinned = [client_of(seeded, s) for s in (served, *own)]
        clients += [client, *pinned]
        moderator = await client.live_staff(await client.staff("moderator"), "/moderator")
        viewers: list[LiveClient] = [
            await client.live_viewer(await client.viewer(f"V{n}")) for n in range(4)
        ]
        for one_worker in pinned:  # long-polling, every request to the same worker
            token = (await one_worker.viewer("Polling")).token
            viewers.append(await one_worker.live("/viewer", {"token": token}, "polling"))
        asked = await viewers[0].ok(
            "submit_question", {"client_id": uuid.uuid4().hex, "text": "Where?"}
        )
        await moderator.wait_for(is_update("question", id=asked["id"], state="pending"))
        await moderator.ok("approve_question", {"question_id": asked["id"]})
        for viewer in viewers:  # wherever each landed
            await viewer.wait_for(is_update("question", id=asked["id"], state="approved"))

        died = min(workers)
        os.kill(died, signal.SIGKILL)

        async def replaced() -> bool:
            now = served.workers()
            return len(now) == 2 and died not in now

        await served.wait_until(replaced, "the dead worker was not replaced")
        assert "died" in served.output()
        for _ in range(10):  # each a new connection, to whichever worker takes it
            await served.wait_until(served.healthy, "a worker does not answer", timeout=30)
        for one_worker in own:  # the new worker took over its port
            await served.wait_until(one_worker.healthy, "a worker's own port is dead", timeout=30)
        workers = served.workers()
    finally:
        for client in clients:
            await client.close()
        await served.stop()
    assert served.process.returncode == 0, served.output()
    assert not any(alive(pid) for pid in workers)


def test_several_workers_refuse_sqlite_and_need_a_redis_url(tmp_path):
    env = {**os.environ, "PODIUM_DATA_DIR": str(tmp_path), "PODIUM_REDIS_URL": "redis://x"}
    on_sqlite = subprocess.run(
        [*PYTHON, "serve", "--workers", "2"], env=env, capture_output=True, text=True, timeout=60
    )
    assert on_sqlite.returncode == 2 and "needs PostgreSQL" in on_sqlite.stderr
    env |= {"PODIUM_DATABASE_URL": "postgresql+asyncpg://podium@127.0.0.1:1/none"}
    env.pop("PODIUM_REDIS_URL")
    no_redis = subprocess.run(
        [*PYTHON, "serve", "--workers", "2"], env=env, capture_output=True, text=True, timeout=60
    )
    assert no_redis.returncode == 2 and "needs redis_url" in no_redis.stderr
    assert "Traceback" not in on_sqlite.stderr + no_redis.stderr


@ON_POSTGRESQL
async def test_the_last_vote_tally_broadcast_has_the_final_count_across_workers(
    database_url, tmp_path, monkeypatch
):
    stalled, go_on = asyncio.Event(), asyncio.Event()
    calls = 0

    async def count_then_stall_once(session, question_ids):
        """Worker A's flush is slow between counting and numbering (a busy process)."""
        nonlocal calls
        counts = await question_store.vote_counts(session, question_ids)
        calls += 1
        if calls == 1:
            stalled.set()
            await go_on.wait()
        return counts

    monkeypatch.setattr(
        tally_module, "question_store", SimpleNamespace(vote_counts=count_then_stall_once)
    )
    async with podium_with(database_url, tmp_path / "a") as on_a:
        settings_b = conftest.test_settings(database_url, tmp_path / "b")
        runner_b = await start_app(settings_b)
        on_b = Podium(settings_b, runner_b.app)
        on_b.rooms = on_a.rooms
        try:
            moderator = await on_a.live_staff(await on_a.staff("moderator"), "/moderator")
            asker = await on_a.live_viewer(await on_a.viewer("Asker"))
            asked = await asker.ok("submit_question", {"client_id": uuid.uuid4().hex, "text": "?"})
            qid = asked["id"]
            await moderator.ok("approve_question", {"question_id": qid})

            voter_a = await on_a.live_viewer(await on_a.viewer("A"))
            voters_b = [await on_b.live_viewer(await on_b.viewer(name)) for name in ("B1", "B2")]
            await voter_a.ok("vote", {"question_id": qid})
            await asyncio.wait_for(stalled.wait(), timeout=10)  # A counted 1, not yet numbered
            # Together: B's own tally flush, once B's first vote marks it, waits for A's lock
            # in B's write turn, so a vote B received after it would wait for A too.
            await asyncio.wait_for(
                asyncio.gather(*(voter.ok("vote", {"question_id": qid}) for voter in voters_b)),
                timeout=10,
            )
            # B's flush runs meanwhile: it counts 3 and numbers it (or, once the count is
            # read under the event row lock, waits for A's flush to finish first).
            await asyncio.sleep(0.5)
            go_on.set()
            await asyncio.sleep(0.5)
            assert await last_tally(on_b, qid) == 3
        finally:
            go_on.set()
            await on_b.close()
            await runner_b.cleanup()


async def last_tally(podium: Podium, question_id: int) -> int | None:
    """The count in the last numbered votes broadcast: what every client ends up showing."""
    async with podium.services.db.read() as session:
        rows = await session.execute(
            select(BroadcastRow.payload)
            .where(BroadcastRow.stream == "public")
            .order_by(BroadcastRow.seq.desc())
        )
        for payload in rows.scalars():
            if payload.get("type") == "votes":
                found = [v["votes"] for v in payload["votes"] if v["id"] == question_id]
                if found:
                    return found[0]
    return None
