"""What the benchmark reads from /proc about a server: one process, or a supervisor and its
workers (`podium serve --workers N`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from bench.servers import ServerProcess, cpu_seconds, process_tree, rss_bytes

# A parent that starts a worker, which burns some CPU and then sleeps; once the worker is
# asleep, the parent says its pid and sleeps too.
WORKER = "sum(range(3_000_000)); print(flush=True); import time; time.sleep(60)"
PARENT = f"""
import subprocess, sys, time
worker = subprocess.Popen([sys.executable, "-c", {WORKER!r}], stdout=subprocess.PIPE)
worker.stdout.readline()
print(worker.pid, flush=True)
time.sleep(60)
"""


def test_a_servers_figures_add_up_its_workers(tmp_path: Path):
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    worker = int(parent.stdout.readline())
    try:
        assert process_tree(parent.pid) == [parent.pid, worker]
        server = ServerProcess(args=[], url="", log_path=tmp_path / "log", env={})
        server.process = parent  # only its pid is read
        assert server.rss_bytes() == rss_bytes(parent.pid) + rss_bytes(worker)
        assert rss_bytes(worker) > 0
        both = server.cpu_seconds()
        assert both >= cpu_seconds(worker) > 0
    finally:
        parent.kill()
        parent.wait()
    try:
        assert process_tree(parent.pid) == [parent.pid]  # its worker is orphaned, not its own
        assert cpu_seconds(parent.pid) == 0.0 and rss_bytes(parent.pid) == 0  # gone: nothing
    finally:
        os.kill(worker, signal.SIGKILL)


def test_a_lone_process_is_its_own_tree():
    alone = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert process_tree(alone.pid) == [alone.pid]
    finally:
        alone.kill()
        alone.wait()
