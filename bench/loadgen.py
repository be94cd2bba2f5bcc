"""A light Socket.IO load generator: Engine.IO v4 / Socket.IO v5 over websocket only.

Each connection (`bench.link.Link`) is a bare asyncio Protocol: the HTTP upgrade is written
by hand, frames are parsed just enough to find packets, Engine.IO pings are answered, and the
one watched event (Podium's `update`, the stock server's `broadcast`) is only timestamped and
counted by its `seq`, never decoded. That keeps a receipt at a few microseconds, so one
process holds thousands of viewers. A `Swarm` is one process's connections; `bench.driver`
runs several in worker processes and collects their figures.

Receive times are `time.monotonic_ns()`: CLOCK_MONOTONIC is system-wide, so the process
that triggers a broadcast and the processes that receive it share one clock.
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from bench.link import OK, OPEN, SEQ, Link

# Podium's pages reconnect with these (client_static/js/common.js, RECONNECT).
RECONNECT_DELAY_S = 0.5
RECONNECT_DELAY_MAX_S = 2.0
RANDOMIZATION_FACTOR = 0.5


def reconnect_delays(
    first_s: float, most_s: float, jitter: float = RANDOMIZATION_FACTOR
) -> Iterator[float]:
    """socket.io-client's backoff (its backo2.js): `first_s` doubling per attempt, moved
    by up to ±`jitter` of itself, then capped at `most_s`."""
    attempt = 0
    while True:
        delay = first_s * 2**attempt
        attempt += 1
        rand = random.random()
        deviation = rand * jitter * delay
        delay = delay - deviation if int(rand * 10) % 2 == 0 else delay + deviation
        yield min(delay, most_s)


class Acks:
    """The answers to a run of calls: each accepted one's latency, a sample of refusals."""

    def __init__(self) -> None:
        self.started_ns = time.monotonic_ns()
        self.latencies_ms: list[float] = []
        self.refusals: list[str] = []

    def record(self, sent_ns: int, raw: bytes, acked_ns: int) -> None:
        if OK in raw[:20]:
            self.latencies_ms.append((acked_ns - sent_ns) / 1e6)
        else:
            self.refusals.append(raw[:200].decode(errors="replace"))

    def figures(self) -> dict[str, Any]:
        return {
            "latencies_ms": self.latencies_ms,
            "refused": len(self.refusals),
            "refusals": self.refusals[:3],
            "started_ns": self.started_ns,
            "finished_ns": time.monotonic_ns(),
        }


