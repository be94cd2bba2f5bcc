"""Turns what a write touched into numbered broadcasts, published once it has committed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from server.domain.events import QuestionEvent
from server.services import views
from server.services.context import Publisher
from server.services.room_views import room_views
from server.store import broadcasts
from server.store import questions as question_store
from server.store.database import UnitOfWork
from server.store.models import QuestionRow


class Changes:
    """Collects changed questions, running orders and stages during one unit of work."""

    def __init__(self, work: UnitOfWork, event_id: int, publisher: Publisher) -> None:
        self.work = work
        self.event_id = event_id
        self.publisher = publisher
        self._questions: dict[int, tuple[QuestionRow, bool, list[str]]] = {}
        self._running_orders: set[int] = set()
        self._stages: set[int] = set()
        self._extra_staff: list[dict[str, Any]] = []
        self._event_detail: dict[str, Any] | None = None
        self._rooms: set[int] = set()

    def watch(self, row: QuestionRow) -> None:
        """Remember whether `row` was public before the change, so removals are broadcast."""
        if row.id not in self._questions:
            self._questions[row.id] = (row, views.is_public(row), [])

    def question(self, row: QuestionRow, events: list[QuestionEvent] = ()) -> None:
        self.watch(row)
        causes = self._questions[row.id][2]
        causes.extend(type(e).__name__ for e in events if e.question_id == row.id)

    def running_order(self, room_id: int | None) -> None:
        if room_id is not None:
            self._running_orders.add(room_id)

    def stage(self, room_id: int | None) -> None:
        if room_id is not None:
            self._stages.add(room_id)

    def extra_staff(self, payload: dict[str, Any]) -> None:
        self._extra_staff.append(payload)

    def room(self, room_id: int) -> None:
        """A room's webcast (source, status, now playing, captions) changed."""
        self._rooms.add(room_id)

    def event_detail(self, detail: dict[str, Any]) -> None:
        """The event's settings, rooms or agenda changed: everyone gets the new detail."""
        self._event_detail = detail

    async def record(self) -> None:
        """Number and store the broadcasts; publish them after the commit."""
        session = self.work.session
        public: list[dict[str, Any]] = []
        staff: list[dict[str, Any]] = []
        authors: list[tuple[int, dict[str, Any]]] = []
        for row, was_public, causes in self._questions.values():
            question_entries(row, was_public, causes, public, staff, authors)
        for room_id in sorted(self._running_orders):
            order = await question_store.running_order(session, room_id)
            staff.append(
                {"type": "running_order", "room_id": room_id, "question_ids": [r.id for r in order]}
            )
        for room_id in sorted(self._stages):
            current = await question_store.on_stage(session, room_id)
            shown = views.public_question(current) if current else None
            public.append({"type": "stage", "room_id": room_id, "question": shown})
            staff.append({"type": "stage", "room_id": room_id, "question": shown})
        if self._rooms:
            rooms = sorted(self._rooms)
            for stream, audience in ((public, False), (staff, True)):
                views_by_id = await room_views(
                    session, self.event_id, staff=audience, room_ids=rooms
                )
                stream.extend({"type": "room", "room": view} for view in views_by_id.values())
        staff.extend(self._extra_staff)
        if self._event_detail is not None:
            for stream in (public, staff):
                stream.append({"type": "event", "event": self._event_detail})
        await record_entries(self.work, self.event_id, self.publisher, public, staff, authors)


def question_entries(
    row: QuestionRow,
    was_public: bool,
    causes: list[str],
    public: list[dict[str, Any]],
    staff: list[dict[str, Any]],
    authors: list[tuple[int, dict[str, Any]]],
) -> dict[str, Any]:
    """Add what each audience is told about a changed question to their streams; return
    the author's view of it. The public view is built once, and shared."""
    shown = views.public_question(row)
    staff.append(
        {"type": "question", "causes": causes, "question": views.staff_question(row, shown)}
    )
    if views.is_public(row):
        public.append({"type": "question", "causes": causes, "question": shown})
    elif was_public:
        public.append({"type": "question_removed", "question_id": row.id})
    mine = views.author_question(row, shown)
    authors.append((row.viewer_id, {"type": "mine", "question": mine}))
    return mine


async def record_entries(
    work: UnitOfWork,
    event_id: int,
    publisher: Publisher,
    public: list[dict[str, Any]],
    staff: list[dict[str, Any]],
    authors: list[tuple[int, dict[str, Any]]],
) -> None:
    """Number and store both streams' entries; publish them, and tell authors, after commit."""
    numbered = await broadcasts.number(work.session, event_id, {"public": public, "staff": staff})
    await broadcasts.store_numbered(work.session, event_id, numbered, datetime.now(UTC))
    publish_after_commit(work, event_id, publisher, numbered, authors)


def publish_after_commit(
    work: UnitOfWork,
    event_id: int,
    publisher: Publisher,
    numbered: dict[str, list[dict[str, Any]]],
    authors: list[tuple[int, dict[str, Any]]],
) -> None:
    """Once `work` commits: publish each stream's numbered entries, then tell the authors."""

    def publish() -> None:
        for stream, entries in numbered.items():
            publisher.publish(event_id, stream, entries)
        for viewer_id, payload in authors:
            publisher.notify_viewer(viewer_id, payload)

    work.after_commit(publish)


async def announce_rooms(
    work: UnitOfWork, event_id: int, publisher: Publisher, *room_ids: int
) -> None:
    """Broadcast the current state of some rooms' webcasts, once this unit of work commits."""
    changes = Changes(work, event_id, publisher)
    for room_id in room_ids:
        changes.room(room_id)
    await changes.record()


async def announce_event(
    work: UnitOfWork, event_id: int, publisher: Publisher, detail: dict[str, Any]
) -> None:
    """Broadcast the event's new detail (settings, rooms, agenda) once this work commits."""
    changes = Changes(work, event_id, publisher)
    changes.event_detail(detail)
    await changes.record()
