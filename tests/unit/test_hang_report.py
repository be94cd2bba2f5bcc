"""The hung-test report names each pending task and where it waits."""

from __future__ import annotations

import asyncio

from tests.support.hang_report import pending_tasks_report


async def _waits_for_a_signal_that_never_comes(signal: asyncio.Event) -> None:
    await signal.wait()


async def test_the_report_lists_each_pending_task_with_where_it_waits():
    waiting = asyncio.create_task(_waits_for_a_signal_that_never_comes(asyncio.Event()))
    await asyncio.sleep(0)
    try:
        report = await asyncio.to_thread(pending_tasks_report)  # as the timer's thread reads
    finally:
        waiting.cancel()
    assert "_waits_for_a_signal_that_never_comes" in report
    assert "await signal.wait()" in report  # its stack, down to the line it waits on
    assert "test_the_report_lists_each_pending_task_with_where_it_waits" in report