class Swarm:
    """One process's connections to one namespace, and what they received."""

    def __init__(
        self,
        url: str,
        namespace: str,
        watched_event: str,
        cookie: str = "",
        on_complete: Callable[[int, list[int]], None] | None = None,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        host_port = url.split("://", 1)[1].rstrip("/")
        self.host, port = host_port.rsplit(":", 1)
        self.port = int(port)
        headers = [
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1",
            f"Host: {host_port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: cG9kaXVtLWJlbmNoLWtleQ==",
            "Sec-WebSocket-Version: 13",
            f"Origin: {url.rstrip('/')}",
        ] + ([f"Cookie: {cookie}"] if cookie else [])
        self.upgrade_request = ("\r\n".join(headers) + "\r\n\r\n").encode()
        self.namespace_comma = b"" if namespace == "/" else namespace.encode() + b","
        self.namespace_offset = 2 + len(self.namespace_comma)
        self.watched_prefix = b"42" + self.namespace_comma + f'["{watched_event}",{{'.encode()
        self.links: list[Link] = []
        # seq -> [count, first receive ns, last receive ns]
        self.receipts: dict[int, list[int]] = {}
        self.expected = 0
        self.on_complete = on_complete

    def received(self, seq: int, now: int) -> None:
        receipt = self.receipts.get(seq)
        if receipt is None:
            receipt = self.receipts[seq] = [1, now, now]
        else:
            receipt[0] += 1
            receipt[2] = now
        if receipt[0] == self.expected and self.on_complete is not None:
            self.on_complete(seq, receipt)

    async def open(self, auth: dict[str, Any] | bytes, timeout: float = 30) -> Link:
        """Open one connection and join the namespace; raises when refused."""
        if not isinstance(auth, bytes):
            auth = json.dumps(auth, separators=(",", ":")).encode()
        link = Link(self, auth)
        try:
            await asyncio.wait_for(
                self.loop.create_connection(lambda: link, self.host, self.port), timeout
            )
            await asyncio.wait_for(asyncio.shield(link.joined), timeout)
        except BaseException:
            link.close()
            raise
        return link

    async def connect_all(self, auths: list[dict[str, Any]], concurrency: int) -> dict[str, Any]:
        """Connect one link per auth, `concurrency` at a time; time from first to last."""
        gate = asyncio.Semaphore(concurrency)
        errors: list[str] = []

        async def one(auth: dict[str, Any]) -> None:
            async with gate:
                try:
                    self.links.append(await self.open(auth))
                except (TimeoutError, OSError) as error:
                    errors.append(f"{type(error).__name__}: {error}")

        started = time.monotonic_ns()
        await asyncio.gather(*(one(auth) for auth in auths))
        return {
            "connected": len(self.links),
            "failed": len(errors),
            "errors": errors[:3],
            "started_ns": started,
            "finished_ns": time.monotonic_ns(),
        }

    def live_links(self) -> list[Link]:
        return [link for link in self.links if link.state == OPEN]

    def expect_all(self) -> int:
        """Start counting receipts afresh; a seq is complete when every live link has it."""
        self.receipts = {}
        self.expected = len(self.live_links())
        return self.expected

    async def sync_all(self, concurrency: int = 500) -> dict[str, Any]:
        """Every link not yet synced sends `sync {since}` (its last seen seq, if any)."""
        gate = asyncio.Semaphore(concurrency)
        refused: list[str] = []

        async def one(link: Link) -> None:
            async with gate:
                payload = {} if link.last_seq is None else {"since": link.last_seq}
                raw, _ = await link.call("sync", payload)
                if OK not in raw[:20]:
                    refused.append(raw[:200].decode(errors="replace"))
                    return
                found = SEQ.search(raw, 0, 200)
                if found and link.last_seq is None:
                    link.last_seq = int(found.group(1))
                link.synced = True

        started = time.monotonic_ns()
        waiting = [link for link in self.live_links() if not link.synced]
        await asyncio.gather(*(one(link) for link in waiting))
        return {
            "synced": sum(link.synced for link in self.links),  # earlier stages' too
            "refused": refused[:3],
            "seq": max((link.last_seq or 0 for link in self.links), default=0),
            "ms": (time.monotonic_ns() - started) / 1e6,
        }

    async def calls(self, name: str, templates: list[str], links: int) -> dict[str, Any]:
        """The first `links` live links each send every payload in `templates` in turn,
        waiting for each ack.

        A template is JSON text; `{uid}` in it becomes a fresh hex id per call. Returns the
        ack latencies of accepted calls (ms) and a sample of refusals.
        """
        acks = Acks()

        async def one(link: Link) -> None:
            for template in templates:
                payload = json.loads(template.replace("{uid}", uuid.uuid4().hex))
                sent = time.monotonic_ns()
                acks.record(sent, *await link.call(name, payload))

        await asyncio.gather(*(one(link) for link in self.live_links()[:links]))
        return acks.figures()

    async def paced_calls(
        self, name: str, template: str, links: int, rate: float, seconds: float
    ) -> dict[str, Any]:
        """Open loop: send `rate` calls a second for `seconds`, dealt round-robin to the
        first `links` live links, never waiting for an ack before the next call (a link
        may have several in flight); then wait for every ack. Ack latencies as `calls`."""
        acks = Acks()
        chosen = self.live_links()[:links]
        total = int(rate * seconds)
        outstanding: list[asyncio.Future] = []

        def answered(future: asyncio.Future, sent: int, raw: bytes, acked: int) -> None:
            acks.record(sent, raw, acked)
            future.set_result(None)

        started = acks.started_ns
        sent_count = 0
        while sent_count < total:
            due = min(total, int((time.monotonic_ns() - started) / 1e9 * rate) + 1)
            while sent_count < due:
                link = chosen[sent_count % len(chosen)]
                payload = json.loads(template.replace("{uid}", uuid.uuid4().hex))
                future = self.loop.create_future()
                sent = time.monotonic_ns()
                link.emit(name, payload, functools.partial(answered, future, sent))
                outstanding.append(future)
                sent_count += 1
            await asyncio.sleep(0.002)
        offered_ns = time.monotonic_ns() - started
        await asyncio.wait_for(asyncio.gather(*outstanding), 30)
        return acks.figures() | {"offered_per_second": round(total / (offered_ns / 1e9), 1)}

    async def come_back(
        self,
        deadline_s: float,
        delay_s: float = RECONNECT_DELAY_S,
        delay_max_s: float = RECONNECT_DELAY_MAX_S,
    ) -> dict[str, Any]:
        """After the server went away: reconnect every link as Podium's pages do (see
        `reconnect_delays`), then resync from its last seq."""
        lost = self.links
        self.links = []
        back_at: list[int] = []
        failures: list[str] = []
        deadline = time.monotonic() + deadline_s

        async def one(old: Link) -> None:
            await old.lost
            delays = reconnect_delays(delay_s, delay_max_s)
            while time.monotonic() < deadline:
                await asyncio.sleep(next(delays))
                try:
                    link = await self.open(old.auth, timeout=10)
                except (TimeoutError, OSError):
                    continue
                link.last_seq = old.last_seq
                try:
                    raw, acked = await link.call("sync", {"since": old.last_seq}, timeout=10)
                except (TimeoutError, ConnectionError):
                    link.close()
                    continue
                if OK not in raw[:20]:
                    failures.append(raw[:200].decode(errors="replace"))
                    return
                self.links.append(link)
                back_at.append(acked)
                return
            failures.append("gave up before the deadline")

        await asyncio.gather(*(one(link) for link in lost))
        return {
            "back": len(back_at),
            "failed": len(failures),
            "failures": failures[:3],
            "last_back_ns": max(back_at, default=0),
        }

    def close_all(self) -> None:
        for link in self.links:
            link.close()
        self.links = []
