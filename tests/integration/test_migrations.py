"""The migrations go up, come all the way down, go up again, and build what the models say."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from server.store.migrate import downgrade, upgrade
from server.store.models import Base

MODEL_TABLES = set(Base.metadata.tables)


async def table_names(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    return set(names)


async def schema_differences(url: str) -> list:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:

            def compare(sync_connection) -> list:
                context = MigrationContext.configure(sync_connection)
                return compare_metadata(context, Base.metadata)

            return await connection.run_sync(compare)
    finally:
        await engine.dispose()


async def test_migrations_upgrade_downgrade_to_base_and_upgrade_again(database_url: str):
    await upgrade(database_url)
    assert await table_names(database_url) == MODEL_TABLES | {"alembic_version"}

    await downgrade(database_url, "base")
    assert await table_names(database_url) <= {"alembic_version"}

    await upgrade(database_url)
    assert await table_names(database_url) == MODEL_TABLES | {"alembic_version"}


async def test_migrated_schema_matches_the_models(database_url: str):
    await upgrade(database_url)

    assert await schema_differences(database_url) == []
