"""SQLite's WAL checkpoints, run beside the writer rather than inside its commits.

By default the connection whose commit takes the WAL past 1,000 pages copies the WAL back
into the database file and syncs it, in that commit: every few thousand questions, one
batch's commit takes several times as long, and every question queued behind it waits.
Here the writer never checkpoints; after its commits, a checkpoint runs on a connection of
its own on a worker thread, at most one at a time and a few times a second. A PASSIVE
checkpoint waits for nobody and nobody waits for it, so the writer goes on meanwhile.

Under a load that never pauses, passive checkpoints copy the WAL but cannot restart it (a
WAL restarts when a write begins with every frame copied back), so it would grow. Once it
passes `restart_frames`, a RESTART checkpoint follows the passive one: it waits for the
writer's current transaction, and the next write starts the WAL from its beginning.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time

log = logging.getLogger(__name__)

# The least time between two checkpoints: each syncs the database file.
INTERVAL_S = 0.25
# A WAL this long (4 KB pages: about 80 MB) is restarted even under load.
RESTART_FRAMES = 20_000
# How long a RESTART checkpoint waits for the writer's transaction before trying later.
RESTART_WAIT_MS = 2_000


class WalCheckpoints:
    """Checkpoints of one SQLite database file, nudged after each commit."""

    def __init__(self, path: str, restart_frames: int = RESTART_FRAMES) -> None:
        self.path = path
        self.restart_frames = restart_frames
        self.runs = 0  # checkpoints run (for tests and benchmarks)
        self.restarts = 0
        self._connection: sqlite3.Connection | None = None
        self._running: asyncio.Task | None = None
        self._in_thread = False  # the task under way is checkpointing (not waiting to)
        # A commit came while a checkpoint was copying: that pass may have missed its frames.
        self._committed_meanwhile = False
        self._closing = False
        self._last_started = float("-inf")

    def nudge(self) -> None:
        """A commit has added to the WAL: checkpoint soon. A checkpoint waiting to start
        will copy this commit too; one already copying may not, so another follows it."""
        if self._running is None:
            self._start()
        elif self._in_thread:
            self._committed_meanwhile = True

    def _start(self) -> None:
        wait = self._last_started + INTERVAL_S - time.monotonic()
        self._running = asyncio.get_running_loop().create_task(self._run(max(0.0, wait)))

    async def _run(self, wait: float) -> None:
        try:
            if wait:
                await asyncio.sleep(wait)
            self._last_started = time.monotonic()
            self._in_thread = True
            await asyncio.to_thread(self._checkpoint)
        except Exception:  # the next commit tries again; the writer never depended on it
            log.warning("a WAL checkpoint failed", exc_info=True)
        finally:
            self._running = None
            self._in_thread = False
            if self._committed_meanwhile and not self._closing:
                self._committed_meanwhile = False
                self._start()

    def _checkpoint(self) -> None:
        """One checkpoint, on this object's own connection: a passive one, then a restart if
        the WAL it found is that long. Straight after the passive pass, which copied the WAL
        without holding up the writer, the restart (which holds the write lock while it
        copies and syncs) is left only what was committed meanwhile: milliseconds' worth,
        not the quarter of a second since the last checkpoint."""
        if self._connection is None:
            self._connection = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False
            )
        _busy, frames, _copied = self._connection.execute(
            "PRAGMA wal_checkpoint(PASSIVE)"
        ).fetchone()
        self.runs += 1
        if frames < self.restart_frames:
            return
        self._connection.execute(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")
        try:
            self._connection.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        finally:
            self._connection.execute("PRAGMA busy_timeout=0")
        self.restarts += 1

    async def close(self) -> None:
        """Let a checkpoint under way finish (one waiting to start does not), then close the
        connection: the last connection to close checkpoints what is left."""
        self._closing = True
        running = self._running
        if running is not None:
            if not self._in_thread:
                running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
        if self._connection is not None:
            await asyncio.to_thread(self._connection.close)
            self._connection = None
