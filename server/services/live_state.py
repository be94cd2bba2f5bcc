"""What a connecting viewer is sent, held in memory: connecting costs no database query.

Per event: the public snapshot (event detail, public questions, stages, rooms) and its `seq`,
plus the recent public entries for catching up. It is read from the database once, then kept
in step by applying every public entry as it is delivered (entries carry whole objects, see
server/services/sync.py). Per viewer: their name, their own questions and their votes, kept
in step by the `mine` and `viewer` pushes and by each vote. The state, and how each entry
changes it, are in server/services/live_state_model.py; this module loads and serves it.

Everything arrives through the socket manager's listener, which sees every emit delivered in
this process, including those other workers sent through Redis; a gap in the sequence, or a
change this cannot follow, drops the state and the next sync reloads it. Event rows are
cached for the socket path, dropped when an `event` entry says the event changed, and re-read
after `EVENT_ROW_SECONDS` at most (a retention purge changes the row without a broadcast).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from socketio.async_pubsub_manager import AsyncPubSubManager
from sqlalchemy import select

from server.services import views
from server.services.asking import viewer_view
from server.services.live_state_model import (
    Drop,
    EventState,
    ViewerLoad,
    ViewerState,
    apply,
    apply_to_viewer,
)
from server.services.sync import public_snapshot
from server.store import events as event_store
from server.store import questions as question_store
from server.store.database import Database
from server.store.models import BroadcastRow, EventRow, QuestionRow, ViewerRow, VoteRow

EVENT_ROW_SECONDS = 60.0
# A room no client joins: state messages every worker's listener sees, and no browser gets.
STATE_ROOM_PREFIX = "live-state:"


def state_room(event_id: int) -> str:
    return f"{STATE_ROOM_PREFIX}{event_id}"


class LiveState:
    def __init__(self, db: Database, keep: int, *, shared: bool = False) -> None:
        self.db = db
        self.keep = keep
        # With several workers, what only this process knows (votes, erasures) is also sent
        # through the manager so that the others' memory learns it.
        self.shared = shared
        self.emit: Callable[[int, str, dict[str, Any]], None] | None = None
        self._events: dict[int, EventState] = {}
        self._rows: dict[int, tuple[EventRow, float]] = {}
        # One read per event row at a time: a storm of connects as the row expires (or
        # after a restart) waits for that read rather than each making its own.
        self._row_reads: dict[int, asyncio.Future[EventRow]] = {}
        self.loads = 0  # how often a state was read from the database (tests, benchmarks)

    # -- event rows ------------------------------------------------------------------

    async def event_by_id(self, event_id: int) -> EventRow:
        cached = self._rows.get(event_id)
        if cached is not None and time.monotonic() - cached[1] < EVENT_ROW_SECONDS:
            return cached[0]
        reading = self._row_reads.get(event_id)
        if reading is None:
            reading = asyncio.ensure_future(self._read_event_row(event_id, cached))
            self._row_reads[event_id] = reading
            reading.add_done_callback(lambda done: self._row_read_done(event_id, done))
        return await asyncio.shield(reading)

    async def _read_event_row(
        self, event_id: int, cached: tuple[EventRow, float] | None
    ) -> EventRow:
        async with self.db.read() as session:
            row = await event_store.by_id(session, event_id)
        if self._row_reads.get(event_id) is not asyncio.current_task():
            return row  # the row changed while it was read: keep this one out of the cache
        if cached is not None and cached[0].purged_at != row.purged_at:
            self._events.pop(event_id, None)  # purged: names held here must go too
        self._rows[event_id] = (row, time.monotonic())
        return row

    def _forget_row(self, event_id: int) -> None:
        """The event changed: the next caller reads its row afresh, not joining a read
        that began before the change."""
        self._rows.pop(event_id, None)
        self._row_reads.pop(event_id, None)

    def _row_read_done(self, event_id: int, done: asyncio.Future[EventRow]) -> None:
        if self._row_reads.get(event_id) is done:
            del self._row_reads[event_id]
        if not done.cancelled():
            done.exception()  # seen here too, in case every waiter was cancelled meanwhile

    # -- what a viewer's sync gets ---------------------------------------------------

    async def viewer_sync(
        self, viewer_id: int, event: EventRow, since: int | None
    ) -> dict[str, Any]:
        state = await self._loaded(event)
        viewer = state.viewers.get(viewer_id)
        if viewer is None:
            viewer = await self._load_viewer(state, event.id, viewer_id)
        result = self._catch_up(state, since) or self._snapshot(state)
        result = dict(result)
        result["mine"] = [viewer.mine[qid] for qid in sorted(viewer.mine)]
        result["my_votes"] = sorted(viewer.votes)
        result["viewer"] = viewer.view
        return result

    def _catch_up(self, state: EventState, since: int | None) -> dict[str, Any] | None:
        if since is None or since > state.seq:
            return None
        if since == state.seq:
            return {"mode": "catchup", "seq": since, "entries": []}
        if not state.tail or state.tail[0]["seq"] > since + 1:
            return None  # no longer all kept
        entries = [entry for entry in state.tail if entry["seq"] > since]
        return {"mode": "catchup", "seq": state.seq, "entries": entries}

    def _snapshot(self, state: EventState) -> dict[str, Any]:
        if state.snapshot is None:
            state.snapshot = {
                "mode": "snapshot",
                "seq": state.seq,
                "event": state.event,
                "questions": [state.questions[qid] for qid in sorted(state.questions)],
                "stages": dict(state.stages),
                "rooms": dict(state.rooms),
            }
        return state.snapshot

    # -- loading ---------------------------------------------------------------------

    async def _loaded(self, event: EventRow) -> EventState:
        state = self._events.get(event.id)
        if state is None:
            state = self._events[event.id] = EventState()
            state.ready = asyncio.get_running_loop().create_future()
            try:
                await self._load(state, event)
            except BaseException as error:
                self._events.pop(event.id, None)
                state.ready.set_exception(error)
                state.ready.exception()  # retrieved: each waiter raises it
                raise
            state.ready.set_result(None)
        elif not state.ready.done():
            await asyncio.shield(state.ready)
        return state

    async def _load(self, state: EventState, event: EventRow) -> None:
        self.loads += 1
        async with self.db.read() as session:
            snapshot = await public_snapshot(session, event)
            tail = (
                await session.execute(
                    select(BroadcastRow.payload)
                    .where(
                        BroadcastRow.event_id == event.id,
                        BroadcastRow.stream == "public",
                        BroadcastRow.seq <= snapshot["seq"],
                    )
                    .order_by(BroadcastRow.seq.desc())
                    .limit(self.keep)
                )
            ).scalars()
            viewers = (
                await session.execute(select(ViewerRow).where(ViewerRow.event_id == event.id))
            ).scalars()
            asked = await question_store.list_for_event(session, event.id)
            voted = await session.execute(
                select(VoteRow.viewer_id, VoteRow.question_id)
                .join(QuestionRow, QuestionRow.id == VoteRow.question_id)
                .where(QuestionRow.event_id == event.id)
            )
            state.viewers = {v.id: ViewerState(view=viewer_view(v)) for v in viewers}
            for row in asked:
                state.authors[row.id] = row.viewer_id
                if row.viewer_id in state.viewers:
                    state.viewers[row.viewer_id].mine[row.id] = views.author_question(row)
            for viewer_id, question_id in voted.all():
                if viewer_id in state.viewers:
                    state.viewers[viewer_id].votes.add(question_id)
        state.seq = snapshot["seq"]
        state.event = snapshot["event"]
        state.questions = {q["id"]: q for q in snapshot["questions"]}
        state.stages = dict(snapshot["stages"])
        state.rooms = dict(snapshot["rooms"])
        state.tail = deque(reversed(list(tail)), maxlen=self.keep)
        pending, state.pending = state.pending, []
        for kind, message in pending:
            self._apply(event.id, state, kind, message)

    async def _load_viewer(self, state: EventState, event_id: int, viewer_id: int) -> ViewerState:
        """A viewer this process does not hold (they joined through another worker, or a
        merge moved their votes): read once, however many of their sockets sync meanwhile."""
        load = state.viewer_loads.get(viewer_id)
        if load is not None:
            return await asyncio.shield(load.done)
        load = state.viewer_loads[viewer_id] = ViewerLoad(
            done=asyncio.get_running_loop().create_future()
        )
        try:
            viewer = await self._read_viewer(state, load, viewer_id)
        except BaseException as error:
            load.done.set_exception(error)
            load.done.exception()  # retrieved: each waiter raises it
            raise
        finally:
            del state.viewer_loads[viewer_id]
        if viewer_id in state.viewers:  # a push created it meanwhile: it is newer
            viewer = state.viewers[viewer_id]
        elif self._events.get(event_id) is state:
            state.viewers[viewer_id] = viewer
        load.done.set_result(viewer)
        return viewer

    async def _read_viewer(
        self, state: EventState, load: ViewerLoad, viewer_id: int
    ) -> ViewerState:
        while True:
            async with self.db.read() as session:
                row = await session.get(ViewerRow, viewer_id)
                asked = await question_store.list_by_viewer(session, viewer_id)
                voted = await question_store.voted_question_ids(session, viewer_id)
            viewer = ViewerState(
                view=viewer_view(row),
                mine={q.id: views.author_question(q) for q in asked},
                votes=set(voted),
            )
            heard, load.heard = load.heard, []
            # Erased, or a merge moved their votes, while being read: read them again.
            if not any(
                kind == "forget" or (kind == "removed" and message["question_id"] in viewer.votes)
                for kind, message in heard
            ):
                break
        state.authors.update(dict.fromkeys(viewer.mine, viewer_id))
        for kind, message in heard:  # in the order delivered; each carries whole values
            apply_to_viewer(state, viewer, kind, message)
        return viewer

    # -- keeping in step -------------------------------------------------------------

    def on_emit(self, namespace: str, room: Any, name: str, data: Any) -> None:
        """The socket manager's listener: every emit delivered in this process."""
        if namespace != "/viewer" or not isinstance(room, str) or not isinstance(data, dict):
            return
        if name == "update" and room.startswith("event:"):
            self._deliver(int(room[6:]), "update", data)
        elif name in ("mine", "viewer") and room.startswith("viewer:"):
            self._to_viewer(int(room[7:]), name, data)
        elif name == "live_state" and room.startswith(STATE_ROOM_PREFIX):
            self._deliver(int(room[len(STATE_ROOM_PREFIX) :]), data["kind"], data)

    def viewer_joined(self, event_id: int, view: dict[str, Any]) -> None:
        state = self._events.get(event_id)
        if state is not None and view["id"] not in state.viewers:
            state.viewers[view["id"]] = ViewerState(view=view)

    def viewer_voted(self, event_id: int, viewer_id: int, question_id: int, voted: bool) -> None:
        message = {"kind": "vote", "viewer_id": viewer_id, "question_id": question_id}
        self._deliver(event_id, "vote", {**message, "voted": voted})
        self._share(event_id, {**message, "voted": voted})

    def forget(self, event_id: int, viewer_id: int | None = None) -> None:
        """Personal data was erased (one viewer) or purged (the event): drop what is held."""
        self._deliver(event_id, "forget", {"kind": "forget", "viewer_id": viewer_id})
        self._share(event_id, {"kind": "forget", "viewer_id": viewer_id})

    def _share(self, event_id: int, message: dict[str, Any]) -> None:
        if self.shared and self.emit is not None:
            self.emit(event_id, "live_state", message)

    def _to_viewer(self, viewer_id: int, name: str, data: dict[str, Any]) -> None:
        for event_id, state in list(self._events.items()):
            if (
                viewer_id in state.viewers
                or viewer_id in state.viewer_loads
                or (state.ready and not state.ready.done())
            ):
                self._deliver(event_id, name, {**data, "viewer_id": viewer_id})

    def _deliver(self, event_id: int, kind: str, message: dict[str, Any]) -> None:
        if kind == "forget" and message.get("viewer_id") is None:
            self._events.pop(event_id, None)
            self._forget_row(event_id)
            return
        state = self._events.get(event_id)
        if state is None:
            return
        if not state.ready.done():
            state.pending.append((kind, message))
            return
        self._apply(event_id, state, kind, message)

    def _apply(self, event_id: int, state: EventState, kind: str, message: dict[str, Any]) -> None:
        drop = apply(state, kind, message)
        if drop is not None:
            self._events.pop(event_id, None)
        if drop is Drop.EVENT_CHANGED:
            self._forget_row(event_id)


def attach(sockets: Any, db: Database, publisher: Any, keep: int) -> LiveState | None:
    """Keep viewers' state in memory, fed by the socket manager's listener; None (read the
    database on every sync) where the manager cannot report what it delivers."""
    manager = sockets.manager
    if not hasattr(manager, "add_listener"):
        return None
    # Through Redis, each worker delivers every emit: what one learns, all must hear.
    live = LiveState(db, keep, shared=isinstance(manager, AsyncPubSubManager))
    live.emit = lambda event_id, name, message: publisher.to_room(
        ("/viewer",), state_room(event_id), name, message
    )
    manager.add_listener(live.on_emit)
    return live
