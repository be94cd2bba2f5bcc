"""Benchmark: durable question submissions and votes per second, and their acknowledgement time.

Starts the real app (create_app, on a real port, with its publisher, vote tally and upkeep
running, on the event loop and with the garbage collection `podium serve` uses) on SQLite
(WAL, synchronous=FULL) or PostgreSQL, then drives the real use cases (`asking.submit`,
`asking.vote`) through the app's own Services, in the app's process: what
is measured is the durable write path a request takes after its transport has decoded it
(validation, rate limit, screening, the insert, the audit and broadcast log rows, the group
commit and the after-commit publishing), not HTTP or Socket.IO parsing.

    python -m bench.writes                       # SQLite, 5 s per phase
    python -m bench.writes --database postgresql  # needs PODIUM_TEST_POSTGRES_URL or --postgres-url

Phases: viewers join; submitters run flat out (closed loop, --submitters at once); then
submissions arrive at a fixed --rate (open loop) to read the acknowledgement percentiles at
that load; then votes, flat out. Every acknowledgement follows the commit that stored it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bench.podium import fresh_postgres
from server import gc_tuning
from server.app import create_app
from server.app_keys import SERVICES
from server.event_loop import loop_name, new_serving_loop
from server.services import asking, catalog, moderation
from server.services.context import Actor, Services
from server.settings import load_settings

SLUG = "bench-writes"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _percentile(samples: list[float], fraction: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class PhaseDone(Exception):
    """An action has nothing left to do (every viewer has voted on every question)."""


async def _closed_loop(
    workers: int, seconds: float, action: Callable[[], Awaitable[Any]]
) -> tuple[int, int, list[float], float]:
    """`workers` tasks each repeating `action` until time is up: (done, failed, latencies, s)."""
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal failures
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                await action()
            except PhaseDone:
                return  # nothing left to do: the phase ends before its time is up
            except Exception:
                failures += 1
                continue
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return len(latencies), failures, latencies, time.perf_counter() - started


async def _open_loop(
    rate: float, seconds: float, action: Callable[[], Awaitable[Any]]
) -> tuple[int, int, list[float], float]:
    """Start `action` `rate` times a second, whatever the server's pace; latencies are
    measured from each one's scheduled start, so falling behind shows in them."""
    latencies: list[float] = []
    failures = 0
    tasks: list[asyncio.Task] = []
    total = int(rate * seconds)

    async def one(scheduled: float) -> None:
        nonlocal failures
        try:
            await action()
        except Exception:
            failures += 1
            return
        latencies.append(time.perf_counter() - scheduled)

    begin = time.perf_counter()
    for n in range(total):
        scheduled = begin + n / rate
        delay = scheduled - time.perf_counter()
        if time.perf_counter() > begin + seconds * 3:
            break  # far behind: the figures already say so
        if delay > 0.001:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled)))
    await asyncio.gather(*tasks)
    return len(latencies), failures, latencies, time.perf_counter() - begin


def _batching(s: Services) -> tuple[int, int]:
    return s.db.stats.queued_batches, s.db.stats.queued_items


def _per_batch(s: Services, before: tuple[int, int]) -> float:
    """Items stored per queued batch (each batch: a few statements in one transaction)."""
    batches, items = (now - then for now, then in zip(_batching(s), before, strict=True))
    return round(items / max(batches, 1), 1)


async def _timed(name: str, phase: Awaitable[tuple[int, int, list[float], float]]) -> dict:
    """Run a phase; its figures, with the process CPU time each success cost (on a shared
    machine the rate depends on the other load, the CPU per write much less)."""
    cpu = time.process_time()
    figures = _figures(name, await phase)
    done = max(1, round(figures[f"{name}_per_second"] * figures.pop("_elapsed")))
    figures[f"{name}_cpu_us_each"] = round((time.process_time() - cpu) / done * 1e6, 1)
    return figures


def _figures(name: str, result: tuple[int, int, list[float], float]) -> dict[str, float]:
    done, failed, latencies, elapsed = result
    return {
        "_elapsed": elapsed,
        f"{name}_per_second": round(done / elapsed, 1),
        f"{name}_failed": failed,
        f"{name}_p50_ms": round(_percentile(latencies, 0.50) * 1000, 2),
        f"{name}_p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
    }


async def _seeded(s: Services, viewers: int) -> tuple[Any, list[Actor]]:
    await catalog.create_event(s, Actor.system(), {"slug": SLUG, "title": "Write benchmark"})
    event = await catalog.event_by_slug(s, SLUG)
    joined = await asyncio.gather(
        *(asking.join(s, event, f"Viewer {n}", "remote") for n in range(viewers))
    )
    actors = [
        Actor(kind="viewer", id=j["viewer"]["id"], name="viewer", role="viewer", event_id=event.id)
        for j in joined
    ]
    return event, actors


