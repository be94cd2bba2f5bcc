"""Run the Alembic migrations from code, on the app's own async engine URL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import create_async_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def upgrade(url: str, revision: str = "head") -> None:
    await _run(url, lambda config: command.upgrade(config, revision))


async def downgrade(url: str, revision: str = "base") -> None:
    await _run(url, lambda config: command.downgrade(config, revision))


async def _run(url: str, action) -> None:
    if url.startswith("sqlite"):
        Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:

            def run(sync_connection) -> None:
                config = alembic_config()
                config.attributes["connection"] = sync_connection
                action(config)

            await connection.run_sync(run)
    finally:
        await engine.dispose()
