"""A migrated database behind the app's own `Database`, once per database kind."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from server.store.database import Database
from server.store.migrate import upgrade


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await upgrade(database_url)
    database = Database(database_url)
    try:
        yield database
    finally:
        await database.dispose()
