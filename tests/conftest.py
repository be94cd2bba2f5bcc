"""Shared fixtures: a real database (SQLite and PostgreSQL), the real app on a real port."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import pytest
from aiohttp import web

from bench.podium import fresh_postgres
from server.app import create_app
from server.event_loop import new_serving_loop
from server.settings import CONFIG_DIR, Settings, load_settings
from tests.support.clients import Podium

POSTGRES_URL = os.environ.get("PODIUM_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("PODIUM_TEST_REDIS_URL", "")
DATABASES = ["sqlite", "postgresql"]

pytest_plugins = ["tests.support.hang_report"]


def pytest_asyncio_loop_factories(config, item):
    """Tests run on the loop `podium serve` runs on (its asyncio kind): at a test's end, an
    async generator that never finishes closing is named and left after a few seconds, as
    when a worker stops, instead of holding the suite until the test's timeout."""
    return {"serving": partial(new_serving_loop, "asyncio")}


def pytest_collection_modifyitems(config, items):
    """Without a PostgreSQL server, its tests skip locally; in CI they must not."""
    if POSTGRES_URL:
        return
    if os.environ.get("CI"):
        raise pytest.UsageError("CI must run the PostgreSQL tests: run scripts/test")
    skip = pytest.mark.skip(reason="PODIUM_TEST_POSTGRES_URL is not set (run scripts/test)")
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("database_url") == "postgresql":
            item.add_marker(skip)


@pytest.fixture(params=DATABASES)
async def database_url(request, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of each kind; PostgreSQL gets a fresh database per test."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'podium.db'}"
        return
    async with fresh_postgres(POSTGRES_URL, prefix="podium_t") as url:
        yield url


@pytest.fixture
def redis_url() -> str:
    """The test Redis server's URL; its tests skip locally without one, never in CI."""
    if not REDIS_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must run the Redis tests: run scripts/test")
        pytest.skip("PODIUM_TEST_REDIS_URL is not set (run scripts/test)")
    return REDIS_URL


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_settings(database_url: str, data_dir: Path, **overrides) -> Settings:
    port = free_port()
    return load_settings(
        CONFIG_DIR / "test.toml",
        env={},
        port=port,
        data_dir=str(data_dir),
        database_url=database_url,
        **overrides,
    )


async def start_app(settings: Settings) -> web.AppRunner:
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    return runner


@contextlib.asynccontextmanager
async def podium_with(database_url: str, data_dir: Path, **overrides) -> AsyncIterator[Podium]:
    """The real app on a real port, seeded, with some settings changed (e.g. a rate limit)."""
    settings = test_settings(database_url, data_dir, **overrides)
    runner = await start_app(settings)
    client = Podium(settings, runner.app)
    try:
        await client.seed()
        yield client
    finally:
        await client.close()
        await runner.cleanup()


@pytest.fixture
async def podium(database_url: str, tmp_path: Path) -> AsyncIterator[Podium]:
    """The real app, served on a real port, with a seeded event and one user per role."""
    async with podium_with(database_url, tmp_path) as client:
        yield client
