"""The disk probe: it times real flushes, and leaves nothing behind in the directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import disk


def test_flush_times_are_ordered_and_the_scratch_file_is_removed(tmp_path: Path):
    flushes = disk.flush_times(tmp_path, 0.3)

    assert flushes["flushes"] > 0 and flushes["block_bytes"] == disk.BLOCK_BYTES
    assert 0 < flushes["p50_ms"] <= flushes["p99_ms"] <= flushes["p999_ms"] <= flushes["max_ms"]
    assert 0 <= flushes["slow_flushes"] <= flushes["flushes"]
    assert list(tmp_path.iterdir()) == []


def test_the_command_prints_the_tail_for_the_directory_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    disk.main([str(tmp_path), "--seconds", "0.2"])

    printed = capsys.readouterr().out
    assert f"appended in {tmp_path.resolve()} over 0.2 s" in printed
    assert "p99.9" in printed and "over 20 ms" in printed
    assert list(tmp_path.iterdir()) == []
