"""`python -m bench --quick` end to end: the benchmark tool measures what it says it does.

This checks the tool, not the speed: every figure is present and sane, and every viewer of
the load generator received every broadcast, on Podium and on the stock reference.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.settings import PROJECT_ROOT
from tests.conftest import POSTGRES_URL

VIEWERS = 500
BROADCASTS = 8
WARM_UP = 2  # broadcasts to fresh connections before the timed ones, timed apart


def _complete(stage: dict) -> None:
    assert stage["viewers"] == stage["connected"] == stage["synced"] == VIEWERS
    assert stage["connect_failed"] == 0 and stage["sync_refused"] == []
    assert stage["connects_per_second"] > 0
    assert stage["kb_per_viewer"] > 0
    for key, count in (("first_broadcasts", WARM_UP), ("broadcast", BROADCASTS)):
        broadcast = stage[key]
        assert broadcast["complete"] == broadcast["broadcasts"] == count
        assert broadcast["deliveries"] == broadcast["expected_deliveries"] == VIEWERS * count
        assert broadcast["every_viewer_got_every_broadcast"]
        first, last = broadcast["first_viewer_ms"], broadcast["last_viewer_ms"]
        assert last["n"] == count
        assert 0 < first["p50"] <= last["p50"] <= last["p99"] <= last["max"]
        assert broadcast["cpu_us_per_delivery"] > 0


def _bench(tmp_path: Path, *args: str) -> tuple[dict, str]:
    """Run `python -m bench --quick *args`: (its JSON figures, what it printed)."""
    results_file = tmp_path / "results.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(results_file), *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(results_file.read_text()), run.stdout


def _moderator_kept_up(paced: dict) -> None:
    """The moderator (a staff client connected throughout) got every new question."""
    assert paced["moderator_behind_ms"] is not None and paced["moderator_behind_ms"] >= 0


def test_quick_benchmark_reports_every_figure_with_every_broadcast_delivered(tmp_path: Path):
    results, printed = _bench(tmp_path)

    flushes = results["disk"]  # --quick: one second of the disk's own flushes, first
    assert flushes["seconds"] == 1 and flushes["flushes"] > 0
    assert 0 < flushes["p50_ms"] <= flushes["p99_ms"] <= flushes["p999_ms"] <= flushes["max_ms"]
    assert 0 <= flushes["slow_flushes"] <= flushes["flushes"] and flushes["slow_ms"] == 20
    assert "the disk alone" in printed

    podium = results["podium"]
    assert podium["workers"] == 1 and "server in its own process" in printed
    assert [stage["viewers"] for stage in podium["stages"]] == [VIEWERS]
    _complete(podium["stages"][0])

    restart = podium["restart"]
    assert restart["viewers_back"] == VIEWERS and restart["viewers_lost"] == 0
    assert 0 < restart["start_seconds"] < restart["all_back_seconds"]
    assert restart["broadcast_after_reached"] == VIEWERS  # every resynced viewer is live again
    assert restart["processes_left_running"] == podium["processes_left_running_at_end"] == 0

    writes = podium["socket_writes"]
    assert writes["submissions"]["accepted"] == 50 * 2 and writes["submissions"]["refused"] == 0
    assert writes["votes"]["accepted"] == 100 * 4 and writes["votes"]["refused"] == 0
    paced = writes["open_loop_submissions"]  # --quick: 1,000 a second offered for 1 s
    assert paced["accepted"] == 1000 and paced["refused"] == 0
    assert 0 < paced["offered_per_second"] <= 1100
    (swept,) = writes["open_loop_sweep"]  # --quick: one step, 500 a second for 1 s
    assert swept["accepted"] == 500 and swept["refused"] == 0
    assert 0 < swept["offered_per_second"] <= 550
    assert 0 < swept["ack_ms"]["p50"] <= swept["ack_ms"]["p99"]
    assert "highest rate offered with ack p99 <= 20 ms" in printed
    _moderator_kept_up(paced)
    _moderator_kept_up(swept)
    assert "moderator had every new question" in printed
    for kind in ("submissions", "open_loop_submissions", "votes"):
        assert writes[kind]["per_second"] > 0
        assert 0 < writes[kind]["ack_ms"]["p50"] <= writes[kind]["ack_ms"]["p99"]

    (service,) = results["service_writes"]
    assert service.get("database") == "sqlite", service
    assert service["submissions_per_second"] > 0 and service["votes_per_second"] > 0

    stock = results["stock"]
    _complete(stock["stages"][0])

    assert "Podium / stock, fan-out p99" in printed
    assert "Podium / stock, CPU per delivery" in printed
    assert results["machine"]["cores"] >= 1 and results["machine"]["date"]
    assert results["machine"]["probe_ms_before"] > 0 and results["machine"]["probe_ms_after"] > 0
    assert "the host's speed (a fixed Python loop, ms: higher is slower)" in printed


def test_quick_benchmark_runs_podium_as_several_workers_on_postgresql_and_redis(
    tmp_path: Path, redis_url: str
):
    """`--workers 2`: the figures are the two workers' (memory and CPU summed over the
    process tree), every viewer still gets every broadcast through Redis, and the restart
    brings them all back."""
    if not POSTGRES_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests: run scripts/test")
        pytest.skip("PODIUM_TEST_POSTGRES_URL is not set (run scripts/test)")
    results, printed = _bench(
        tmp_path,
        "--workers",
        "2",
        "--database",
        "postgresql",
        "--postgres-url",
        POSTGRES_URL,
        "--redis-url",
        redis_url,
        "--skip-stock",
        "--skip-service-writes",
        "--disk-seconds",
        "0",
    )
    podium = results["podium"]
    assert podium["workers"] == 2 and podium["database"] == "postgresql"
    assert "2 workers sharing the port, with Redis" in printed
    _complete(podium["stages"][0])
    assert podium["restart"]["viewers_back"] == VIEWERS
    assert podium["restart"]["broadcast_after_reached"] == VIEWERS
    # every worker stopped with its supervisor, at the restart and at the end
    assert podium["restart"]["processes_left_running"] == 0
    assert podium["processes_left_running_at_end"] == 0
    writes = podium["socket_writes"]
    assert writes["open_loop_submissions"]["accepted"] == 1000
    _moderator_kept_up(writes["open_loop_submissions"])
    assert "service_writes" not in results and "disk" not in results
