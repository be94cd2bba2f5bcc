"""Background watch over live rooms: failing HLS sources fail over, the agenda advances."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import UTC, datetime

from server.services.changes import announce_rooms
from server.services.context import Actor, Services
from server.services.views import as_utc
from server.services.webcast import http_client, mark_source_health, switch_source
from server.store import events as event_store
from server.store import webcast as webcast_store
from streams.hls import check_playlist

log = logging.getLogger(__name__)


class StreamWatch:
    """Checks each live room's active HLS source; N failures in a row switch to the backup."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._failures: dict[tuple[int, str], int] = defaultdict(int)

    async def check_live_sources(self) -> None:
        s = self.services
        async with s.db.read() as session:
            rooms = await webcast_store.live_rooms(session)
            sources = await webcast_store.sources_of(session, [r.id for r in rooms])
        for room in rooms:
            active = next(
                (x for x in sources if x.room_id == room.id and x.role == room.active_role), None
            )
            if active is None or active.kind != "hls":
                continue
            health = await check_playlist(http_client(s), active.url)
            if health.ok != (active.health == "ok") or health.reason != active.health_reason:
                await mark_source_health(
                    s, room.event_id, room.id, active.role, health.ok, health.reason
                )
            key = (room.id, active.role)
            self._failures[key] = 0 if health.ok else self._failures[key] + 1
            has_backup = any(x.room_id == room.id and x.role == "backup" for x in sources)
            if (
                self._failures[key] >= s.settings.stream_failures_before_switch
                and active.role == "primary"
                and has_backup
            ):
                log.warning(
                    "room %s: primary failing (%s); switching to backup", room.id, health.reason
                )
                event = await event_store_by_id(s, room.event_id)
                await switch_source(s, Actor.system(), event, room.id, "backup")
                self._failures[key] = 0

    async def advance_now_playing(self, now: datetime | None = None) -> None:
        """Rooms that follow the agenda show the session running now (or none between them)."""
        s = self.services
        now = now or datetime.now(UTC)
        async with s.db.read() as session:
            rooms = await webcast_store.auto_advancing_rooms(session)
        for room in rooms:
            async with s.db.write(room.event_id) as work:
                agenda = await event_store.agenda(work.session, room.event_id)
                running = next(
                    (
                        a.id
                        for a in agenda
                        if a.room_id == room.id and as_utc(a.starts_at) <= now < as_utc(a.ends_at)
                    ),
                    None,
                )
                current = await event_store.room(work.session, room.event_id, room.id)
                if current.auto_advance and current.now_playing_session_id != running:
                    current.now_playing_session_id = running
                    await announce_rooms(work, room.event_id, s.publisher, room.id)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.services.settings.stream_check_seconds)
            for step in (self.advance_now_playing, self.check_live_sources):
                try:
                    await step()
                except Exception:  # one bad round must not stop the watch
                    log.exception("stream watch step %s failed", step.__name__)


async def event_store_by_id(s: Services, event_id: int):
    async with s.db.read() as session:
        return await event_store.by_id(session, event_id)
