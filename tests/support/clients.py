"""Real clients for the real app: aiohttp HTTP sessions and Socket.IO simple clients."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import socketio
from aiohttp import web

from server.app_keys import SERVICES
from server.services import auth, catalog
from server.services.context import Actor
from server.settings import Settings

PASSWORD = "correct horse battery staple"
EVENT = "test-event"


def client_id() -> str:
    return uuid.uuid4().hex


class HttpClient:
    """One browser-like HTTP client: its own cookies, the app's origin, JSON in and out."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None) -> None:
        self.base_url = base_url
        self.session = aiohttp.ClientSession(
            base_url=base_url,
            headers={"Origin": base_url, **(headers or {})},
            cookie_jar=aiohttp.CookieJar(unsafe=True),
        )

    async def request(self, method: str, path: str, json: Any = None, **kwargs) -> tuple[int, Any]:
        async with self.session.request(method, path, json=json, **kwargs) as response:
            if response.content_type == "application/json":
                return response.status, await response.json()
            return response.status, await response.text()  # CSV, WebVTT, iCalendar

    async def ok(self, method: str, path: str, json: Any = None, **kwargs) -> Any:
        status, body = await self.request(method, path, json, **kwargs)
        assert status < 300, (status, body)
        return body

    async def close(self) -> None:
        await self.session.close()


class StaffClient(HttpClient):
    csrf: str = ""
    role: str = ""

    async def login(self, username: str, password: str = PASSWORD) -> None:
        body = await self.ok(
            "POST", "/api/v1/auth/login", {"username": username, "password": password}
        )
        self.csrf = body["csrf_token"]
        self.role = body["user"]["role"]
        self.session.headers["X-CSRF-Token"] = self.csrf

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{c.key}={c.value}" for c in self.session.cookie_jar)

    async def command(self, method: str, path: str, json: Any = None) -> tuple[int, Any]:
        return await self.request(method, f"/api/v1/events/{EVENT}{path}", json)


class ViewerClient(HttpClient):
    token: str = ""
    id: int = 0

    async def join(self, display_name: str | None, channel: str = "remote") -> None:
        body = await self.ok(
            "POST",
            f"/api/v1/events/{EVENT}/viewers",
            {"display_name": display_name, "channel": channel},
        )
        self.token, self.id = body["token"], body["viewer"]["id"]
        self.session.headers["Authorization"] = f"Bearer {self.token}"

    async def ask(self, text: str, **extra: Any) -> dict[str, Any]:
        payload = {"client_id": client_id(), "text": text, **extra}
        return await self.ok("POST", f"/api/v1/events/{EVENT}/questions", payload)


class LiveClient:
    """A Socket.IO connection to one namespace, collecting what the server pushes."""

    def __init__(self, client: socketio.AsyncSimpleClient) -> None:
        self.client = client
        self.received: list[tuple[str, Any]] = []

    async def call(self, name: str, payload: Any = None, timeout: float = 10) -> dict[str, Any]:
        return await self.client.call(name, payload, timeout=timeout)

    async def ok(self, name: str, payload: Any = None) -> Any:
        ack = await self.call(name, payload)
        assert ack["ok"], ack
        return ack["data"]

    async def next(self, timeout: float = 5) -> tuple[str, Any]:
        name, *args = await self.client.receive(timeout=timeout)
        item = (name, args[0] if args else None)
        self.received.append(item)
        return item

    async def wait_for(self, predicate, timeout: float = 5) -> tuple[str, Any]:
        """Receive until `predicate(name, payload)` holds; fail after `timeout` seconds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no matching push within {timeout}s; got {self.received}")
            try:
                name, payload = await self.next(timeout=remaining)
            except socketio.exceptions.TimeoutError as error:
                raise AssertionError(f"no matching push; got {self.received}") from error
            if predicate(name, payload):
                return name, payload

    async def close(self) -> None:
        await self.client.disconnect()


class Podium:
    """The running app, seeded with an event, rooms, sessions and one staff user per role."""

    def __init__(self, settings: Settings, app: web.Application) -> None:
        self.settings = settings
        self.app = app
        self.base_url = f"http://{settings.host}:{settings.port}"
        self._closers: list[Any] = []
        self.rooms: dict[str, int] = {}
        self.sessions: dict[str, int] = {}
        self.event_id = 0

    @property
    def services(self):
        return self.app[SERVICES]

    async def seed(self, **event_settings: Any) -> None:
        s = self.services
        for role in ("admin", "moderator", "chair"):
            await auth.create_staff_user(s, role, PASSWORD, role, f"Test {role}")
        system = Actor.system()
        fields = {"slug": EVENT, "title": "Test event", **event_settings}
        detail = await catalog.create_event(s, system, fields)
        self.event_id = detail["id"]
        event = await catalog.event_by_slug(s, EVENT)
        for slug in ("main", "side"):
            self.rooms[slug] = (await catalog.add_room(s, system, event, slug, slug.title()))["id"]
        # Far ahead, so that no test runs while a session is on (the agenda moves "now
        # playing", which pushes room updates); tests about that set their own times.
        start = datetime(2099, 11, 21, 9, tzinfo=UTC)
        for n, (title, kind) in enumerate((("Workshop A", "workshop"), ("Panel", "panel"))):
            item = await catalog.add_session(
                s,
                system,
                event,
                {
                    "title": title,
                    "kind": kind,
                    "room_id": self.rooms["main"],
                    "starts_at": start + timedelta(hours=n),
                    "ends_at": start + timedelta(hours=n + 1),
                },
            )
            self.sessions[title] = item["id"]

    async def staff(self, role: str) -> StaffClient:
        client = StaffClient(self.base_url)
        self._closers.append(client.close)
        await client.login(role)
        return client

    async def anonymous(self) -> HttpClient:
        client = HttpClient(self.base_url)
        self._closers.append(client.close)
        return client

    async def viewer(
        self, display_name: str | None = "Viewer", channel: str = "remote"
    ) -> ViewerClient:
        client = ViewerClient(self.base_url)
        self._closers.append(client.close)
        await client.join(display_name, channel)
        return client

    async def live(
        self,
        namespace: str,
        auth_data: dict[str, Any] | None = None,
        cookie: str | None = None,
        transport: str = "websocket",
    ) -> LiveClient:
        client = socketio.AsyncSimpleClient()
        headers = {"Origin": self.base_url}
        if cookie:
            headers["Cookie"] = cookie
        await client.connect(
            self.base_url,
            namespace=namespace,
            auth=auth_data,
            headers=headers,
            transports=[transport],
            wait_timeout=5,
        )
        live = LiveClient(client)
        self._closers.append(live.close)
        return live

    async def live_viewer(self, viewer: ViewerClient) -> LiveClient:
        return await self.live("/viewer", {"token": viewer.token})

    async def live_staff(self, staff: StaffClient, namespace: str) -> LiveClient:
        return await self.live(namespace, {"event": EVENT}, cookie=staff.cookie_header)

    async def close(self) -> None:
        for close in reversed(self._closers):
            with contextlib.suppress(Exception):  # a client the test already closed
                await close()
