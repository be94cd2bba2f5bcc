"""Naming another database on the same server: the benchmarks' and tests' fresh databases."""

from __future__ import annotations

import pytest
from sqlalchemy import make_url

from bench.podium import with_database_name


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://podium@127.0.0.1:54329/podium_test",
        "postgresql+asyncpg://podium:p%40ss@db.example:5432/podium",
        # A Unix socket: the query holds a slash after the database's name.
        "postgresql+asyncpg://podium@/podium?host=/run/postgresql&port=5433",
    ],
)
def test_only_the_database_changes(url):
    renamed = make_url(with_database_name(url, "podium_bench_1"))
    original = make_url(url)

    assert renamed.database == "podium_bench_1"
    assert renamed.set(database=original.database) == original
