"""SQLite's WAL checkpoints run beside the writer, never inside its commits."""

from __future__ import annotations

import asyncio
import struct
import threading

import pytest
from sqlalchemy import func, make_url, select, text

from server.store import checkpoints
from server.store.database import Database
from server.store.models import ViewerRow
from tests.integration import factories


@pytest.fixture
def sqlite_db(db: Database) -> Database:
    if not db.is_sqlite:
        pytest.skip("PostgreSQL has no WAL file to checkpoint")
    return db


async def _write_viewers(db: Database, batches: int, per_batch: int) -> int:
    async with db.write() as work:
        event = await factories.event(work.session)
    for batch in range(batches):
        async with db.write(event.id) as work:
            for n in range(per_batch):
                await factories.viewer(work.session, event, display_name=f"V{batch}-{n}")
    return event.id


def _wal_frames_left(path: str) -> tuple[int, int]:
    """The WAL's frames, and how many of them are already in the database file, as SQLite's
    shared WAL index says (read without a connection, which might checkpoint): the header's
    mxFrame (at byte 16) and the checkpoint record's nBackfill (at byte 96), native order."""
    with open(f"{path}-shm", "rb") as index:
        header = index.read(100)
    (frames,) = struct.unpack_from("=I", header, 16)
    (copied,) = struct.unpack_from("=I", header, 96)
    return frames, copied


async def test_the_writer_leaves_checkpoints_to_the_checkpointer(sqlite_db: Database):
    async with sqlite_db.write() as work:
        assert (await work.session.execute(text("PRAGMA wal_autocheckpoint"))).scalar() == 0
    async with sqlite_db.read() as session:  # other connections keep SQLite's default
        assert (await session.execute(text("PRAGMA wal_autocheckpoint"))).scalar() == 1000


async def test_commits_are_checkpointed_soon_after_a_few_times_a_second(sqlite_db: Database):
    path = make_url(sqlite_db.url).database
    started = asyncio.get_running_loop().time()
    event_id = await _write_viewers(sqlite_db, batches=40, per_batch=20)
    await asyncio.sleep(checkpoints.INTERVAL_S * 2)
    elapsed = asyncio.get_running_loop().time() - started

    assert sqlite_db.checkpoints.runs >= 1
    assert sqlite_db.checkpoints.runs <= elapsed / checkpoints.INTERVAL_S + 1  # not one a commit
    frames, copied = _wal_frames_left(path)
    assert frames > 0 and copied == frames  # everything committed is in the database file
    async with sqlite_db.read() as session:
        count = select(func.count()).select_from(ViewerRow).where(ViewerRow.event_id == event_id)
        assert (await session.execute(count)).scalar_one() == 40 * 20


async def test_a_long_wal_is_restarted_even_under_a_steady_load(sqlite_db: Database):
    sqlite_db.checkpoints.restart_frames = 20  # a few batches' worth
    await _write_viewers(sqlite_db, batches=30, per_batch=20)
    await asyncio.sleep(checkpoints.INTERVAL_S * 2)
    await _write_viewers(sqlite_db, batches=30, per_batch=20)
    await asyncio.sleep(checkpoints.INTERVAL_S * 2)

    assert sqlite_db.checkpoints.restarts >= 1
    frames, copied = _wal_frames_left(make_url(sqlite_db.url).database)
    assert copied == frames


async def test_closing_waits_for_the_checkpoint_under_way(sqlite_db: Database):
    await _write_viewers(sqlite_db, batches=5, per_batch=5)
    await sqlite_db.dispose()  # a checkpoint was nudged by the last commit

    assert sqlite_db.checkpoints._running is None
    assert sqlite_db.checkpoints._connection is None


async def test_a_wal_is_restarted_straight_after_a_passive_pass_and_only_while_it_is_long(
    sqlite_db: Database,
):
    checkpointer = sqlite_db.checkpoints
    checkpointer.restart_frames = 20
    await _write_viewers(sqlite_db, batches=30, per_batch=20)
    await asyncio.sleep(checkpoints.INTERVAL_S * 2)
    assert checkpointer.restarts >= 1
    statements: list[str] = []
    checkpointer._connection.set_trace_callback(statements.append)
    runs, restarts = checkpointer.runs, checkpointer.restarts

    # The next write starts the WAL afresh: a few frames, which no restart follows.
    await _write_viewers(sqlite_db, batches=1, per_batch=1)
    await asyncio.sleep(checkpoints.INTERVAL_S * 2)
    assert checkpointer.runs > runs and checkpointer.restarts == restarts
    passes = [s for s in statements if "wal_checkpoint" in s]
    assert passes == ["PRAGMA wal_checkpoint(PASSIVE)"] * (checkpointer.runs - runs)

    # A long WAL again: each restart comes straight after the passive pass that found it long.
    statements.clear()
    await _write_viewers(sqlite_db, batches=30, per_batch=20)
    await asyncio.sleep(checkpoints.INTERVAL_S * 2)
    passes = [s for s in statements if "wal_checkpoint" in s]
    assert "PRAGMA wal_checkpoint(RESTART)" in passes
    for index, statement in enumerate(passes):
        if statement.endswith("(RESTART)"):
            assert passes[index - 1] == "PRAGMA wal_checkpoint(PASSIVE)"
    frames, copied = _wal_frames_left(make_url(sqlite_db.url).database)
    assert copied == frames


async def test_a_commit_made_while_a_checkpoint_copies_is_checkpointed_after_it(
    sqlite_db: Database,
):
    checkpointer = sqlite_db.checkpoints
    copied_once, go_on = threading.Event(), threading.Event()
    checkpoint = checkpointer._checkpoint

    def checkpoint_then_hold() -> None:
        checkpoint()
        if not copied_once.is_set():  # the first pass: hold it, as a slow sync would
            copied_once.set()
            go_on.wait(timeout=10)

    checkpointer._checkpoint = checkpoint_then_hold
    event_id = await _write_viewers(sqlite_db, batches=1, per_batch=20)
    assert await asyncio.to_thread(copied_once.wait, 10)

    # This commit lands after the first pass read the WAL, while it is still under way.
    await _write_viewers(sqlite_db, batches=1, per_batch=20)
    runs = checkpointer.runs
    go_on.set()
    await asyncio.sleep(checkpoints.INTERVAL_S * 3)

    assert checkpointer.runs == runs + 1
    frames, copied = _wal_frames_left(make_url(sqlite_db.url).database)
    assert frames > 0 and copied == frames
    async with sqlite_db.read() as session:
        count = select(func.count()).select_from(ViewerRow).where(ViewerRow.event_id == event_id)
        assert (await session.execute(count)).scalar_one() == 20