async def run_writes(
    database: str = "sqlite",
    postgres_url: str | None = None,
    seconds: float = 5.0,
    submitters: int = 64,
    rate: float = 5000.0,
    voters: int = 64,
    viewers: int = 2000,
    questions: int = 40,
    max_batch: int | None = None,
) -> dict[str, Any]:
    """Run every phase against a fresh database of the given kind; return the figures."""
    data_dir = tempfile.mkdtemp(prefix="podium-bench-writes-")
    fresh_database = contextlib.AsyncExitStack()
    if database == "postgresql":
        server_url = postgres_url or os.environ.get("PODIUM_TEST_POSTGRES_URL", "")
        if not server_url:
            raise SystemExit("PostgreSQL needs --postgres-url or PODIUM_TEST_POSTGRES_URL")
        database_url = await fresh_database.enter_async_context(fresh_postgres(server_url))
    else:
        database_url = f"sqlite+aiosqlite:///{data_dir}/podium.db"
    overrides: dict[str, Any] = {}
    if max_batch is not None:
        overrides["write_batch_max"] = max_batch
    settings = load_settings(
        env={},
        host="127.0.0.1",
        port=_free_port(),
        data_dir=data_dir,
        database_url=database_url,
        question_rate_per_minute=600,
        vote_rate_per_minute=6000,
        log_level="WARNING",
        **overrides,
    )
    app = create_app(settings)
    gc_tuning.tune_for_serving(app)  # as `podium serve` runs it (server/supervisor.py)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    try:
        s: Services = runner.app[SERVICES]
        figures: dict[str, Any] = {
            "database": database,
            "path": "service (asking.submit/vote)",
            "event_loop": loop_name(asyncio.get_running_loop()),
        }
        started = time.perf_counter()
        event, actors = await _seeded(s, viewers)
        figures["joins_per_second"] = round(viewers / (time.perf_counter() - started), 1)
        authors = itertools.cycle(actors)

        async def submit() -> None:
            await asking.submit(
                s, next(authors), event, uuid.uuid4().hex, "How will this be funded?", None, False
            )

        before = _batching(s)
        figures |= await _timed("submissions", _closed_loop(submitters, seconds, submit))
        figures["submissions_per_batch"] = _per_batch(s, before)
        before = _batching(s)
        figures |= await _timed(f"submissions_at_{int(rate)}", _open_loop(rate, seconds, submit))
        figures[f"submissions_at_{int(rate)}_per_batch"] = _per_batch(s, before)

        staff = Actor(kind="staff", id=None, name="bench", role="moderator")
        targets = []
        for n in range(questions):
            asked = await asking.submit(
                s, actors[n], event, uuid.uuid4().hex, f"Question {n}?", None, False
            )
            await moderation.approve(s, staff, event, asked["id"])
            targets.append(asked["id"])
        pairs = iter(
            [(actor, qid) for qid in targets for actor in actors[questions:]]
        )  # each viewer votes once per question, never on their own

        async def vote() -> None:
            pair = next(pairs, None)
            if pair is None:
                raise PhaseDone
            actor, qid = pair
            result = await asking.vote(s, actor, event, qid, True)
            if not result["changed"]:
                raise AssertionError("a first vote did not count")

        before = _batching(s)
        vote_seconds = min(seconds, (viewers - questions) * questions / 20000)
        figures |= await _timed("votes", _closed_loop(voters, vote_seconds, vote))
        figures["votes_per_batch"] = _per_batch(s, before)
        figures["load_average_1min"] = os.getloadavg()[0]
        return figures
    finally:
        await runner.cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)
        await fresh_database.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.writes", description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--postgres-url", help="a PostgreSQL server (a database is made)")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each phase")
    parser.add_argument("--submitters", type=int, default=64, help="closed-loop submitters")
    parser.add_argument("--rate", type=float, default=5000.0, help="open-loop submissions/s")
    parser.add_argument("--voters", type=int, default=64, help="closed-loop voters")
    parser.add_argument("--viewers", type=int, default=2000)
    parser.add_argument("--max-batch", type=int, help="override write_batch_max")
    parser.add_argument("--event-loop", choices=("auto", "uvloop", "asyncio"), default="auto")
    parser.add_argument("--json", action="store_true", help="print one JSON object per run")
    args = parser.parse_args(argv)
    kinds = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    for kind in kinds:
        # The loop `podium serve` runs on (uvloop where installed), unless told otherwise.
        with asyncio.Runner(loop_factory=lambda: new_serving_loop(args.event_loop)) as loop:
            figures = loop.run(
                run_writes(
                    kind,
                    args.postgres_url,
                    seconds=args.seconds,
                    submitters=args.submitters,
                    rate=args.rate,
                    voters=args.voters,
                    viewers=args.viewers,
                    max_batch=args.max_batch,
                )
            )
        if args.json:
            print(json.dumps(figures))
        else:
            print(f"== durable writes on {kind} ({figures['path']})")
            for key, value in figures.items():
                print(f"  {key:32} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
