"""`python -m bench`'s command line: what to measure, and how hard."""

from __future__ import annotations

import argparse

from bench.loadgen import RECONNECT_DELAY_MAX_S, RECONNECT_DELAY_S


def parse_args(argv: list[str] | None, description: str | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--viewers", default="5000,10000", help="viewer counts, e.g. 5000,10000")
    parser.add_argument("--broadcasts", type=int, default=40, help="broadcasts per viewer count")
    parser.add_argument(
        "--warm-up",
        type=int,
        default=16,
        help="broadcasts to each newly connected set of viewers before the timed ones, timed "
        "apart: over loopback the first 16 segments of a fresh connection are each "
        "acknowledged at once (TCP quick ACKs), and those ACKs are handled inside the "
        "server's send loop",
    )
    parser.add_argument("--quick", action="store_true", help="500 viewers, 8 broadcasts")
    parser.add_argument("--processes", type=int, default=2, help="load generator processes")
    parser.add_argument(
        "--concurrency", type=int, default=100, help="connects in flight (aiohttp's backlog: 128)"
    )
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="Podium's store for the run (PostgreSQL: a fresh database on --postgres-url)",
    )
    parser.add_argument(
        "--postgres-url",
        default="",
        help="a PostgreSQL server (SQLAlchemy URL); fresh databases are made and dropped on it. "
        "With it, bench.writes' figures are measured on PostgreSQL as well as SQLite",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="`podium serve --workers N`: above 1 needs --database postgresql and --redis-url "
        "(the targets are for one process; this measures what scaling out does on this machine)",
    )
    parser.add_argument("--redis-url", default="", help="Redis for --workers above 1")
    parser.add_argument("--skip-stock", action="store_true", help="no reference run")
    parser.add_argument("--skip-podium", action="store_true", help="only the reference run")
    parser.add_argument(
        "--reconnect-delay",
        type=float,
        default=RECONNECT_DELAY_S,
        help="viewers' first wait before reconnecting, in seconds, doubling per attempt "
        "(socket.io-client's reconnectionDelay, as Podium's pages set it)",
    )
    parser.add_argument(
        "--reconnect-delay-max",
        type=float,
        default=RECONNECT_DELAY_MAX_S,
        help="viewers' longest wait between reconnection attempts, in seconds (socket.io-"
        "client's reconnectionDelayMax, as Podium's pages set it)",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="the server on the first core, the load generator on the others, for both "
        "servers (off by default: on a 2-core VM the cross-core wake-ups cost more)",
    )
    parser.add_argument(
        "--loadgen-preempts",
        action="store_true",
        help="leave the load generator a normal task, so each frame's wake-up can preempt "
        "the server (by default it runs under SCHED_BATCH, as remote viewers would not)",
    )
    parser.add_argument("--skip-restart", action="store_true")
    parser.add_argument(
        "--skip-writes", action="store_true", help="no durable writes, over Socket.IO or not"
    )
    parser.add_argument(
        "--skip-service-writes",
        action="store_true",
        help="the writes over Socket.IO, but not bench.writes' through the services",
    )
    parser.add_argument(
        "--open-loop-rate",
        type=float,
        default=5000,
        help="submissions a second offered in the open-loop Socket.IO phase",
    )
    parser.add_argument(
        "--open-loop-seconds",
        type=float,
        default=2,
        help="how long the open-loop Socket.IO phase offers submissions",
    )
    parser.add_argument(
        "--open-loop-sweep",
        default="1000,2000,3000,4000",
        help="after the open-loop phase, these rates (submissions a second, comma-separated) "
        "offered in turn for --sweep-seconds each: the highest whose ack p99 is within 20 ms "
        "is what one process sustains at that latency; empty for none",
    )
    parser.add_argument("--sweep-seconds", type=float, default=3, help="each sweep step's length")
    parser.add_argument(
        "--disk-seconds",
        type=float,
        default=10,
        help="first, how long to time the disk's own flushes (0: not at all)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    args.sweep_rates = [float(rate) for rate in args.open_loop_sweep.split(",") if rate.strip()]
    args.viewer_counts = sorted({int(n) for n in args.viewers.split(",")})
    if args.database == "postgresql" and not args.postgres_url:
        parser.error("--database postgresql needs --postgres-url")
    if args.workers > 1 and (args.database != "postgresql" or not args.redis_url):
        parser.error("--workers above 1 needs --database postgresql and --redis-url")
    if args.quick:
        args.viewer_counts, args.broadcasts, args.warm_up = [500], 8, 2
        args.sweep_rates, args.sweep_seconds = [500], 1
        args.disk_seconds = min(args.disk_seconds, 1)
    return args
