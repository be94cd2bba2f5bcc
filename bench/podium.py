"""Podium under test: `podium serve` on a temporary data directory, seeded over its own API.

The benchmark configures Podium only through a settings file (higher per-viewer rate limits,
quieter logs); nothing in the server is patched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bench.servers import (
    PROJECT_ROOT,
    ServerProcess,
    free_port,
    podium_server,
    settings_free_environment,
)

# Per-viewer limits high enough that a benchmark viewer asking or voting fast is not refused.
BENCH_SETTINGS = {
    "log_level": "WARNING",
    "question_rate_per_minute": 600,
    "vote_rate_per_minute": 6000,
}


def with_database_name(url: str, name: str) -> str:
    """`url` naming database `name` instead: its other parts kept, the query too (a Unix
    socket's `?host=/run/postgresql`, which would hold the last slash)."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@contextlib.asynccontextmanager
async def fresh_postgres(server_url: str, prefix: str = "podium_bench") -> AsyncIterator[str]:
    """A new, empty database on the PostgreSQL server at `server_url`, dropped afterwards."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield with_database_name(server_url, name)
    finally:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.dispose()


@dataclass
class PodiumUnderTest:
    """A running Podium with one event, one admin login and minted viewer tokens."""

    workdir: Path
    database_url: str = ""
    workers: int = 1  # above 1: `podium serve --workers N`, on PostgreSQL and Redis
    redis_url: str = ""
    server: ServerProcess | None = None
    slug: str = field(default_factory=lambda: f"bench-{secrets.token_hex(4)}")
    username: str = field(default_factory=lambda: f"bench-{secrets.token_hex(4)}")
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    cookie: str = ""
    csrf: str = ""
    tokens: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    async def start(self) -> float:
        """Write the settings, create the admin account, start the server: seconds to ready."""
        port = free_port()
        config = self.workdir / "podium.toml"
        values = {**BENCH_SETTINGS, "data_dir": str(self.workdir / "data"), "port": port}
        if self.database_url:
            values["database_url"] = self.database_url
        if self.redis_url:
            values["redis_url"] = self.redis_url
        config.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()))
        add_user = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "server",
            "--config",
            str(config),
            "user",
            "add",
            self.username,
            "--role",
            "admin",
            "--password-stdin",
            cwd=PROJECT_ROOT,
            env=settings_free_environment(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await add_user.communicate(self.password.encode() + b"\n")
        if add_user.returncode != 0:
            raise RuntimeError(f"podium user add failed:\n{output.decode()}")
        self.server = podium_server(config, port, self.workdir / "podium.log", self.workers)
        return await self.start_again()

    async def start_again(self) -> float:
        assert self.server is not None
        return await self.server.start(ready_path="/healthz")

    async def seed(self) -> None:
        """Log in as the admin and create the benchmark's event."""
        async with self._http() as http:
            body = await self._ok(
                http,
                "POST",
                "/api/v1/auth/login",
                {"username": self.username, "password": self.password},
            )
            self.csrf = body["csrf_token"]
            self.cookie = "; ".join(f"{c.key}={c.value}" for c in http.cookie_jar)
            await self._ok(
                http,
                "POST",
                "/api/v1/events",
                {"slug": self.slug, "title": "Benchmark event"},
                headers={"X-CSRF-Token": self.csrf},
            )

    async def mint_viewers(self, count: int, concurrency: int = 32) -> None:
        """Join `count` viewers over the HTTP API (as pages do) and keep their tokens."""
        gate = asyncio.Semaphore(concurrency)
        path = f"/api/v1/events/{self.slug}/viewers"

        async def join(http: aiohttp.ClientSession) -> str:
            async with gate:
                return (await self._ok(http, "POST", path, {"display_name": "Bench viewer"}))[
                    "token"
                ]

        async with self._http(limit=concurrency) as http:
            self.tokens += await asyncio.gather(*(join(http) for _ in range(count)))

    async def submit_questions(self, token: str, count: int) -> list[int]:
        """One viewer asks `count` questions over HTTP; they wait for moderation."""
        path = f"/api/v1/events/{self.slug}/questions"
        ids = []
        async with self._http() as http:
            for n in range(count):
                body = await self._ok(
                    http,
                    "POST",
                    path,
                    {"client_id": secrets.token_hex(8), "text": f"Benchmark question {n}: " * 3},
                    headers={"Authorization": f"Bearer {token}"},
                )
                ids.append(body["id"])
        return ids

    def viewer_auths(self) -> list[dict[str, Any]]:
        return [{"token": token} for token in self.tokens]

    def _http(self, limit: int = 8) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            base_url=self.url,
            headers={"Origin": self.url},
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            connector=aiohttp.TCPConnector(limit=limit),
        )

    @staticmethod
    async def _ok(http: aiohttp.ClientSession, method: str, path: str, body: Any, **kw) -> Any:
        async with http.request(method, path, json=body, **kw) as answer:
            payload = await answer.json(content_type=None)
            if answer.status >= 300:
                raise RuntimeError(f"{method} {path}: {answer.status} {payload}")
            return payload
