"""Leader election on the real PostgreSQL: one process runs the once-per-deployment jobs."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from server.services.leadership import Leadership
from tests.support.waiting import wait_until

ON_POSTGRESQL = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


class Candidate:
    """One process's Leadership, with a job that notes when it starts and stops."""

    def __init__(self, name: str, database_url: str, log: list[str]) -> None:
        self.name, self.log = name, log
        self.leadership = Leadership(database_url, [self.job], check_seconds=0.1)
        self.task: asyncio.Task | None = None

    async def job(self) -> None:
        self.log.append(f"{self.name} starts")
        try:
            await asyncio.Event().wait()
        finally:
            self.log.append(f"{self.name} stops")

    def start(self) -> None:
        self.task = asyncio.create_task(self.leadership.run())

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@ON_POSTGRESQL
async def test_one_process_leads_and_another_takes_over_when_it_stops(database_url):
    log: list[str] = []
    first, second = Candidate("first", database_url, log), Candidate("second", database_url, log)
    first.start()
    await wait_until(lambda: log == ["first starts"], timeout=10)
    second.start()
    await asyncio.sleep(0.5)  # several rounds of asking
    assert log == ["first starts"] and not second.leadership.is_leader

    await first.stop()
    # The flag is set a step before the jobs' tasks first run: wait for the jobs themselves.
    await wait_until(lambda: "second starts" in log, timeout=10)
    assert second.leadership.is_leader
    await second.stop()
    assert log == ["first starts", "first stops", "second starts", "second stops"]


@ON_POSTGRESQL
async def test_a_leader_that_loses_its_connection_stops_its_jobs_and_another_leads(database_url):
    log: list[str] = []
    first, second = Candidate("first", database_url, log), Candidate("second", database_url, log)
    first.start()
    await wait_until(lambda: log == ["first starts"], timeout=10)
    second.start()
    admin = create_async_engine(database_url)
    try:
        async with admin.connect() as connection:  # as when PostgreSQL restarts under it
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks"
                    " WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()"
                )
            )
        await wait_until(lambda: len(log) == 3, timeout=10)
        assert sorted(log) == ["first starts", "first stops", "second starts"]
        assert second.leadership.is_leader and not first.leadership.is_leader
        await asyncio.sleep(0.5)
        assert not first.leadership.is_leader  # it asks again, and waits its turn
    finally:
        await first.stop()
        await second.stop()
        await admin.dispose()


async def test_on_sqlite_the_only_process_leads_at_once(tmp_path):
    log: list[str] = []
    only = Candidate("only", f"sqlite+aiosqlite:///{tmp_path / 'podium.db'}", log)
    only.start()
    await wait_until(lambda: log == ["only starts"], timeout=10)
    assert only.leadership.is_leader
    await only.stop()
    assert log == ["only starts", "only stops"]


class CleansUp:
    """A job whose clean-up after a cancel takes a moment, as closing a connection does."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def job(self) -> None:
        self.log.append("starts")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await asyncio.sleep(0.05)
            self.log.append("cleaned up")
            raise


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_stopping_cancels_each_job_once_and_lets_its_clean_up_finish(database_url):
    log: list[str] = []
    leadership = Leadership(database_url, [CleansUp(log).job, CleansUp(log).job])
    task = asyncio.create_task(leadership.run())
    await wait_until(lambda: log == ["starts", "starts"], timeout=5)

    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert log == ["starts", "starts", "cleaned up", "cleaned up"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_job_that_fails_stops_the_others_and_they_clean_up(database_url):
    log: list[str] = []

    async def fails() -> None:
        await wait_until(lambda: "starts" in log, timeout=5)
        raise RuntimeError("the job broke")

    leadership = Leadership(database_url, [CleansUp(log).job, fails])
    with pytest.raises(RuntimeError, match="the job broke"):
        await leadership.run()
    assert log == ["starts", "cleaned up"]
