"""Benchmark: server CPU per WebRTC ingest and per WebRTC watcher, and the cap that follows.

Starts `podium serve` in its own process (SQLite, a fresh data folder), publishes a generated
picture and tone over WHIP from a second process, connects N watchers over WHEP from a third,
and reads the server's CPU time (all its threads: aiortc decodes and encodes in threads) from
/proc/<pid>/stat over a window in each phase: idle, one ingest, one ingest and N watchers.

    python -m bench.webrtc                      # 360p and 720p, 3 watchers, 8 s windows
    python -m bench.webrtc --hls                # the same with HLS packaging of the ingest
    python -m bench.webrtc --sizes 640x360 --watchers 4 --window 10

Per watcher = (CPU with watchers - CPU with the ingest alone) / N; per ingest = CPU with the
ingest - CPU idle. Both in % of one core. The cap printed is what keeps the watchers' encodes
within 70% of all cores: cores × 70 / per-watcher %.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime

import aiohttp
from aiortc.mediastreams import MediaStreamError

from tests.support.webrtc_client import publish, watch

PASSWORD = "bench password for webrtc"
SLUG = "webrtc-bench"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process (every thread), in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


async def cpu_percent(pid: int, window: float) -> float:
    before, started = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(window)
    return 100 * (cpu_seconds(pid) - before) / (time.monotonic() - started)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def start_server(data_dir: str, port: int, hls: bool) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "PODIUM_DATA_DIR": data_dir,
        "PODIUM_LOG_LEVEL": "WARNING",
        "PODIUM_WEBRTC_MAX_WATCHERS": "1000",
        "PODIUM_WEBRTC_HLS": "on" if hls else "off",
    }
    add = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "server", "user", "add", "bench", "--role", "admin"),
        "--password-stdin",
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
    )
    await add.communicate(f"{PASSWORD}\n".encode())
    server = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "server", "serve", "--port", str(port)), env=env
    )
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as answer:
                    if answer.status == 200:
                        return server
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("podium serve did not start")


async def prepare(base: str) -> dict[str, str]:
    """An event with one room, an organiser session and the room's publish token."""
    jar = aiohttp.CookieJar(unsafe=True)  # keeps cookies of a bare IP address
    async with aiohttp.ClientSession(
        base_url=base, headers={"Origin": base}, cookie_jar=jar
    ) as http:
        async with http.post(
            "/api/v1/auth/login", json={"username": "bench", "password": PASSWORD}
        ) as answer:
            login = await answer.json()
            cookie = answer.cookies["podium_session"].value
        headers = {"X-CSRF-Token": login["csrf_token"]}
        event = {"slug": SLUG, "title": "WebRTC benchmark"}
        async with http.post("/api/v1/events", json=event, headers=headers) as answer:
            assert answer.status == 201, await answer.text()
        room = {"slug": "main", "name": "Main"}
        async with http.post(f"/api/v1/events/{SLUG}/rooms", json=room, headers=headers) as r:
            room_id = (await r.json())["id"]
        async with http.post(
            f"/api/v1/events/{SLUG}/rooms/{room_id}/publish-token", headers=headers
        ) as answer:
            token = (await answer.json())["token"]
    return {"room": str(room_id), "token": token, "cookie": cookie, **headers}


# --- client processes --------------------------------------------------------------------


async def run_publisher(base: str, room: int, token: str, width: int, height: int) -> None:
    async with aiohttp.ClientSession(base_url=base) as http:
        headers = {"Authorization": f"Bearer {token}"}
        session = await publish(http, room, headers, width, height, moving=True)
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        await session.close()


async def run_watchers(base: str, room: int, cookie: str, csrf: str, count: int) -> None:
    headers = {"Origin": base, "Cookie": f"podium_session={cookie}", "X-CSRF-Token": csrf}
    async with aiohttp.ClientSession(base_url=base, headers=headers) as http:
        sessions = [await watch(http, room) for _ in range(count)]
        for session in sessions:
            await session.next_frame()
        frames = [0] * count

        async def count_frames(index: int) -> None:
            with contextlib.suppress(MediaStreamError):  # the server hung up
                while True:
                    await sessions[index].next_frame()
                    frames[index] += 1

        counters = [asyncio.create_task(count_frames(i)) for i in range(count)]
        print("ready", flush=True)
        started = time.monotonic()
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        elapsed = time.monotonic() - started
        for counter in counters:
            counter.cancel()
        print(json.dumps({"fps": [round(n / elapsed, 1) for n in frames]}), flush=True)
        for session in sessions:
            await session.close()


async def client(*args: str) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bench.webrtc", *args),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
    if line.strip() != b"ready":
        raise RuntimeError(f"client {args[0]} failed: {line!r}")
    return process


async def finish(process: asyncio.subprocess.Process) -> bytes:
    output, _ = await process.communicate(b"stop\n")
    return output


# --- the measurement -----------------------------------------------------------------------


async def measure(sizes: list[tuple[int, int]], watchers: int, window: float, hls: bool) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data_dir:
        server = await start_server(data_dir, port, hls)
        try:
            ids = await prepare(base)
            await asyncio.sleep(1)
            idle = await cpu_percent(server.pid, window)
            print(f"server idle: {idle:.1f}% of one core")
            for width, height in sizes:
                size = f"{width}x{height}"
                publisher = await client("publish", base, ids["room"], ids["token"], size)
                await asyncio.sleep(2)  # let the bit rate and the decoder settle
                ingest = await cpu_percent(server.pid, window)
                audience = await client(
                    "watch", base, ids["room"], ids["cookie"], ids["X-CSRF-Token"], str(watchers)
                )
                await asyncio.sleep(2)
                watched = await cpu_percent(server.pid, window)
                fps = json.loads((await finish(audience)).decode().strip().splitlines()[-1])["fps"]
                await finish(publisher)
                await asyncio.sleep(1)
                per_ingest = ingest - idle
                per_watcher = (watched - ingest) / watchers
                cores = os.cpu_count() or 1
                cap = int(cores * 70 / per_watcher) if per_watcher > 0 else 0
                print(
                    f"{size}{' +HLS' if hls else ''}: ingest {per_ingest:.1f}% of a core; "
                    f"with {watchers} watchers {watched:.1f}% -> {per_watcher:.1f}% per watcher; "
                    f"watchers received {fps} frames/s; cap at 70% of {cores} cores: {cap}"
                )
        finally:
            server.terminate()
            await server.wait()


def describe_machine() -> str:
    model = ""
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, {when}"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "publish":
        _, _, base, room, token, size = sys.argv
        width, height = (int(n) for n in size.split("x"))
        asyncio.run(run_publisher(base, int(room), token, width, height))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "watch":
        _, _, base, room, cookie, csrf, count = sys.argv
        asyncio.run(run_watchers(base, int(room), cookie, csrf, int(count)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="640x360,1280x720", help="comma-separated WxH")
    parser.add_argument("--watchers", type=int, default=3)
    parser.add_argument("--window", type=float, default=8.0, help="seconds per measurement")
    parser.add_argument("--hls", action="store_true", help="package the ingest as HLS too")
    args = parser.parse_args()
    sizes = [tuple(int(n) for n in size.split("x")) for size in args.sizes.split(",")]
    print(describe_machine())
    asyncio.run(measure(sizes, args.watchers, args.window, args.hls))


if __name__ == "__main__":
    main()
