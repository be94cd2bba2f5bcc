"""The attendance log: joins and leaves are durable before they are acknowledged, heartbeats
are counted in memory and written in batches, and silent pages are closed by timeout."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from datetime import UTC, datetime, timedelta

from server.domain.errors import InvalidInput
from server.services.context import Actor, Services
from server.store import accounts
from server.store import attendance as attendance_store
from server.store import events as event_store
from server.store.database import Database
from server.store.models import EventRow

log = logging.getLogger(__name__)


def viewer_key(salt: str, viewer_id: int) -> str:
    """Counts a viewer once without naming them; forgetting the salt makes it unlinkable."""
    return hashlib.sha256(f"{salt}:{viewer_id}".encode()).hexdigest()


class AttendanceLog:
    def __init__(self, db: Database, services: Services) -> None:
        self.db = db
        self.services = services
        self._heartbeats: dict[int, datetime] = {}

    async def start(self, actor: Actor, event: EventRow, room_id: int) -> int:
        """Open a watch interval (committed before this returns) and give its id."""
        now = datetime.now(UTC)
        async with self.db.write(event.id) as work:
            await event_store.room(work.session, event.id, room_id)
            event_row = await event_store.by_id(work.session, event.id)
            if event_row.purged_at is not None:
                raise InvalidInput("this event's attendance log is closed")
            if event_row.attendance_salt is None:
                event_row.attendance_salt = secrets.token_hex(32)
            viewer = await accounts.viewer(work.session, event.id, actor.id)
            row = await attendance_store.open_interval(
                work.session,
                event_id=event.id,
                room_id=room_id,
                viewer_key=viewer_key(event_row.attendance_salt, viewer.id),
                channel=viewer.channel,
                country=viewer.country,
                at=now,
            )
        return row.id

    async def stop(self, event_id: int, interval_id: int, reason: str, *, goodbye: bool) -> None:
        """Close an interval now (a goodbye) or at its last sign of life (a lost connection)."""
        seen = self._heartbeats.pop(interval_id, None)
        async with self.db.write(event_id) as work:
            if seen is not None:
                await attendance_store.touch(work.session, {interval_id: seen})
            at = datetime.now(UTC) if goodbye else None
            await attendance_store.close_interval(work.session, interval_id, at, reason)

    def heartbeat(self, interval_id: int) -> None:
        self._heartbeats[interval_id] = datetime.now(UTC)

    async def flush(self) -> int:
        """Write every heartbeat counted since the last flush in one transaction."""
        pending, self._heartbeats = self._heartbeats, {}
        if not pending:
            return 0
        try:
            async with self.db.write() as work:
                await attendance_store.touch(work.session, pending)
        except Exception:
            for interval_id, seen in pending.items():  # keep them for the next round
                self._heartbeats.setdefault(interval_id, seen)
            raise
        return len(pending)

    async def close_silent(self) -> int:
        cutoff = datetime.now(UTC) - timedelta(
            seconds=self.services.settings.heartbeat_timeout_seconds
        )
        async with self.db.write() as work:
            return await attendance_store.close_stale(work.session, cutoff)

    async def check_in(self, actor: Actor, event: EventRow, room_id: int) -> dict[str, bool]:
        """A delegate in the room scanned its QR code: they count as in-room, once."""
        async with self.db.write(event.id) as work:
            await event_store.room(work.session, event.id, room_id)
            event_row = await event_store.by_id(work.session, event.id)
            if event_row.attendance_salt is None:
                event_row.attendance_salt = secrets.token_hex(32)
            viewer = await accounts.viewer(work.session, event.id, actor.id)
            viewer.channel = "in_room"
            first = await attendance_store.check_in(
                work.session,
                event_id=event.id,
                room_id=room_id,
                viewer_key=viewer_key(event_row.attendance_salt, viewer.id),
                at=datetime.now(UTC),
            )
        return {"checked_in": True, "first_time": first}

    async def run(self) -> None:
        settings = self.services.settings
        sweep_every = settings.heartbeat_timeout_seconds // 4
        rounds_per_sweep = max(1, sweep_every // settings.heartbeat_flush_seconds)
        round_number = 0
        while True:
            await asyncio.sleep(settings.heartbeat_flush_seconds)
            round_number += 1
            try:
                await self.flush()
                if round_number % rounds_per_sweep == 0:
                    await self.close_silent()
            except Exception:  # a failed round is retried next time; heartbeats are kept
                log.exception("attendance flush failed")
