"""Typed keys for what the app shares between its parts."""

from __future__ import annotations

import socketio
from aiohttp import web

from server.realtime.presence import Presence
from server.services.attendance import AttendanceLog
from server.services.context import Services
from server.settings import Settings
from streams.peers import PeerRegistry

SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", Services)
SOCKETS = web.AppKey("sockets", socketio.AsyncServer)
ATTENDANCE = web.AppKey("attendance", AttendanceLog)
PRESENCE = web.AppKey("presence", Presence)
PEERS = web.AppKey("peers", PeerRegistry)  # every WebRTC peer connection (WHIP, WHEP)
