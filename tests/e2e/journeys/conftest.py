"""Every journey module: one Chromium for the module, a fresh seeded app for each test."""

from __future__ import annotations

import pytest_asyncio

from tests.support.browser import chromium
from tests.support.journeys import journey_app


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser():
    async with chromium() as shared:
        yield shared


@pytest_asyncio.fixture(loop_scope="module")
async def podium(tmp_path):
    async with journey_app(tmp_path) as app:
        yield app
