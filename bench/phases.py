"""The measurements, each against a running server and a `Driver` full of viewers."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bench.driver import Driver
from bench.link import OK, Link
from bench.podium import PodiumUnderTest
from bench.servers import ServerProcess

# Broadcast k's trigger: returns (when it was sent, in monotonic ns; the seq it will carry).
Trigger = Callable[[], Awaitable[tuple[int, int]]]

SUBMISSION = '{"client_id":"{uid}","text":"How will the regional plan reach the villages?"}'


def percentile(values: list[float], fraction: float) -> float:
    """Nearest rank: with 50 samples, p99 is the slowest but none."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": round(percentile(values, 0.50), 2),
        "p90": round(percentile(values, 0.90), 2),
        "p99": round(percentile(values, 0.99), 2),
        "max": round(max(values), 2),
    }


async def connect_viewers(
    driver: Driver,
    server: ServerProcess,
    auths: list[dict[str, Any]],
    concurrency: int,
    baseline_rss: int,
    total: int,
) -> dict[str, Any]:
    """Connect `auths` (only the socket connects are timed), sync them, weigh the server."""
    connected = await driver.connect(auths, concurrency)
    synced = await driver.sync()
    await asyncio.sleep(0.5)  # let the syncs' garbage go before weighing
    rss = server.rss_bytes()
    return {
        "viewers": total,
        "connected": connected["connected"],
        "connect_failed": connected["failed"],
        "connect_errors": connected["errors"],
        "connects_per_second": round(connected["per_second"], 1),
        "connect_seconds": round(connected["seconds"], 3),
        "synced": synced["synced"],
        "sync_refused": synced["refused"],
        "seq": synced["seq"],
        "server_rss_mb": round(rss / 2**20, 1),
        "kb_per_viewer": round((rss - baseline_rss) / total / 1024, 2),
    }


async def broadcasts(
    driver: Driver, server: ServerProcess, trigger: Trigger, count: int, timeout: float = 15
) -> dict[str, Any]:
    """Trigger `count` broadcasts one after another; time each until the last viewer has it."""
    expected = await driver.expect()
    cpu_before, load_before = server.cpu_seconds(), driver.cpu_seconds()
    last_ms: list[float] = []
    first_ms: list[float] = []
    incomplete = []
    for _ in range(count):
        sent, seq = await trigger()
        done = await driver.wait_complete(seq, timeout)
        if done is None:
            incomplete.append(seq)
            continue
        last_ms.append((max(r[2] for r in done) - sent) / 1e6)
        first_ms.append((min(r[1] for r in done) - sent) / 1e6)
        await asyncio.sleep(0.02)
    cpu = server.cpu_seconds() - cpu_before
    load_cpu = driver.cpu_seconds() - load_before
    receipts = await driver.receipts()
    delivered = sum(r[0] for r in receipts.values())
    return {
        "viewers": expected,
        "broadcasts": count,
        "complete": count - len(incomplete),
        "incomplete_seqs": incomplete[:5],
        "deliveries": delivered,
        "expected_deliveries": expected * count,
        "every_viewer_got_every_broadcast": delivered == expected * count and not incomplete,
        "last_viewer_ms": summary(last_ms),
        "first_viewer_ms": summary(first_ms),
        "server_cpu_s": round(cpu, 3),
        "cpu_us_per_delivery": round(cpu * 1e6 / max(delivered, 1), 2),
        "loadgen_cpu_us_per_delivery": round(load_cpu * 1e6 / max(delivered, 1), 2),
    }


def approvals(moderator: Link, question_ids: list[int], seq: int) -> Trigger:
    """Podium's trigger: the moderator approves the next pending question; the approval is
    the event's next public update, so its seq is the last one plus one."""
    pending = iter(question_ids)
    state = {"seq": seq}

    async def approve() -> tuple[int, int]:
        question_id = next(pending)
        sent = time.monotonic_ns()
        raw, _ = await moderator.call("approve_question", {"question_id": question_id})
        if OK not in raw[:20]:
            raise RuntimeError(f"approve refused: {raw[:300]!r}")
        state["seq"] += 1
        return sent, state["seq"]

    return approve


def stock_broadcasts(trigger_link: Link) -> Trigger:
    """The reference's trigger: the server acks with the seq it is about to emit."""

    async def broadcast() -> tuple[int, int]:
        sent = time.monotonic_ns()
        raw, _ = await trigger_link.call("broadcast", {})
        return sent, json.loads(raw)[0]["data"]["seq"]

    return broadcast


async def restart(
    driver: Driver,
    podium: PodiumUnderTest,
    deadline_s: float,
    delay_s: float,
    delay_max_s: float,
) -> dict[str, Any]:
    """SIGTERM the server, start it again; every viewer reconnects (socket.io-client's
    backoff) and resyncs with `sync {since}`. Timed from the SIGTERM to the last resync."""
    assert podium.server is not None
    coming_back = asyncio.ensure_future(
        driver.ask("come_back", deadline_s=deadline_s, delay_s=delay_s, delay_max_s=delay_max_s)
    )
    await asyncio.sleep(0.2)  # the workers are now waiting for their links to drop
    killed = time.monotonic_ns()
    left_running = await podium.server.stop()
    stopped_s = (time.monotonic_ns() - killed) / 1e9
    start_s = await podium.start_again()
    ready = time.monotonic_ns()
    results = await coming_back
    last_back = max(r["last_back_ns"] for r in results)
    return {
        "viewers_back": sum(r["back"] for r in results),
        "viewers_lost": sum(r["failed"] for r in results),
        "failures": [f for r in results for f in r["failures"]][:3],
        "stop_seconds": round(stopped_s, 2),
        "processes_left_running": left_running,
        "start_seconds": round(start_s, 2),
        "all_back_seconds": round((last_back - killed) / 1e9, 2) if last_back else None,
        "ready_to_all_back_seconds": round((last_back - ready) / 1e9, 2) if last_back else None,
        "reconnect_delay_seconds": delay_s,
        "reconnect_delay_max_seconds": delay_max_s,
    }


