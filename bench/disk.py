"""The disk's own flush times, beside the acknowledgement times they bound.

A durable acknowledgement waits for the commit's flush to disk (SQLite's WAL commit with
`synchronous=FULL`, PostgreSQL's WAL flush), and every submission queued behind that commit
waits with it: no acknowledgement percentile can be better than the disk lets the flushes
be. This appends a block and flushes it (`fdatasync`), a few hundred times a second, in the
directory the benchmark's data lives in, with nothing else running, and reports the tail.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from bench.phases import percentile
from bench.report import OPEN_LOOP_P99_TARGET_MS as SLOW_MS

BLOCK_BYTES = 40_960  # about what one batch's commit appends to SQLite's WAL
PAUSE_S = 0.003  # between flushes: about 300 a second, as the writer commits at 1,000/s
WRAP_BYTES = 80 << 20  # rewrite the file from its start past this, as a WAL restarts


def flush_times(directory: Path, seconds: float) -> dict[str, Any]:
    """Flush `BLOCK_BYTES` appended to a scratch file in `directory` for `seconds`."""
    path = directory / "flush-probe.bin"
    latencies: list[float] = []
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        block, written = b"\0" * BLOCK_BYTES, 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            os.write(descriptor, block)
            written += BLOCK_BYTES
            if written >= WRAP_BYTES:
                os.lseek(descriptor, 0, os.SEEK_SET)
                written = 0
            started = time.perf_counter()
            os.fdatasync(descriptor)
            latencies.append((time.perf_counter() - started) * 1e3)
            time.sleep(PAUSE_S)
    finally:
        os.close(descriptor)
        path.unlink(missing_ok=True)

    def rank(fraction: float) -> float:
        return round(percentile(latencies, fraction), 2)

    return {
        "seconds": seconds,
        "flushes": len(latencies),
        "block_bytes": BLOCK_BYTES,
        "p50_ms": rank(0.5),
        "p99_ms": rank(0.99),
        "p999_ms": rank(0.999),
        "max_ms": round(max(latencies), 2),
        "slow_ms": SLOW_MS,  # the acknowledgement p99 target
        "slow_flushes": sum(latency > SLOW_MS for latency in latencies),
    }


def main(argv: list[str] | None = None) -> None:
    """`python -m bench.disk [DIRECTORY]`: time the flushes where the database will live."""
    parser = argparse.ArgumentParser(prog="bench.disk", description=__doc__)
    parser.add_argument("directory", nargs="?", default=".", type=Path)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args(argv)
    flushes = flush_times(args.directory, args.seconds)
    print(
        f"{flushes['flushes']:,} flushes of {flushes['block_bytes']:,} bytes appended in "
        f"{args.directory.resolve()} over {args.seconds:g} s: p50 {flushes['p50_ms']} ms, "
        f"p99 {flushes['p99_ms']} ms, p99.9 {flushes['p999_ms']} ms, slowest "
        f"{flushes['max_ms']} ms; {flushes['slow_flushes']} over {flushes['slow_ms']} ms"
    )


if __name__ == "__main__":
    main()
