"""What a push costs in Redis between workers: `python -m bench.redis_pubsub REDIS_URL`.

Prints, for a staff update of Podium's size on python-socketio's message format:
- a PUBLISH awaited before the next (python-socketio's own `_publish`), per message;
- the same PUBLISHes sent as pipelines (Podium's outbox, server/realtime/redis_outbox.py);
- the CPU a worker's listener spends reading one message (redis-py's pubsub, then JSON),
  with the publisher in another process so that only the reading is counted.
With hiredis installed, redis-py parses replies with it; the output says which parser ran.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid

import redis.asyncio as aioredis

from bench.servers import PROJECT_ROOT

MESSAGE = json.dumps(
    {
        "method": "emit",
        "event": "update",
        "data": [{"type": "question", "seq": 1, "question": {"id": 1, "text": "y" * 200}}],
        "namespace": "/moderator",
        "room": "event:1",
        "skip_sid": None,
        "callback": None,
        "host_id": uuid.uuid4().hex,
    }
)
PIPELINE = 500


async def publish_pipelined(client: aioredis.Redis, channel: str, count: int) -> None:
    """`count` PUBLISHes of MESSAGE (rounded down to whole pipelines), PIPELINE at a time."""
    for _ in range(count // PIPELINE):
        async with client.pipeline(transaction=False) as pipe:
            for _ in range(PIPELINE):
                pipe.publish(channel, MESSAGE)
            await pipe.execute()


async def _publish_from_another_process(url: str, channel: str, count: int) -> None:
    client = aioredis.Redis.from_url(url)
    await publish_pipelined(client, channel, count)
    await client.aclose()


async def publish_cost(url: str, count: int) -> dict[str, float]:
    client = aioredis.Redis.from_url(url)
    channel = f"bench-{uuid.uuid4().hex}"
    await client.ping()
    started = time.perf_counter()
    for _ in range(count):
        await client.publish(channel, MESSAGE)
    one_by_one = (time.perf_counter() - started) / count
    started = time.perf_counter()
    await publish_pipelined(client, channel, count)
    pipelined = (time.perf_counter() - started) / (count // PIPELINE * PIPELINE)
    await client.aclose()
    return {"awaited_us": one_by_one * 1e6, "pipelined_us": pipelined * 1e6}


async def listen_cost(url: str, count: int) -> float:
    client = aioredis.Redis.from_url(url)
    channel = f"bench-{uuid.uuid4().hex}"
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(channel)
    publisher = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.redis_pubsub",
        url,
        "--publish-to",
        channel,
        "--messages",
        str(count),
        cwd=PROJECT_ROOT,
    )
    count = count // PIPELINE * PIPELINE
    heard, cpu_started = 0, 0.0
    async for message in pubsub.listen():
        if heard == 0:
            cpu_started = time.process_time()
        json.loads(message["data"])
        heard += 1
        if heard == count:
            break
    cpu = time.process_time() - cpu_started
    await publisher.wait()
    await pubsub.aclose()
    await client.aclose()
    return cpu / (count - 1) * 1e6


async def run(url: str, count: int) -> dict[str, float]:
    figures = await publish_cost(url, count)
    figures["listener_cpu_us"] = await listen_cost(url, count)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.redis_pubsub", description=__doc__)
    parser.add_argument("redis_url")
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--publish-to", metavar="CHANNEL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.messages < PIPELINE:
        parser.error(f"--messages must be at least {PIPELINE} (one pipeline)")
    if args.publish_to:  # the publisher of listen_cost, in a process of its own
        asyncio.run(_publish_from_another_process(args.redis_url, args.publish_to, args.messages))
        return 0
    figures = asyncio.run(run(args.redis_url, args.messages))
    parser_name = "hiredis" if "hiredis" in sys.modules else "redis-py's Python parser"
    print(f"{args.messages:,} messages of {len(MESSAGE)} bytes; replies parsed by {parser_name}")
    print(f"  PUBLISH awaited one by one (us each)      {figures['awaited_us']:8.1f}")
    print(f"  PUBLISH in pipelines of {PIPELINE} (us each)    {figures['pipelined_us']:8.1f}")
    print(f"  listener CPU to read one (us)             {figures['listener_cpu_us']:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
