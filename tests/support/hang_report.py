"""What a hung test was waiting on, and what a test's loop could not close.

pytest-timeout prints each thread's stack, but a hung asyncio test is a loop waiting in
`select`: what matters is which tasks are pending, and where. Shortly before the timeout,
this adds every pending task's stack to the test's report.

Tests run on the serving loop (tests/conftest.py), which gives up on an async generator that
never finishes closing at the loop's end and logs it: those are listed at the end of the run.
"""

from __future__ import annotations

import asyncio
import gc
import io
import logging
import os
import threading

import pytest

# Seconds before pytest-timeout's limit at which the tasks are reported.
MARGIN_S = 30.0


def pending_tasks_report() -> str:
    """Every open event loop's pending tasks, each with its stack (read from any thread)."""
    out = io.StringIO()
    loops = [
        found
        for found in gc.get_objects()
        if isinstance(found, asyncio.AbstractEventLoop) and not found.is_closed()
    ]
    for loop in loops:
        tasks: list[asyncio.Task] = []
        for _ in range(5):  # read while the loop may still run: the set can change meanwhile
            found = _tasks_of(loop)
            if found is not None:
                tasks = found
                break
        out.write(f"{loop!r} (running: {loop.is_running()}): {len(tasks)} pending tasks\n")
        for task in tasks:
            out.write(f"\n{task!r}\n")
            task.print_stack(limit=12, file=out)
    return out.getvalue()


def _tasks_of(loop: asyncio.AbstractEventLoop) -> list[asyncio.Task] | None:
    try:
        return [task for task in asyncio.all_tasks(loop) if not task.done()]
    except RuntimeError:  # the set changed size while being read
        return None


def _report(item: pytest.Item, after_s: float) -> None:
    text = f"still running after {after_s:.0f} s\n{pending_tasks_report()}"
    item.add_report_section("teardown", "pending asyncio tasks", text)


class _LeftOpen(logging.Handler):
    """The serving loop's warnings that it left async generators open, by test: those at a
    test's teardown, where its loop closes (a test of the loop itself makes its own)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.test = ""
        self.tearing_down = False
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if self.tearing_down:
            self.lines.append(f"{self.test}: {record.getMessage()}")


_left_open = _LeftOpen()
logging.getLogger("server.event_loop").addHandler(_left_open)


def pytest_terminal_summary(terminalreporter) -> None:
    if _left_open.lines:
        terminalreporter.section("async generators left open at a test loop's end")
        for line in _left_open.lines:
            terminalreporter.line(line)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item):
    _left_open.tearing_down = True
    try:
        yield
    finally:
        _left_open.tearing_down = False


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    _left_open.test = item.nodeid
    limit = float(os.environ.get("PODIUM_TEST_HANG_REPORT_S") or 0) or (
        float(item.config.getini("timeout") or 0) - MARGIN_S
    )
    timer = None
    if limit > 0:
        timer = threading.Timer(limit, _report, args=(item, limit))
        timer.daemon = True
        timer.start()
    try:
        yield
    finally:
        if timer is not None:
            timer.cancel()
