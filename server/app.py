"""create_app(settings): wiring only, used by production and tests alike."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web

from server import i18n
from server.app_keys import ATTENDANCE, PRESENCE, SERVICES, SETTINGS, SOCKETS
from server.http import api, join_links, pages, viewer_forms, viewer_page, webrtc
from server.http.middleware import (
    errors_middleware,
    name_the_server,
    origin_middleware,
    security_headers_middleware,
)
from server.http.openapi import openapi_handler
from server.realtime.direct_sockets import hang_up_websockets
from server.realtime.presence import Presence
from server.realtime.publisher import SocketPublisher
from server.realtime.server import create_socket_server
from server.services import housekeeping, live_state, privacy
from server.services.attendance import AttendanceLog
from server.services.context import Services
from server.services.leadership import Leadership
from server.services.stream_watch import StreamWatch
from server.services.tally import VoteTally
from server.settings import PROJECT_ROOT, Settings, ensure_secret_key
from server.store import advisory, migrate
from server.store.database import Database

STATIC_DIR = PROJECT_ROOT / "client_static"
log = logging.getLogger(__name__)


def create_app(settings: Settings) -> web.Application:
    settings = ensure_secret_key(settings)
    app = web.Application(
        client_max_size=settings.max_request_bytes,
        # Outermost first: headers go on every answer, errors are shaped before that,
        # and foreign origins are refused before any handler runs.
        middlewares=[
            security_headers_middleware,
            errors_middleware,
            i18n.locale_middleware,  # before page errors, which are pages in the reader's language
            pages.page_errors_middleware,
            origin_middleware(settings.effective_allowed_origins),
        ],
    )
    app.on_response_prepare.append(name_the_server)
    app[SETTINGS] = settings
    app[pages.TEMPLATES] = pages.template_environment()
    app[join_links.JOIN_CODES] = join_links.JoinCodes(settings.secret_key)
    app[i18n.CATALOGUES] = i18n.load_catalogues()
    app[SOCKETS] = create_socket_server(settings, app)
    app[PRESENCE] = Presence(
        app[SOCKETS], settings.viewer_count_seconds, settings.redis_url, settings.redis_channel
    )
    app.cleanup_ctx.append(_services)
    # After the services: peers close first at shutdown, while the database still answers.
    app.cleanup_ctx.append(webrtc.peer_registry)
    app.on_shutdown.append(_hang_up_sockets)
    app.add_routes(api.routes)
    app.add_routes(pages.routes)
    app.add_routes(viewer_page.routes)  # the viewer page, complete without scripts
    app.add_routes(viewer_forms.routes)  # and its forms
    app.add_routes(join_links.routes)
    app.add_routes(webrtc.routes)  # WHIP and WHEP; its /api/v1 routes come with api.routes
    app.router.add_get("/api/openapi.json", openapi_handler)
    app.router.add_get("/healthz", _health)
    app.router.add_static("/static", STATIC_DIR, append_version=False)
    # Locally packaged HLS (the demo's test streams, or a local encoder's output) is served
    # from <data_dir>/media; a CDN serves it for larger events.
    media_dir = Path(settings.data_dir) / "media"
    media_dir.mkdir(parents=True, exist_ok=True)
    app.router.add_static("/media", media_dir, append_version=False)
    return app


async def _services(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    # Workers starting together on one PostgreSQL database take turns: the first upgrades.
    async with advisory.exclusive(settings.effective_database_url, advisory.MIGRATIONS):
        await migrate.upgrade(settings.effective_database_url)
    db = Database(settings.effective_database_url, max_batch=settings.write_batch_max)
    publisher = SocketPublisher(app[SOCKETS])
    tally = VoteTally(
        db,
        publisher,
        settings.vote_broadcast_interval_ms / 1000,
        audience=lambda: len(app[SOCKETS].eio.sockets),
    )
    # Stream checks fetch playlists from outside; keep them short and unauthenticated.
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
    services = Services(settings=settings, db=db, publisher=publisher, tally=tally, http=http)
    services.live = live_state.attach(app[SOCKETS], db, publisher, settings.catchup_max_entries)
    app[SERVICES] = services
    attendance = AttendanceLog(db, services)
    app[ATTENDANCE] = attendance
    publishing = asyncio.create_task(publisher.run())
    # Once per deployment, not once per worker: see server/services/leadership.py.
    leadership = Leadership(
        settings.effective_database_url,
        [
            lambda: housekeeping.run(db, keep=settings.catchup_max_entries),
            StreamWatch(services).run,
            lambda: privacy.run(services),
        ],
    )
    upkeep = [
        asyncio.create_task(tally.run()),
        asyncio.create_task(app[PRESENCE].run()),
        asyncio.create_task(attendance.run()),
        asyncio.create_task(leadership.run()),
    ]
    yield
    for task in upkeep:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await tally.flush()
    await attendance.flush()
    await asyncio.wait_for(publisher.drain(), timeout=5)
    publishing.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await publishing
    await http.close()
    await db.dispose()


async def _hang_up_sockets(app: web.Application) -> None:
    """Close every Socket.IO client, so that they come back to the next server at once and
    open long-polls do not hold the shutdown up; return once their disconnect handlers
    (attendance) have run, before the services close."""
    engine = app[SOCKETS].eio
    hung_up = hang_up_websockets(engine)  # synchronously: 10,000 in a fraction of a second
    reason = engine.reason.SERVER_DISCONNECT
    goodbyes = [
        socket.close(wait=False, abort=True, reason=reason)  # their websocket is closed
        if sid in hung_up
        else engine.disconnect(sid)  # long-polling, or upgrading: engine.io's own way
        for sid, socket in list(engine.sockets.items())
    ]
    # A socket that was already going away can leave engineio waiting forever.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*goodbyes), timeout=5)


async def _health(request: web.Request) -> web.Response:
    try:
        await request.app[SERVICES].db.ping()
    except Exception:
        log.exception("health check: database unreachable")
        return web.json_response({"status": "database unreachable"}, status=503)
    return web.json_response({"status": "ok"})
