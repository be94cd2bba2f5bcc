"""One namespace per audience. Per-client data lives in the socket session only."""

from __future__ import annotations

import logging
from http.cookies import SimpleCookie
from typing import Any

import socketio
from aiohttp import web

from server import schemas as sc
from server.app_keys import ATTENDANCE, PRESENCE, SERVICES, SETTINGS
from server.commands import CHAIRS, COMMANDS, MODERATORS, dispatch
from server.domain.errors import DomainError, Forbidden, NotAuthenticated, NotFound
from server.errors import describe, error_body
from server.http.auth import SESSION_COOKIE
from server.realtime.publisher import event_room, viewer_room, watch_room
from server.services import auth, captions, catalog, queries, sync
from server.services.attendance import AttendanceLog
from server.services.context import Actor, Services
from server.store.models import EventRow

log = logging.getLogger(__name__)


class AudienceNamespace(socketio.AsyncNamespace):
    """Dispatches every event through the shared command table and acks a stable shape.

    Each audience defines `authenticate(environ, auth)` (who may connect, to which event)
    and `sync(actor, event, since)` (what it may see).
    """

    commands: frozenset[str] = frozenset()
    # Events that act on the connection itself (joining socket rooms), not through a service.
    socket_events: frozenset[str] = frozenset()

    def __init__(self, namespace: str, app: web.Application) -> None:
        super().__init__(namespace)
        self.app = app

    @property
    def services(self) -> Services:
        return self.app[SERVICES]

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in ("connect", "disconnect"):
            return await super().trigger_event(event, *args)
        sid, data = args[0], (args[1] if len(args) > 1 else None)
        try:
            session = await self.get_session(sid)
            event_row = await catalog.event_by_id(self.services, session["event_id"])
            if event == "sync":
                since = sc.Sync.model_validate({} if data is None else data).since
                result = await self.sync(session["actor"], event_row, since)
            elif event in self.socket_events:
                result = await getattr(self, f"socket_{event}")(sid, session, event_row, data)
            elif event in self.commands:
                command = COMMANDS[event]
                payload = {} if data is None else data
                result = await dispatch(
                    self.services, command, session["actor"], event_row, payload
                )
            else:
                raise NotFound(f"there is no {event!r} event on {self.namespace}")
            return {"ok": True, "data": result}
        except Exception as error:
            if not self.server.manager.is_connected(sid, self.namespace):
                # It left while this was handled (e.g. the `visibility` a page sends as it
                # unloads): its session is gone, and there is nobody to answer.
                log.info("%s %s from a socket that has left: dropped", self.namespace, event)
                return None
            return {"ok": False, "error": _error_or_internal(error, self.namespace, event)}

    async def on_connect(self, sid: str, environ: dict, auth_data: Any = None) -> None:
        try:
            actor, event = await self.authenticate(environ, auth_data or {})
        except DomainError as error:
            raise ConnectionRefusedError(error_body(error.code, error.message)) from error
        await self.save_session(sid, {"actor": actor, "event_id": event.id})
        await self.enter_room(sid, event_room(event.id))
        if actor.kind == "viewer":
            await self.enter_room(sid, viewer_room(actor.id))

    async def _event_from_auth(self, auth_data: Any) -> EventRow:
        slug = auth_data.get("event") if isinstance(auth_data, dict) else None
        if not isinstance(slug, str) or not slug or len(slug) > 64:
            raise NotFound("say which event to join: auth {event: slug}")
        return await catalog.event_by_slug(self.services, slug)


class ViewerNamespace(AudienceNamespace):
    commands = frozenset(
        {"submit_question", "vote", "unvote", "withdraw_question", "set_display_name"}
    )
    socket_events = frozenset({"watch_room", "visibility", "heartbeat", "check_in"})

    @property
    def attendance(self) -> AttendanceLog:
        return self.app[ATTENDANCE]

    async def socket_watch_room(self, sid, session, event, data) -> dict[str, Any]:
        """Follow one room's webcast: captions arrive, and the watch is logged (acked once
        its start is stored); {"room_id": null} is a goodbye."""
        room_id = sc.WatchRoom.model_validate({} if data is None else data).room_id
        result: dict[str, Any] = {"room": None, "captions": []}
        if room_id is not None:
            result["room"] = await queries.room(self.services, event, room_id)
            result["captions"] = await captions.recent_lines(self.services, event, room_id)
        previous = session.get("watching")
        if room_id is not None and room_id == previous:
            return result  # asking again (to refill captions) is not a new watch
        if previous is not None:
            await self.leave_room(sid, watch_room(event.id, previous))
        await self._end_interval(sid, event.id, "leave", goodbye=True)
        interval = None
        if room_id is not None:
            await self.enter_room(sid, watch_room(event.id, room_id))
            if session.get("visible", True):
                interval = await self.attendance.start(session["actor"], event, room_id)
        await self._remember_interval(sid, event.id, interval, watching=room_id)
        return result

    async def socket_visibility(self, sid, session, event, data) -> dict[str, Any]:
        """The tab was hidden or shown again: hidden time is not watch time."""
        visible = sc.Visibility.model_validate({} if data is None else data).visible
        if not visible:
            await self._end_interval(sid, event.id, "hidden", goodbye=True)
        interval = session.get("interval")
        if visible and interval is None and session.get("watching") is not None:
            interval = await self.attendance.start(session["actor"], event, session["watching"])
        await self._remember_interval(sid, event.id, interval if visible else None, visible=visible)
        return {"visible": visible, "watching": session.get("watching")}

    async def socket_heartbeat(self, sid, session, event, data) -> dict[str, Any]:
        sc.Empty.model_validate({} if data is None else data)
        if session.get("interval") is not None:
            self.attendance.heartbeat(session["interval"])
        return {"watching": session.get("watching")}

    async def socket_check_in(self, sid, session, event, data) -> dict[str, Any]:
        room_id = sc.CheckIn.model_validate({} if data is None else data).room_id
        return await self.attendance.check_in(session["actor"], event, room_id)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        session = await self.get_session(sid)
        if session.get("interval") is not None:
            # No goodbye: the watch ends at the last heartbeat, not at this moment.
            await self._end_interval(sid, session["event_id"], "disconnect", goodbye=False)

    async def _remember_interval(
        self, sid: str, event_id: int, interval: int | None, **also: Any
    ) -> None:
        """Keep the open interval in the socket session; if the socket left meanwhile, close it
        now rather than leave it for the timeout sweep."""
        try:
            async with self.session(sid) as stored:
                stored.update(also, interval=interval)
        except KeyError:
            if interval is not None:
                await self.attendance.stop(event_id, interval, "disconnect", goodbye=True)
            raise

    async def _end_interval(self, sid: str, event_id: int, reason: str, *, goodbye: bool) -> None:
        async with self.session(sid) as stored:
            interval, stored["interval"] = stored.get("interval"), None
        if interval is not None:
            await self.attendance.stop(event_id, interval, reason, goodbye=goodbye)

    async def authenticate(self, environ, auth_data):
        token = auth_data.get("token") if isinstance(auth_data, dict) else None
        if not isinstance(token, str) or len(token) > 200:
            raise NotAuthenticated("a viewer token is needed: auth {token}")
        event_id, viewer_id = auth.verify_viewer_token(self.app[SETTINGS].secret_key, token)
        event = await catalog.event_by_id(self.services, event_id)
        actor = Actor(kind="viewer", id=viewer_id, name="viewer", role="viewer", event_id=event_id)
        return actor, event

    async def sync(self, actor, event, since):
        return await sync.viewer_sync(self.services, actor, event, since)


