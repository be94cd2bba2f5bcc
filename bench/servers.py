"""The servers under test, each in its own process, and what /proc says about them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Longer than `podium serve --workers N` gives its workers to stop (server/supervisor.py).
STOP_SECONDS = 40
HELPERS_END_SECONDS = 3
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class ServerProcess:
    """A server started as `python <args>`, reachable at `url`, logging to `log_path`."""

    args: list[str]
    url: str
    log_path: Path
    env: dict[str, str]
    process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self, ready_path: str = "/", timeout: float = 60) -> float:
        """Start the process and wait until `ready_path` answers; returns seconds taken."""
        started = time.monotonic()
        log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            *self.args,
            env=self.env,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
        log.close()
        async with aiohttp.ClientSession() as http:
            while time.monotonic() - started < timeout:
                if self.process.returncode is not None:
                    raise RuntimeError(f"{self.args} exited:\n{self.log_tail()}")
                try:
                    async with http.get(self.url + ready_path) as answer:
                        if answer.status < 500:
                            return time.monotonic() - started
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError(f"{self.args} did not start in {timeout}s:\n{self.log_tail()}")

    async def stop(self, timeout: float = STOP_SECONDS) -> int:
        """SIGTERM, as an operator's restart would; SIGKILL if it does not go. Returns how
        many of its processes (workers) were still running after it had gone, now killed."""
        if self.process is None or self.process.returncode is not None:
            return 0
        descendants = [(pid, started_at(pid)) for pid in process_tree(self.pid)[1:]]
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()

        def still_running() -> list[int]:
            return [pid for pid, started in descendants if started and started_at(pid) == started]

        # Helpers such as multiprocessing's resource tracker end just after the supervisor.
        for _ in range(int(HELPERS_END_SECONDS / 0.05)):
            if not still_running():
                break
            await asyncio.sleep(0.05)
        left = still_running()
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return len(left)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def rss_bytes(self) -> int:
        """Resident memory now (VmRSS), of the server and of its workers if it has any."""
        return sum(rss_bytes(pid) for pid in process_tree(self.pid))

    def cpu_seconds(self) -> float:
        """CPU time so far, of the server and of its workers if it has any."""
        return sum(cpu_seconds(pid) for pid in process_tree(self.pid))


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the process's name (which may hold spaces), from
    its state on: fields[1] is the parent, [11] and [12] user and system time, [19] the start
    time. None once the process has gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def process_tree(pid: int) -> list[int]:
    """`pid` and every live process descended from it (`podium serve --workers N`'s)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        fields = _stat_fields(int(entry.name)) if entry.name.isdigit() else None
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, index = [pid], 0
    while index < len(tree):
        tree.extend(children.get(tree[index], ()))
        index += 1
    return tree


def started_at(pid: int) -> int:
    """When process `pid` started, in clock ticks since boot (0 once it has gone): with the
    pid, it names one process, not a later one given the same pid."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields is not None else 0


def rss_bytes(pid: int) -> int:
    """Resident memory of process `pid` now (VmRSS); 0 once it has gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time process `pid` used so far; 0 once it has gone."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS if fields is not None else 0.0


def core_split(pin: bool) -> tuple[set[int], set[int]] | None:
    """(the server's cores, the load generator's cores), or None to let the scheduler
    place both. Over loopback, each frame the server sends wakes the receiving load
    generator process; on a shared core that wake-up preempts the server in the middle of
    its write loop (a context switch per few frames, charged to the server). Real viewers
    are on other machines, so `--pin` gives the server the first core and the load
    generator the rest, for Podium and for the stock reference alike. Measured on the
    2-core VM (busy): pinned, a wake-up crosses cores (an IPI) and CPU per delivery rose
    from 10.6 to 14.7 µs, so it is not the default."""
    cores = sorted(os.sched_getaffinity(0))
    if not pin or len(cores) < 2:
        return None
    return {cores[0]}, set(cores[1:])


def pin(pids: list[int], cores: set[int] | None) -> None:
    """Keep processes `pids`, every thread of them, on `cores` (None: leave them be)."""
    if cores is None:
        return
    for pid in pids:
        for thread in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(ProcessLookupError):  # a thread that just ended
                os.sched_setaffinity(int(thread.name), cores)


def batch_scheduling(pids: list[int]) -> None:
    """Put processes `pids` (every thread) under SCHED_BATCH: on Linux a batch task woken up
    never preempts a running normal one. Over loopback each frame the server sends wakes a
    load generator process; as a normal task it would preempt the server in the middle of
    its write loop, a context switch every few frames that real viewers, on other machines,
    never cause. The load generator still gets its share of the cores, at the scheduler's
    tick instead. Applied to the workers of Podium's run and of the stock reference alike."""
    for pid in pids:
        for thread in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(ProcessLookupError):
                os.sched_setscheduler(int(thread.name), os.SCHED_BATCH, os.sched_param(0))


def settings_free_environment() -> dict[str, str]:
    """This environment without PODIUM_* settings, so the benchmark's settings file rules."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PODIUM_")}


def podium_server(config_file: Path, port: int, log_path: Path, workers: int = 1) -> ServerProcess:
    serve = ["serve", "--port", str(port), "--workers", str(workers)]
    return ServerProcess(
        args=["-m", "server", "--config", str(config_file), *serve],
        url=f"http://127.0.0.1:{port}",
        log_path=log_path,
        env=settings_free_environment(),
    )


def stock_server(port: int, log_path: Path) -> ServerProcess:
    return ServerProcess(
        args=["-m", "bench.stock_server", "--port", str(port)],
        url=f"http://127.0.0.1:{port}",
        log_path=log_path,
        env={**os.environ},
    )
