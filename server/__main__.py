"""The `podium` command: serve, demo, migrate, user add."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import shutil
import sys
from pathlib import Path

import socketio
from aiohttp import web

from server import demo_media, gc_tuning, supervisor
from server.app import create_app
from server.demo import seed
from server.event_loop import new_serving_loop
from server.realtime.publisher import SocketPublisher
from server.services import auth, privacy
from server.services.context import Services
from server.services.tally import VoteTally
from server.settings import Settings, SettingsError, ensure_secret_key, load_settings
from server.store import migrate
from server.store.database import Database

DEMO_DATA_DIR = "demo-data"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="podium", description=__doc__)
    parser.add_argument("--config", help="a TOML file overriding config/defaults.toml")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("serve", "run the server"), ("demo", "run with a fresh demo event")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--host", help="interface to bind (default from settings)")
        sub.add_argument("--port", type=int, help="port to bind (default from settings)")
    commands.choices["serve"].add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes sharing the port (above 1 needs PostgreSQL and redis_url)",
    )
    commands.choices["serve"].add_argument(
        "--worker-ports",
        type=int,
        metavar="FIRST",
        help="also give worker i a port of its own, FIRST+i, so a proxy can pin long-polling "
        "clients to one worker (see docs/deployment.md)",
    )
    commands.add_parser("migrate", help="create or upgrade the database schema")
    commands.add_parser(
        "purge", help="anonymise the personal data of events past their retention window"
    )
    user = commands.add_parser("user", help="manage staff accounts")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    add = user_commands.add_parser("add", help="create a staff account")
    add.add_argument("username")
    add.add_argument("--role", choices=("admin", "moderator", "chair"), required=True)
    add.add_argument("--display-name")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input instead of prompting",
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config, **_address(args))
        if args.command == "demo":
            settings = _demo_settings(settings)
        if args.command == "serve":
            supervisor.check_cluster_settings(settings, args.workers)
    except SettingsError as error:
        print(f"podium: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "serve" and args.workers > 1:
        return supervisor.serve_workers(
            settings, args.workers, ACCESS_LOG_FORMAT, args.worker_ports
        )
    if args.command == "serve":
        _serve(settings)
    elif args.command == "demo":
        streams = {}
        if demo_media.ffmpeg_available():
            streams = demo_media.start_test_streams(Path(settings.data_dir) / "media")
        try:
            asyncio.run(_seed_demo(settings, test_streams=bool(streams)))
            _serve(settings)
        finally:
            demo_media.stop(streams)
    elif args.command == "migrate":
        asyncio.run(migrate.upgrade(settings.effective_database_url))
        print("database is at the latest schema")
    elif args.command == "purge":
        purged = asyncio.run(_with_services(settings, privacy.purge_due))
        print(f"purged {len(purged)} event(s): {purged}" if purged else "nothing to purge")
    else:
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass()
        asyncio.run(_add_user(settings, args.username, password, args.role, args.display_name))
        print(f"created {args.role} {args.username}")
    return 0


# The access log leaves out the client's address: Podium keeps no IP addresses, not even in logs.
ACCESS_LOG_FORMAT = '"%r" %s %b %Tfs'


def _serve(settings: Settings) -> None:
    app = create_app(settings)
    gc_tuning.tune_for_serving(app)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        access_log_format=ACCESS_LOG_FORMAT,
        loop=new_serving_loop(settings.event_loop),
        # After a restart every viewer reconnects within a second or two: with aiohttp's 128
        # the kernel drops connection attempts, and their retries come seconds later.
        backlog=4096,
    )


def _address(args: argparse.Namespace) -> dict:
    return {
        key: value for key in ("host", "port") if (value := getattr(args, key, None)) is not None
    }


def _demo_settings(settings: Settings) -> Settings:
    """The demo always starts from an empty SQLite database of its own."""
    shutil.rmtree(DEMO_DATA_DIR, ignore_errors=True)
    return settings.with_overrides(data_dir=DEMO_DATA_DIR, database_url="")


async def _with_services(settings: Settings, work):
    """Run `work(services)` on the database without serving: for seeding and admin tasks."""
    settings = ensure_secret_key(settings)
    await migrate.upgrade(settings.effective_database_url)
    db = Database(settings.effective_database_url)
    publisher = SocketPublisher(socketio.AsyncServer())  # nobody is connected: pushes are dropped
    services = Services(settings, db, publisher, VoteTally(db, publisher, 1.0))
    try:
        return await work(services)
    finally:
        await db.dispose()


async def _seed_demo(settings: Settings, test_streams: bool) -> None:
    result = await _with_services(settings, lambda services: seed(services, test_streams))
    base = settings.effective_public_url
    slug = result["event"].slug
    main_hall = result["rooms"]["main-hall"]
    print(f"\nPodium demo: {result['event'].title}\n")
    print(f"  Viewer page      {base}/e/{slug}")
    print(f"  Moderator        {base}/e/{slug}/moderate")
    print(f"  Panel chair      {base}/e/{slug}/chair?room={main_hall}")
    print(f"  Stage screen     {base}/e/{slug}/stage/{main_hall}")
    print(f"  OBS overlay      {base}/e/{slug}/overlay/{main_hall}")
    print(f"  Organiser        {base}/admin")
    print(f"  API document     {base}/api/openapi.json\n")
    if test_streams:
        print("  The main hall plays live HLS test streams made by ffmpeg (primary and backup).")
    else:
        print("  Install ffmpeg to give the main hall live HLS test streams.")
    print("  Demo staff logins (new each run):")
    for role, password in result["credentials"].items():
        print(f"    {role:<10} user demo-{role:<10} password {password}")
    print(flush=True)


async def _add_user(settings, username, password, role, display_name) -> None:
    await _with_services(
        settings, lambda s: auth.create_staff_user(s, username, password, role, display_name)
    )


if __name__ == "__main__":
    sys.exit(main())
