"""`python -m bench`: issue 7's targets measured against the running app, with a reference.

Starts `podium serve` (a temporary data directory; SQLite unless --database-url), joins
viewers over the HTTP API, then with this package's own Socket.IO load generator measures:
connections per second, server memory per viewer, broadcast fan-out to the last viewer
(a moderator approving a question), server CPU per delivery, a restart with every viewer
reconnecting and resyncing, and durable submissions and votes over Socket.IO. Then the same
load generator measures a stock python-socketio server broadcasting to one room, for the
ratios. The service-path write figures come from `bench.writes`.

    python -m bench                               # 5,000 and 10,000 viewers
    python -m bench --quick                       # 500 viewers, a few broadcasts: a smoke run
    python -m bench --postgres-url URL            # write figures on PostgreSQL too
    python -m bench --database postgresql --postgres-url URL   # Podium itself on PostgreSQL
    python -m bench --json results.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from bench import disk, phases
from bench.driver import Driver, SwarmSpec, raise_open_file_limit, run_fast
from bench.host import loadavg, machine, probe_ms
from bench.loadgen import Swarm
from bench.options import parse_args
from bench.podium import PodiumUnderTest, fresh_postgres
from bench.report import print_report
from bench.servers import (
    PROJECT_ROOT,
    ServerProcess,
    batch_scheduling,
    core_split,
    free_port,
    pin,
    stock_server,
)


class Progress:
    """Says on stderr what the benchmark is doing (a full run takes minutes), and when."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f} s] {message}", file=sys.stderr, flush=True)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    raise_open_file_limit()
    command = " ".join(["python -m bench", *sys.argv[1:]])
    results: dict[str, Any] = {"machine": machine(), "command": command}
    results["machine"]["load_generator_scheduling"] = (
        "normal" if args.loadgen_preempts else "SCHED_BATCH"
    )
    split = core_split(args.pin)
    results["machine"]["pinning"] = (
        f"server on core {sorted(split[0])}, load generator on {sorted(split[1])}"
        if split
        else "none"
    )
    workdir = Path(tempfile.mkdtemp(prefix="podium-bench-"))
    progress = Progress()
    timings = results["phase_seconds"] = {}
    parts = [("disk", run_disk)] if args.disk_seconds > 0 else []
    if not args.skip_podium:
        parts.append(("podium", run_podium))
    if not (args.skip_writes or args.skip_service_writes):
        parts.append(("service_writes", run_service_writes))
    if not args.skip_stock:
        parts.append(("stock", run_stock))
    try:
        for name, part in parts:
            started = time.monotonic()
            try:
                results[name] = await part(args, workdir, progress)
            except Exception as error:  # keep the other parts' figures; say what broke
                progress(f"{name} failed: {type(error).__name__}: {error}")
                results.setdefault("errors", {})[name] = traceback.format_exc()[-3000:]
            timings[name] = round(time.monotonic() - started, 1)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results["machine"] |= {"loadavg_after": loadavg(), "probe_ms_after": probe_ms()}
    return results


async def run_podium(args: argparse.Namespace, workdir: Path, progress: Progress) -> dict:
    async with contextlib.AsyncExitStack() as stack:
        database_url = ""
        if args.database == "postgresql":
            database_url = await stack.enter_async_context(fresh_postgres(args.postgres_url))
        podium = PodiumUnderTest(
            workdir, database_url, workers=args.workers, redis_url=args.redis_url
        )
        return await measure_podium(args, podium, progress)


