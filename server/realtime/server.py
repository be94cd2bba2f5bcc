"""The Socket.IO server: explicit origins, small messages, one namespace per audience."""

from __future__ import annotations

import socketio
from aiohttp import web

from server.realtime.namespaces import (
    CaptionerNamespace,
    ChairNamespace,
    ModeratorNamespace,
    StageNamespace,
    ViewerNamespace,
)
from server.settings import Settings


def create_socket_server(settings: Settings, app: web.Application) -> socketio.AsyncServer:
    sockets = socketio.AsyncServer(
        async_mode="aiohttp",
        cors_allowed_origins=list(settings.effective_allowed_origins),
        max_http_buffer_size=settings.max_socket_message_bytes,
        logger=False,
        engineio_logger=False,
    )
    sockets.register_namespace(ViewerNamespace("/viewer", app))
    sockets.register_namespace(ModeratorNamespace("/moderator", app))
    sockets.register_namespace(ChairNamespace("/chair", app))
    sockets.register_namespace(StageNamespace("/stage", app))
    sockets.register_namespace(CaptionerNamespace("/captioner", app))
    sockets.attach(app)
    return sockets
