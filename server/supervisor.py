"""`podium serve --workers N`: N processes serving one listening socket.

The supervisor binds the socket once and starts N workers, each running the whole app
(`create_app`) on that same socket: the kernel hands each new connection to whichever worker
accepts it first. Broadcasts reach viewers on every worker through Redis, and all workers
share one PostgreSQL database.

- SIGTERM or SIGINT to the supervisor stops every worker cleanly (each closes its sockets,
  flushes its tallies and heartbeats) and the supervisor exits 0.
- A worker that dies after it began serving is replaced at once.
- A worker that dies before it began serving (a bad setting, the database away) stops the whole
  service with exit code 1: restarting it in a loop would not help, and the service manager
  (systemd `Restart=on-failure`) retries with its own back-off.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event as EventType

from aiohttp import web

from server import gc_tuning
from server.app import create_app
from server.event_loop import new_serving_loop
from server.settings import Settings, SettingsError, ensure_secret_key
from server.store import advisory, migrate

log = logging.getLogger(__name__)
MAX_WORKERS = 64
STOP_SECONDS = 30.0  # how long workers get to shut down before they are killed
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def check_cluster_settings(settings: Settings, workers: int) -> None:
    """Several workers need a database and a message queue they can all share."""
    if not 1 <= workers <= MAX_WORKERS:
        raise SettingsError(f"--workers must be between 1 and {MAX_WORKERS}")
    if workers == 1:
        return
    if settings.is_sqlite:
        raise SettingsError(
            "--workers above 1 needs PostgreSQL: SQLite takes writes from one process only "
            "(set database_url, e.g. PODIUM_DATABASE_URL=postgresql+asyncpg://...)"
        )
    if not settings.redis_url:
        raise SettingsError(
            "--workers above 1 needs redis_url, so that a broadcast from any worker reaches "
            "the viewers connected to the others (e.g. PODIUM_REDIS_URL=redis://localhost:6379/0)"
        )


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=4096)


def serve_workers(
    settings: Settings, workers: int, access_log_format: str, first_own_port: int | None = None
) -> int:
    """Run `workers` processes on one socket until told to stop; the exit code.

    With `first_own_port`, worker i also listens on a port of its own, first_own_port + i,
    so that a proxy can send all of a long-polling client's requests to the same worker.
    """
    # Done once here, not raced by N workers: the generated secret key and the schema.
    settings = ensure_secret_key(settings)
    asyncio.run(_upgrade_schema(settings.effective_database_url))
    try:
        shared = bind(settings.host, settings.port)
        own = (
            []
            if first_own_port is None
            else [bind(settings.host, first_own_port + number) for number in range(workers)]
        )
    except OSError as error:
        log.error("cannot listen on %s: %s", settings.host, error)
        return 1
    return Supervisor(settings, shared, own, workers, access_log_format).run()


async def _upgrade_schema(url: str) -> None:
    async with advisory.exclusive(url, advisory.MIGRATIONS):
        await migrate.upgrade(url)


@dataclass
class Worker:
    process: BaseProcess
    serving: EventType  # set by the worker once its app has started


class Supervisor:
    def __init__(
        self,
        settings: Settings,
        listener: socket.socket,
        own_listeners: list[socket.socket],
        count: int,
        access_log_format: str,
    ) -> None:
        self.settings = settings
        self.listener = listener
        self.own_listeners = own_listeners
        self.count = count
        self.access_log_format = access_log_format
        # Spawn, not fork: each worker starts a clean interpreter with no inherited loop.
        self.context = multiprocessing.get_context("spawn")
        self.workers: dict[int, Worker] = {}
        self.stopping = False

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        announced, exit_code = False, 0
        try:
            for number in range(self.count):
                self._start(number)
            while not self.stopping:
                sentinels = {w.process.sentinel: n for n, w in self.workers.items()}
                for sentinel in wait(list(sentinels), timeout=0.2):
                    if not self.stopping and not self._replace(sentinels[sentinel]):
                        exit_code, self.stopping = 1, True
                if not announced and all(w.serving.is_set() for w in self.workers.values()):
                    host, port = self.listener.getsockname()[:2]
                    print(f"podium: serving on http://{host}:{port} with {self.count} workers")
                    sys.stdout.flush()
                    announced = True
        finally:
            self._stop_all()
        return exit_code

    def _start(self, number: int) -> None:
        serving = self.context.Event()
        process = self.context.Process(
            target=_worker_main,
            args=(
                self.settings,
                [self.listener, *self.own_listeners[number : number + 1]],
                self.access_log_format,
                os.getpid(),
                serving,
            ),
            name=f"podium-worker-{number}",
        )
        process.start()
        self.workers[number] = Worker(process, serving)

    def _replace(self, number: int) -> bool:
        """Start a new worker in place of one that died; False if it died starting up."""
        worker = self.workers[number]
        worker.process.join()
        code = worker.process.exitcode
        if not worker.serving.is_set():
            log.error("worker %d exited (code %s) before it was serving; stopping", number, code)
            return False
        log.error("worker %d died (exit code %s); starting another", number, code)
        self._start(number)
        return True

    def _stop(self, signum: int, _frame: object) -> None:
        self.stopping = True

    def _stop_all(self) -> None:
        running = [w.process for w in self.workers.values() if w.process.is_alive()]
        for process in running:
            process.terminate()  # SIGTERM: aiohttp shuts the worker down cleanly
        deadline = time.monotonic() + STOP_SECONDS
        for process in running:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.error("%s did not stop in %.0f s; killing it", process.name, STOP_SECONDS)
                process.kill()
                process.join()
        for listener in (self.listener, *self.own_listeners):
            listener.close()


def _worker_main(
    settings: Settings,
    listeners: list[socket.socket],
    access_log_format: str,
    supervisor: int,
    serving: EventType,
) -> None:
    # A group of its own: a Ctrl-C in the terminal reaches the supervisor only, which then
    # stops each worker once.
    os.setpgid(0, 0)
    logging.basicConfig(level=settings.log_level, format=LOG_FORMAT)
    app = create_app(settings)
    gc_tuning.tune_for_serving(app)
    app.cleanup_ctx.append(_stop_when_orphaned(supervisor))

    async def started(_app: web.Application) -> None:
        serving.set()

    app.on_startup.append(started)  # after the cleanup contexts: the services are up
    web.run_app(
        app,
        sock=listeners,
        access_log_format=access_log_format,
        print=None,
        loop=new_serving_loop(settings.event_loop),
    )


def _stop_when_orphaned(supervisor: int):
    """If the supervisor is gone (killed outright), the worker stops too."""

    async def watch(app: web.Application):
        async def poll() -> None:
            while True:
                await asyncio.sleep(1)
                if os.getppid() != supervisor:
                    break
            log.error("the supervisor is gone; stopping")
            os.kill(os.getpid(), signal.SIGTERM)

        task = asyncio.create_task(poll())
        yield
        task.cancel()

    return watch
