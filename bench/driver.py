"""Runs `bench.loadgen` swarms in worker processes and gathers what they saw.

The benchmark's own process keeps the few connections that act (a moderator, a trigger
client) and drives the workers over socket pairs; workers hold the viewers. A worker tells the
driver as soon as every one of its viewers has a broadcast, so the driver knows when the
last viewer anywhere got it without polling.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import pickle
import resource
import socket
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from bench.loadgen import Swarm
from bench.servers import cpu_seconds

T = TypeVar("T")

# What the driver may ask a worker's swarm to do.
WORKER_COMMANDS = frozenset(
    {
        "connect_all",
        "sync_all",
        "calls",
        "paced_calls",
        "come_back",
        "expect_all",
        "close_all",
        "receipts",
    }
)


def raise_open_file_limit() -> int:
    """Every connection is a file descriptor: lift the soft limit to the hard one."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


@dataclass(frozen=True)
class SwarmSpec:
    url: str
    namespace: str
    watched_event: str
    cookie: str = ""


def run_fast(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` on uvloop when it is installed: it halves the CPU each receipt costs, so the
    load generator leaves the server its core. Plain asyncio otherwise."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def event_loop_name() -> str:
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    return f"uvloop {uvloop.__version__}"


def _worker_main(channel: socket.socket, spec: SwarmSpec) -> None:
    raise_open_file_limit()
    # Fewer, later collections: a pause here would show up as server latency.
    gc.set_threshold(50_000, 50, 1000)
    run_fast(_serve(channel, spec))


# Messages between the driver and a worker: a 4-byte length, then a pickle. Streams rather
# than multiprocessing pipes, because uvloop makes every watched descriptor non-blocking.
def _frame(message: Any) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return len(data).to_bytes(4, "big") + data


async def _read(reader: asyncio.StreamReader) -> Any:
    size = int.from_bytes(await reader.readexactly(4), "big")
    return pickle.loads(await reader.readexactly(size))


async def _serve(channel: socket.socket, spec: SwarmSpec) -> None:
    reader, writer = await asyncio.open_connection(sock=channel)

    def complete(seq: int, receipt: list[int]) -> None:
        writer.write(_frame(("complete", seq, list(receipt))))

    swarm = Swarm(spec.url, spec.namespace, spec.watched_event, spec.cookie, complete)

    async def run(request_id: int, name: str, kwargs: dict[str, Any]) -> None:
        try:
            if name == "receipts":
                result: Any = swarm.receipts
            else:
                outcome = getattr(swarm, name)(**kwargs)
                result = await outcome if asyncio.iscoroutine(outcome) else outcome
            writer.write(_frame(("reply", request_id, True, result)))
        except Exception as error:  # reported to the driver, which raises it there
            writer.write(_frame(("reply", request_id, False, f"{type(error).__name__}: {error}")))

    tasks = set()
    try:
        while True:
            request_id, name, kwargs = await _read(reader)
            task = asyncio.create_task(run(request_id, name, kwargs))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass  # the driver hung up: the benchmark is over
    finally:
        swarm.close_all()


class WorkerError(RuntimeError):
    """A worker's command failed."""


class Driver:
    """Worker processes, each with one swarm of connections to the same namespace."""

    def __init__(self, spec: SwarmSpec, processes: int) -> None:
        self.spec = spec
        self.process_count = processes
        self.processes: list[multiprocessing.Process] = []
        self.writers: list[asyncio.StreamWriter] = []
        self._listeners: list[asyncio.Task] = []
        self._replies: dict[int, asyncio.Future] = {}
        self._next_id = 0
        self._completions: dict[int, list[list[int]]] = {}
        self._complete_waiters: dict[int, asyncio.Future] = {}

    async def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        for _ in range(self.process_count):
            mine, theirs = socket.socketpair()
            process = context.Process(target=_worker_main, args=(theirs, self.spec), daemon=True)
            process.start()
            theirs.close()
            reader, writer = await asyncio.open_connection(sock=mine)
            self.processes.append(process)
            self.writers.append(writer)
            self._listeners.append(asyncio.create_task(self._listen(reader)))

    async def _listen(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                self._dispatch(await _read(reader))
        except (asyncio.IncompleteReadError, ConnectionError):
            for future in self._replies.values():
                if not future.done():
                    future.set_exception(WorkerError("a worker process died"))

    def _dispatch(self, message: tuple) -> None:
        if message[0] == "complete":
            _, seq, receipt = message
            done = self._completions.setdefault(seq, [])
            done.append(receipt)
            waiter = self._complete_waiters.get(seq)
            if len(done) == self.process_count and waiter and not waiter.done():
                waiter.set_result(done)
            return
        _, request_id, ok, result = message
        future = self._replies.pop(request_id)
        if ok:
            future.set_result(result)
        else:
            future.set_exception(WorkerError(result))

    async def ask(self, name: str, per_worker: list[dict[str, Any]] | None = None, **same) -> list:
        """Run swarm method `name` in every worker (kwargs per worker, or the same for all)."""
        assert name in WORKER_COMMANDS, name
        loop = asyncio.get_running_loop()
        futures = []
        for index, writer in enumerate(self.writers):
            self._next_id += 1
            future = loop.create_future()
            self._replies[self._next_id] = future
            kwargs = per_worker[index] if per_worker is not None else same
            writer.write(_frame((self._next_id, name, kwargs)))
            futures.append(future)
        return await asyncio.gather(*futures)

    def split(self, items: list) -> list[list]:
        """Deal `items` out to the workers round-robin."""
        return [items[index :: self.process_count] for index in range(self.process_count)]

    async def connect(self, auths: list[dict[str, Any]], concurrency: int) -> dict[str, Any]:
        """Connect every viewer (spread over the workers); rate is over the whole span."""
        share = max(1, concurrency // self.process_count)
        results = await self.ask(
            "connect_all", [{"auths": a, "concurrency": share} for a in self.split(auths)]
        )
        span = max(r["finished_ns"] for r in results) - min(r["started_ns"] for r in results)
        connected = sum(r["connected"] for r in results)
        return {
            "connected": connected,
            "failed": sum(r["failed"] for r in results),
            "errors": [e for r in results for e in r["errors"]][:3],
            "seconds": span / 1e9,
            "per_second": connected / (span / 1e9) if span else 0.0,
        }

    async def sync(self) -> dict[str, Any]:
        results = await self.ask("sync_all")
        return {
            "synced": sum(r["synced"] for r in results),
            "refused": [e for r in results for e in r["refused"]][:3],
            "seq": max(r["seq"] for r in results),
        }

    async def expect(self) -> int:
        """Reset the receipt counts; returns how many live viewers must get each broadcast."""
        self._completions.clear()
        return sum(await self.ask("expect_all"))

    async def wait_complete(self, seq: int, timeout: float) -> list[list[int]] | None:
        """Wait until every viewer has broadcast `seq`; the per-worker [count, first, last]."""
        done = self._completions.get(seq, [])
        if len(done) == self.process_count:
            return done
        waiter = asyncio.get_running_loop().create_future()
        self._complete_waiters[seq] = waiter
        try:
            return await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            return None
        finally:
            self._complete_waiters.pop(seq, None)

    async def receipts(self) -> dict[int, list[int]]:
        """Per seq: [viewers that got it, first receive ns, last receive ns], all workers."""
        merged: dict[int, list[int]] = {}
        for part in await self.ask("receipts"):
            for seq, (count, first, last) in part.items():
                if seq in merged:
                    total = merged[seq]
                    merged[seq] = [total[0] + count, min(total[1], first), max(total[2], last)]
                else:
                    merged[seq] = [count, first, last]
        return merged

    def cpu_seconds(self) -> float:
        """CPU time the worker processes used so far: what the load generator costs."""
        return sum(cpu_seconds(process.pid) for process in self.processes)

    async def stop(self) -> None:
        for writer in self.writers:
            writer.close()  # a worker closes its connections and exits when its driver hangs up
        for listener in self._listeners:
            listener.cancel()
        deadline = time.monotonic() + 5
        for process in self.processes:
            await asyncio.to_thread(process.join, max(0.1, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