@dataclass(frozen=True)
class Sweep:
    """Open loops at each of `rates` in turn, `seconds` each: where the ack p99 crosses its
    target is the rate one process sustains at that latency."""

    rates: list[float]
    seconds: float


async def socket_writes(
    driver: Driver,
    server: ServerProcess,
    submitters: int,
    per_submitter: int,
    voters: int,
    question_ids: list[int],
    rate: float,
    seconds: float,
    sweep: Sweep,
    moderator: Link | None = None,
) -> dict[str, Any]:
    """Durable submissions then votes over Socket.IO, closed loop: each viewer waits for its
    ack (sent after the commit) before the next; between them, submissions at a steady
    `rate` for `seconds` (open loop), then at each rate of `sweep`. With each, the server's
    and the load generator's CPU time per call: the server's says how close to saturated it
    ran. With `moderator`, each open loop also says when that staff client had them all."""
    share = driver.split(list(range(submitters)))
    cpu = server.cpu_seconds(), driver.cpu_seconds()
    asked = await driver.ask(
        "calls",
        [
            {"name": "submit_question", "templates": [SUBMISSION] * per_submitter, "links": len(s)}
            for s in share
        ],
    )
    submissions = _rate(asked, submitters) | _cpu_per_call(asked, server, driver, cpu)
    open_loop = await paced_submissions(driver, server, submitters, rate, seconds, moderator)
    swept = [
        await paced_submissions(driver, server, submitters, step, sweep.seconds, moderator)
        for step in sweep.rates
    ]
    votes = [f'{{"question_id":{q}}}' for q in question_ids]
    cpu = server.cpu_seconds(), driver.cpu_seconds()
    voted = await driver.ask(
        "calls",
        [
            {"name": "vote", "templates": votes, "links": len(s)}
            for s in driver.split(list(range(voters)))
        ],
    )
    ballots = _rate(voted, voters) | _cpu_per_call(voted, server, driver, cpu)
    return {
        "submissions": submissions,
        "open_loop_submissions": open_loop,
        "open_loop_sweep": swept,
        "votes": ballots,
    }


async def paced_submissions(
    driver: Driver,
    server: ServerProcess,
    submitters: int,
    rate: float,
    seconds: float,
    moderator: Link | None = None,
) -> dict[str, Any]:
    """Durable submissions over Socket.IO, open loop: `rate` a second offered in all (shared
    by the load generator's processes) whatever the acks do, as viewers ask in a real event;
    each ack timed from its own call. A closed loop's ack times only say how many callers
    wait (Little's law: clients ÷ rate); these say how long one caller waits at that rate.

    With `moderator` (a staff client), also how long after the last ack it had the last new
    question: acks do not wait for the pushes, so a push path that falls behind shows only
    here."""
    share = driver.split(list(range(submitters)))
    staff_seq_before = (moderator.last_seq or 0) if moderator is not None else 0
    cpu = server.cpu_seconds(), driver.cpu_seconds()
    paced = await driver.ask(
        "paced_calls",
        [
            {
                "name": "submit_question",
                "template": SUBMISSION,
                "links": len(part),
                "rate": rate / len(share),
                "seconds": seconds,
            }
            for part in share
        ],
    )
    offered = sum(r["offered_per_second"] for r in paced)
    figures = (
        _rate(paced, submitters)
        | _cpu_per_call(paced, server, driver, cpu)
        | {"offered_per_second": round(offered, 1)}
    )
    if moderator is not None:
        last_ack_ns = max(r["finished_ns"] for r in paced)
        last_question_seq = staff_seq_before + figures["accepted"]
        figures["moderator_behind_ms"] = await staff_behind(
            moderator, last_question_seq, last_ack_ns
        )
    return figures


async def staff_behind(
    moderator: Link, seq: int, since_ns: int, timeout_s: float = 30
) -> float | None:
    """How long after `since_ns` the staff client got update `seq`, in ms (0 when it had it
    by then; None when it had not within `timeout_s`). Each submission adds one entry to the
    staff stream, so the phase's last question is `seq` = the seq before it + accepted."""
    deadline = time.monotonic() + timeout_s
    while (moderator.last_seq or 0) < seq:
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(0.002)
    receipt = moderator.swarm.receipts.get(seq)
    arrived_ns = receipt[1] if receipt else time.monotonic_ns()
    return round(max(0, arrived_ns - since_ns) / 1e6, 1)


def _cpu_per_call(
    results: list[dict[str, Any]],
    server: ServerProcess,
    driver: Driver,
    before: tuple[float, float],
) -> dict[str, float]:
    calls = max(1, sum(len(r["latencies_ms"]) + r["refused"] for r in results))
    return {
        "server_cpu_us_each": round((server.cpu_seconds() - before[0]) * 1e6 / calls, 1),
        "loadgen_cpu_us_each": round((driver.cpu_seconds() - before[1]) * 1e6 / calls, 1),
    }


def _rate(results: list[dict[str, Any]], clients: int) -> dict[str, Any]:
    latencies = [value for r in results for value in r["latencies_ms"]]
    span = max(r["finished_ns"] for r in results) - min(r["started_ns"] for r in results)
    return {
        "clients": clients,
        "accepted": len(latencies),
        "refused": sum(r["refused"] for r in results),
        "refusals": [x for r in results for x in r["refusals"]][:3],
        "per_second": round(len(latencies) / (span / 1e9), 1) if span else 0.0,
        "ack_ms": summary(latencies),
    }
