"""The machine a run measured, and how quick its cores were at the time.

A VM's cores are shared: the same code on the same "2 cores" takes a different time from one
hour to the next, and the figures with it. Each run times a fixed piece of pure Python before
and after, so runs on a quicker or slower stretch of the host can be told apart.
"""

from __future__ import annotations

import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.driver import event_loop_name

PROBE_STEPS = 3_000_000


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = Path("/proc/meminfo").read_text().split()[1]
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(int(memory) / 2**20, 1),
        "python": platform.python_version(),
        "loadavg_before": loadavg(),
        "probe_ms_before": probe_ms(),
        "load_generator_loop": event_loop_name(),
    }


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def probe_ms() -> float:
    """The fixed loop's time in ms, the best of three (the least disturbed): higher is a
    slower host. 120 ms on a quick stretch of the 2-core VM the figures in
    docs/benchmarks.md come from."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for step in range(PROBE_STEPS):
            total += step * step % 7
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)