async def measure_podium(
    args: argparse.Namespace, podium: PodiumUnderTest, progress: Progress
) -> dict[str, Any]:
    out: dict[str, Any] = {"database": args.database, "workers": args.workers}
    progress("starting podium serve")
    out["start_seconds"] = round(await podium.start(), 2)
    cores = core_split(args.pin)
    pin([podium.server.pid], cores and cores[0])
    driver = Driver(SwarmSpec(podium.url, "/viewer", "update"), args.processes)
    moderator = None
    try:
        await podium.seed()
        most = args.viewer_counts[-1]
        progress(f"minting {most + 1:,} viewer tokens over HTTP")
        started = time.monotonic()
        await podium.mint_viewers(most + 1)  # the first is the asker, never connected
        out["tokens_per_second"] = round((most + 1) / (time.monotonic() - started), 1)
        asker, viewer_auths = podium.tokens[0], podium.viewer_auths()[1:]
        per_stage = args.warm_up + args.broadcasts
        question_ids = await podium.submit_questions(asker, per_stage * len(args.viewer_counts) + 1)
        await driver.start()
        pin([p.pid for p in driver.processes], cores and cores[1])
        if not args.loadgen_preempts:
            batch_scheduling([p.pid for p in driver.processes])
        moderator = await staff_link(podium)
        baseline = podium.server.rss_bytes()
        out["server_rss_before_viewers_mb"] = round(baseline / 2**20, 1)
        out["stages"] = []
        connected = 0
        for index, count in enumerate(args.viewer_counts):
            progress(f"connecting and syncing viewers up to {count:,}")
            stage = await phases.connect_viewers(
                driver,
                podium.server,
                viewer_auths[connected:count],
                args.concurrency,
                baseline,
                count,
            )
            out["stages"].append(stage)
            connected = count
            progress(f"{args.warm_up} + {args.broadcasts} broadcasts to {count:,} viewers")
            batch = question_ids[index * per_stage : (index + 1) * per_stage]
            trigger = phases.approvals(moderator, batch, stage["seq"])
            await _broadcasts(args, driver, podium.server, trigger, stage)
        seq = stage["seq"] + per_stage
        # Votes go to approved questions only: a pending one refuses them.
        approved = per_stage * len(args.viewer_counts)
        if not args.skip_restart:
            progress(f"restart with {connected:,} viewers")
            moderator.close()
            out["restart"] = await phases.restart(
                driver,
                podium,
                deadline_s=60,
                delay_s=args.reconnect_delay,
                delay_max_s=args.reconnect_delay_max,
            )
            pin([podium.server.pid], cores and cores[0])
            moderator = await staff_link(podium)
            check = phases.approvals(moderator, question_ids[-1:], seq)
            after = await phases.broadcasts(driver, podium.server, check, 1)
            out["restart"]["broadcast_after_reached"] = after["deliveries"]
        if not args.skip_writes:
            submitters, asks, voters, votes = (50, 2, 100, 4) if args.quick else (200, 25, 1000, 20)
            progress("durable submissions and votes over Socket.IO")
            out["socket_writes"] = await phases.socket_writes(
                driver,
                podium.server,
                min(submitters, connected),
                asks,
                min(voters, connected),
                question_ids[: min(votes, approved)],
                rate=1000 if args.quick else args.open_loop_rate,
                seconds=1 if args.quick else args.open_loop_seconds,
                sweep=phases.Sweep(args.sweep_rates, args.sweep_seconds),
                moderator=moderator,
            )
    except Exception as error:
        raise RuntimeError(
            f"{error!r}; the server's log ends:\n{podium.server.log_tail()}"
        ) from error
    finally:
        if moderator is not None:
            moderator.close()
        await driver.stop()
        out["processes_left_running_at_end"] = await podium.server.stop()
    return out


async def staff_link(podium: PodiumUnderTest):
    swarm = Swarm(podium.url, "/moderator", "update", cookie=podium.cookie)
    link = await swarm.open({"event": podium.slug})
    await link.call("sync", {})
    return link


async def run_stock(args: argparse.Namespace, workdir: Path, progress: Progress) -> dict:
    progress("the reference: stock python-socketio")
    server = stock_server(free_port(), workdir / "stock.log")
    await server.start()
    cores = core_split(args.pin)
    pin([server.pid], cores and cores[0])
    driver = Driver(SwarmSpec(server.url, "/", "broadcast"), args.processes)
    out: dict[str, Any] = {"server": "aiohttp + python-socketio AsyncServer, emit to one room"}
    try:
        await driver.start()
        pin([p.pid for p in driver.processes], cores and cores[1])
        if not args.loadgen_preempts:
            batch_scheduling([p.pid for p in driver.processes])
        trigger_link = await Swarm(server.url, "/", "-").open({"role": "trigger"})
        trigger = phases.stock_broadcasts(trigger_link)
        baseline = server.rss_bytes()
        out["stages"] = []
        connected = 0
        for count in args.viewer_counts:
            auths = [{} for _ in range(count - connected)]
            stage = await phases.connect_viewers(
                driver, server, auths, args.concurrency, baseline, count
            )
            connected = count
            await _broadcasts(args, driver, server, trigger, stage)
            out["stages"].append(stage)
        trigger_link.close()  # an open websocket would hold aiohttp's graceful shutdown up
    finally:
        await driver.stop()
        await server.stop()
    return out


async def _broadcasts(
    args: argparse.Namespace,
    driver: Driver,
    server: ServerProcess,
    trigger: phases.Trigger,
    stage: dict[str, Any],
) -> None:
    """The warm-up broadcasts to a newly connected set of viewers, then the timed ones."""
    if args.warm_up:
        stage["first_broadcasts"] = await phases.broadcasts(driver, server, trigger, args.warm_up)
    stage["broadcast"] = await phases.broadcasts(driver, server, trigger, args.broadcasts)


async def run_disk(args: argparse.Namespace, workdir: Path, progress: Progress) -> dict:
    progress(f"the disk's own flush times, for {args.disk_seconds:g} s")
    return await asyncio.to_thread(disk.flush_times, workdir, args.disk_seconds)


async def run_service_writes(args: argparse.Namespace, _workdir: Path, progress: Progress) -> list:
    """bench.writes (the service-path figures) in its own process, one run per database."""
    progress("bench.writes: durable writes through the services")
    options = ["--json", "--database", "both" if args.postgres_url else "sqlite"]
    if args.postgres_url:
        options += ["--postgres-url", args.postgres_url]
    if args.quick:
        options += ["--seconds", "1", "--viewers", "300", "--rate", "300"]
        options += ["--submitters", "16", "--voters", "16"]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.writes",
        *options,
        cwd=PROJECT_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    output, errors = await process.communicate()
    if process.returncode != 0:
        return [{"error": errors.decode(errors="replace")[-2000:]}]
    return [json.loads(line) for line in output.decode().splitlines() if line.startswith("{")]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv, __doc__)
    results = run_fast(run(args))
    print_report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
