"""Benchmark: how long a question takes from a viewer's submit to the stage screen.

Starts `podium demo` in its own process (SQLite, as a first-time user would run it), connects
N viewers, a moderator, a chair and a stage screen over Socket.IO (websocket), then repeats
the full flow and prints percentiles of each hop:

    python -m bench.flow --viewers 200 --rounds 50
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import time
import uuid
from collections.abc import Callable

import aiohttp
import socketio

SLUG = "safer-communities-2026"


class Waiter:
    """Resolves futures when a pushed payload matches, timestamping the moment it arrived."""

    def __init__(self) -> None:
        self.pending: list[tuple[Callable[[str, dict], bool], asyncio.Future]] = []

    def expect(self, predicate: Callable[[str, dict], bool]) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.pending.append((predicate, future))
        return future

    def feed(self, name: str, payload: dict) -> None:
        now = time.perf_counter()
        for item in list(self.pending):
            predicate, future = item
            if not future.done() and predicate(name, payload):
                future.set_result(now)
                self.pending.remove(item)


async def connect(base: str, namespace: str, auth: dict, cookie: str | None, waiter: Waiter):
    client = socketio.AsyncClient(reconnection=False)

    async def on_update(payload):
        waiter.feed("update", payload)

    async def on_mine(payload):
        waiter.feed("mine", payload)

    client.on("update", on_update, namespace=namespace)
    client.on("mine", on_mine, namespace=namespace)
    headers = {"Origin": base, **({"Cookie": cookie} if cookie else {})}
    await client.connect(
        base, namespaces=[namespace], auth=auth, headers=headers, transports=["websocket"]
    )
    ack = await client.call("sync", {}, namespace=namespace)
    assert ack["ok"], ack
    return client


async def start_demo(port: int) -> tuple[asyncio.subprocess.Process, dict[str, str], int]:
    env = {**os.environ, "PODIUM_LOG_LEVEL": "WARNING", "PODIUM_QUESTION_RATE_PER_MINUTE": "600"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "demo",
        "--port",
        str(port),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    printed = ""
    while "Running on" not in printed:
        line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
        if not line:
            raise RuntimeError(f"demo did not start:\n{printed}")
        printed += line.decode()
    passwords = dict(re.findall(r"user (demo-\w+)\s+password (\S+)", printed))
    room = int(re.search(r"chair\?room=(\d+)", printed).group(1))
    return process, passwords, room


async def login(session: aiohttp.ClientSession, base: str, user: str, password: str) -> str:
    async with session.post(
        f"{base}/api/v1/auth/login",
        json={"username": user, "password": password},
        headers={"Origin": base},
    ) as answer:
        assert answer.status == 200, await answer.text()
        return answer.cookies["podium_session"].value


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


async def main(viewer_count: int, rounds: int, port: int) -> None:
    process, passwords, room = await start_demo(port)
    base = f"http://127.0.0.1:{port}"
    clients: list[socketio.AsyncClient] = []
    try:
        async with aiohttp.ClientSession() as http:
            cookies = {
                role: f"podium_session={await login(http, base, user, passwords[user])}"
                for role, user in (("moderator", "demo-moderator"), ("chair", "demo-chair"))
            }
            tokens = []
            for _ in range(viewer_count):
                async with http.post(
                    f"{base}/api/v1/events/{SLUG}/viewers",
                    json={"display_name": "Bench"},
                    headers={"Origin": base},
                ) as r:
                    tokens.append((await r.json())["token"])
        waiters = {name: Waiter() for name in ("moderator", "chair", "stage", "asker", "last")}
        moderator = await connect(
            base, "/moderator", {"event": SLUG}, cookies["moderator"], waiters["moderator"]
        )
        chair = await connect(base, "/chair", {"event": SLUG}, cookies["chair"], waiters["chair"])
        stage = await connect(base, "/stage", {"event": SLUG}, None, waiters["stage"])
        clients += [moderator, chair, stage]
        viewers = []
        for index, token in enumerate(tokens):
            waiter = (
                waiters["asker"]
                if index == 0
                else waiters["last"]
                if index == len(tokens) - 1
                else Waiter()
            )
            viewers.append(await connect(base, "/viewer", {"token": token}, None, waiter))
        clients += viewers
        asker = viewers[0]
        hops: dict[str, list[float]] = {
            k: []
            for k in (
                "submit ack",
                "submit -> moderator sees it",
                "approve -> last viewer sees it",
                "stage -> stage screen shows it",
                "submit -> on stage (whole flow)",
            )
        }
        for _ in range(rounds):
            text = f"Benchmark question {uuid.uuid4().hex[:8]}"
            seen_by_moderator = waiters["moderator"].expect(
                lambda n, p, t=text: p.get("type") == "question" and p["question"]["text"] == t
            )
            started = time.perf_counter()
            ack = await asker.call(
                "submit_question",
                {"client_id": uuid.uuid4().hex, "text": text},
                namespace="/viewer",
            )
            acked = time.perf_counter()
            qid = ack["data"]["id"]
            await seen_by_moderator
            seen_by_last = waiters["last"].expect(
                lambda n, p, q=qid: p.get("type") == "question" and p["question"]["id"] == q
            )
            approve_at = time.perf_counter()
            assert (
                await moderator.call(
                    "approve_question", {"question_id": qid}, namespace="/moderator"
                )
            )["ok"]
            await seen_by_last
            on_stage = waiters["stage"].expect(
                lambda n, p, q=qid: (
                    p.get("type") == "stage" and (p.get("question") or {}).get("id") == q
                )
            )
            stage_at = time.perf_counter()
            assert (
                await chair.call(
                    "put_on_stage", {"question_id": qid, "room_id": room}, namespace="/chair"
                )
            )["ok"]
            shown = await on_stage
            hops["submit ack"].append(acked - started)
            hops["submit -> moderator sees it"].append(seen_by_moderator.result() - started)
            hops["approve -> last viewer sees it"].append(seen_by_last.result() - approve_at)
            hops["stage -> stage screen shows it"].append(shown - stage_at)
            hops["submit -> on stage (whole flow)"].append(shown - started)
        print(
            f"podium question flow: {viewer_count} viewers connected, {rounds} rounds, SQLite, "
            f"server in its own process, clients in this one"
        )
        print(f"{'hop':<34} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for name, values in hops.items():
            ms = [v * 1000 for v in values]
            print(
                f"{name:<34} {statistics.median(ms):8.1f} {percentile(ms, 0.9):8.1f} "
                f"{percentile(ms, 0.99):8.1f} {max(ms):8.1f}"
            )
    finally:
        for client in clients:
            await client.disconnect()
        process.terminate()
        await process.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    asyncio.run(main(args.viewers, args.rounds, args.port))
