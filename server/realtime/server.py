"""The Socket.IO server: explicit origins, small messages, one namespace per audience."""

from __future__ import annotations

import socketio
from aiohttp import web

from server.realtime.fanout import (
    FastSocketServer,
    make_client_manager,
    start_client_manager,
    stop_client_manager,
)
from server.realtime.namespaces import (
    CaptionerNamespace,
    ChairNamespace,
    ModeratorNamespace,
    StageNamespace,
    ViewerNamespace,
)
from server.settings import Settings


def create_socket_server(settings: Settings, app: web.Application) -> socketio.AsyncServer:
    sockets = FastSocketServer(
        client_manager=make_client_manager(settings),
        async_mode="aiohttp",
        cors_allowed_origins=list(settings.effective_allowed_origins),
        max_http_buffer_size=settings.max_socket_message_bytes,
        write_buffer_max_bytes=settings.socket_write_buffer_max_bytes,
        logger=False,
        engineio_logger=False,
    )
    sockets.register_namespace(ViewerNamespace("/viewer", app))
    sockets.register_namespace(ModeratorNamespace("/moderator", app))
    sockets.register_namespace(ChairNamespace("/chair", app))
    sockets.register_namespace(StageNamespace("/stage", app))
    sockets.register_namespace(CaptionerNamespace("/captioner", app))
    sockets.attach(app)

    async def start(app: web.Application) -> None:
        await start_client_manager(sockets)

    async def stop(app: web.Application) -> None:
        await stop_client_manager(sockets)

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    return sockets
