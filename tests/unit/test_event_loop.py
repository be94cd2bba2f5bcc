"""The serving loop: an async generator that never finishes closing cannot hold the exit."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from server.event_loop import loop_name, new_serving_loop


async def _stubborn():
    try:
        yield 1
    finally:
        await asyncio.Event().wait()  # its clean-up waits for something that never comes


async def _polite(closed: list[str]):
    try:
        yield 1
    finally:
        await asyncio.sleep(0)
        closed.append("polite")


@pytest.mark.parametrize("choice", ["auto", "asyncio"])
def test_shutdown_closes_generators_and_gives_up_on_one_that_never_closes(choice, caplog):
    loop = new_serving_loop(choice, generators_close_seconds=0.3)
    closed: list[str] = []

    async def start_both():
        stubborn, polite = _stubborn(), _polite(closed)
        await stubborn.__anext__()
        await polite.__anext__()
        return stubborn, polite  # left open, as a cancelled task leaves them

    try:
        generators = loop.run_until_complete(start_both())
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="server.event_loop"):
            loop.run_until_complete(loop.shutdown_asyncgens())
        waited = time.monotonic() - started
    finally:
        loop.close()
    assert closed == ["polite"]  # the ones that can close still do
    assert 0.3 <= waited < 5
    assert "_stubborn" in caplog.text and "test_event_loop.py" in caplog.text
    assert (loop_name(loop) == "asyncio") == (choice == "asyncio")
    del generators