class StaffNamespace(AudienceNamespace):
    roles: frozenset[str] = frozenset()

    async def authenticate(self, environ, auth_data):
        cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
        token = cookie[SESSION_COOKIE].value if SESSION_COOKIE in cookie else None
        if not token:
            raise NotAuthenticated("please log in")
        actor, _csrf = await auth.staff_from_session(self.services, token)
        if actor.role not in self.roles:
            raise Forbidden(f"a {actor.role} cannot join {self.namespace}")
        return actor, await self._event_from_auth(auth_data)

    async def sync(self, actor, event, since):
        result = await sync.staff_sync(self.services, event, since)
        # Counts change every few seconds and are not logged: every sync gets the latest.
        counts = self.app[PRESENCE].counts().get(event.id, {})
        return {**result, "viewer_counts": {"rooms": counts}}


class ModeratorNamespace(StaffNamespace):
    roles = MODERATORS
    commands = frozenset(name for name, c in COMMANDS.items() if "moderator" in c.roles)


class ChairNamespace(StaffNamespace):
    roles = CHAIRS
    commands = frozenset(name for name, c in COMMANDS.items() if "chair" in c.roles)


class StageNamespace(AudienceNamespace):
    async def authenticate(self, environ, auth_data):
        return Actor.public(), await self._event_from_auth(auth_data)

    async def on_connect(self, sid: str, environ: dict, auth_data: Any = None) -> None:
        await super().on_connect(sid, environ, auth_data)
        room_id = auth_data.get("room") if isinstance(auth_data, dict) else None
        if isinstance(room_id, int) and not isinstance(room_id, bool):
            session = await self.get_session(sid)
            await self.enter_room(sid, watch_room(session["event_id"], room_id))  # captions

    async def sync(self, actor, event, since):
        return await sync.stage_sync(self.services, event, since)


class CaptionerNamespace(socketio.AsyncNamespace):
    """A captioner's connection: `caption` {text} posts a line to the token's room."""

    def __init__(self, namespace: str, app: web.Application) -> None:
        super().__init__(namespace)
        self.app = app

    async def on_connect(self, sid: str, environ: dict, auth_data: Any = None) -> None:
        token = auth_data.get("token") if isinstance(auth_data, dict) else None
        try:
            event, room = await captions.room_for_token(self.app[SERVICES], token)
        except DomainError as error:
            raise ConnectionRefusedError(error_body(error.code, error.message)) from error
        room_view = {"id": room.id, "name": room.name, "whep": f"/whep/rooms/{room.id}"}
        await self.save_session(sid, {"event_id": event.id, "room": room_view, "token": token})

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in ("connect", "disconnect"):
            return await super().trigger_event(event, *args)
        sid, data = args[0], (args[1] if len(args) > 1 else None)
        try:
            stored = await self.get_session(sid)
            if event == "room":  # which room this token captions (its low-delay picture too)
                sc.Empty.model_validate({} if data is None else data)
                return {"ok": True, "data": stored["room"]}
            if event != "caption":
                raise NotFound(f"there is no {event!r} event on {self.namespace}")
            text = sc.PostCaption.model_validate({} if data is None else data).text
            # The token is checked again for each line, so a revoked one stops at once.
            line = await captions.post_line(self.app[SERVICES], stored["token"], text)
            return {"ok": True, "data": line}
        except Exception as error:
            return {"ok": False, "error": _error_or_internal(error, self.namespace, event)}


def _error_or_internal(error: Exception, namespace: str, event: str) -> dict[str, Any]:
    body = describe(error)
    if body is None:
        log.exception("unhandled error in %s %s", namespace, event)
        body = error_body("internal", "something went wrong on our side")
    return body
