"""The `podium` command as an operator uses it: migrate, user add, demo."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import aiohttp

from server.services import auth
from server.store.database import Database
from server.store.models import StaffUserRow
from tests.conftest import free_port

PYTHON = [sys.executable, "-m", "server"]


def run_podium(args: list[str], data_dir: Path, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "PODIUM_DATA_DIR": str(data_dir), "PODIUM_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        PYTHON + args, input=stdin, capture_output=True, text=True, env=env, timeout=60
    )


async def test_migrate_then_user_add_creates_a_staff_account_with_an_argon2_hash(tmp_path):
    migrated = run_podium(["migrate"], tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    added = run_podium(
        ["user", "add", "alice", "--role", "moderator", "--password-stdin"],
        tmp_path,
        stdin="a long enough password\n",
    )
    assert added.returncode == 0, added.stderr
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'podium.db'}")
    try:
        async with db.read() as session:
            user = (await session.execute(StaffUserRow.__table__.select())).one()
    finally:
        await db.dispose()
    assert user.username == "alice" and user.role == "moderator"
    assert user.password_hash.startswith("$argon2")
    assert auth._password_matches(user.password_hash, "a long enough password")


def test_out_of_bounds_setting_stops_start_up_with_a_clear_message(tmp_path):
    env_run = subprocess.run(
        PYTHON + ["migrate"],
        capture_output=True,
        text=True,
        env={**os.environ, "PODIUM_DATA_DIR": str(tmp_path), "PODIUM_MAX_REQUEST_BYTES": "5"},
        timeout=60,
    )
    assert env_run.returncode == 2
    assert "max_request_bytes" in env_run.stderr and "Traceback" not in env_run.stderr


async def test_demo_serves_its_event_and_prints_every_page_and_login(tmp_path):
    port = free_port()
    env = {**os.environ, "PODIUM_LOG_LEVEL": "WARNING"}
    process = await asyncio.create_subprocess_exec(
        *PYTHON,
        "demo",
        "--port",
        str(port),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        printed = ""
        while "chair" not in printed or "password" not in printed.split("chair")[-1]:
            line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
            assert line, f"demo stopped early: {printed}"
            printed += line.decode()
        for page in (
            "/e/safer-communities-2026",
            "/moderate",
            "/chair?room=",
            "/stage/",
            "/overlay/",
            "/admin",
        ):
            assert page in printed
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as client:
            for _attempt in range(50):
                try:
                    async with client.get(f"{base}/healthz") as health:
                        if health.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            async with client.get(f"{base}/api/v1/events/safer-communities-2026") as answer:
                event = await answer.json()
        assert [s["kind"] for s in event["sessions"]].count("workshop") == 2
        assert any(s["kind"] == "panel" for s in event["sessions"])
    finally:
        process.terminate()
        await process.wait()
