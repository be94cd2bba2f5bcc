"""`python -m bench.redis_pubsub`: the Redis costs of a push are measured and printed."""

from __future__ import annotations

import re
import subprocess
import sys

from server.settings import PROJECT_ROOT


def test_it_prints_each_cost_of_a_push_through_redis(redis_url: str):
    run = subprocess.run(
        [sys.executable, "-m", "bench.redis_pubsub", redis_url, "--messages", "1000"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("1,000 messages of ")
    figures = {
        label.strip(): float(value)
        for label, value in re.findall(r"^  (.+?\(us[^)]*\))\s+([\d.]+)$", run.stdout, re.M)
    }
    assert set(figures) == {
        "PUBLISH awaited one by one (us each)",
        "PUBLISH in pipelines of 500 (us each)",
        "listener CPU to read one (us)",
    }
    assert all(value > 0 for value in figures.values()), figures
