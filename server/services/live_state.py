"""What a connecting viewer is sent, held in memory: connecting costs no database query.

Per event: the public snapshot (event detail, public questions, stages, rooms) and its `seq`,
plus the recent public entries for catching up. It is read from the database once, then kept
in step by applying every public entry as it is delivered (entries carry whole objects, see
server/services/sync.py). Per viewer: their name, their own questions and their votes, kept
in step by the `mine` and `viewer` pushes and by each vote.

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
from dataclasses import dataclass, field
from typing import Any

from socketio.async_pubsub_manager import AsyncPubSubManager
from sqlalchemy import select

from server.services import views
from server.services.asking import viewer_view
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


@dataclass
class _Viewer:
    view: dict[str, Any]
    mine: dict[int, dict[str, Any]] = field(default_factory=dict)
    votes: set[int] = field(default_factory=set)


@dataclass
class _ViewerLoad:
    """A viewer being read from the database: what arrives for them meanwhile is kept, and
    applied once the read is done (the read may predate it)."""

    done: asyncio.Future
    heard: list[tuple[str, Any]] = field(default_factory=list)


@dataclass
class _Event:
    seq: int = 0
    event: dict[str, Any] = field(default_factory=dict)
    questions: dict[int, dict[str, Any]] = field(default_factory=dict)
    stages: dict[str, Any] = field(default_factory=dict)
    rooms: dict[str, Any] = field(default_factory=dict)
    tail: deque = field(default_factory=deque)
    viewers: dict[int, _Viewer] = field(default_factory=dict)
    authors: dict[int, int] = field(default_factory=dict)  # question id -> its viewer
    ready: asyncio.Future | None = None
    pending: list[tuple[str, Any]] = field(default_factory=list)  # arrived while loading
    viewer_loads: dict[int, _ViewerLoad] = field(default_factory=dict)
    snapshot: dict[str, Any] | None = None  # built once per change, shared by every sync


class LiveState:
    def __init__(self, db: Database, keep: int, *, shared: bool = False) -> None:
        self.db = db
        self.keep = keep
        # With several workers, what only this process knows (votes, erasures) is also sent
        # through the manager so that the others' memory learns it.
        self.shared = shared
        self.emit: Callable[[int, str, dict[str, Any]], None] | None = None
        self._events: dict[int, _Event] = {}
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

    def _catch_up(self, state: _Event, since: int | None) -> dict[str, Any] | None:
        if since is None or since > state.seq:
            return None
        if since == state.seq:
            return {"mode": "catchup", "seq": since, "entries": []}
        if not state.tail or state.tail[0]["seq"] > since + 1:
            return None  # no longer all kept
        entries = [entry for entry in state.tail if entry["seq"] > since]
        return {"mode": "catchup", "seq": state.seq, "entries": entries}

    def _snapshot(self, state: _Event) -> dict[str, Any]:
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

    async def _loaded(self, event: EventRow) -> _Event:
        state = self._events.get(event.id)
        if state is None:
            state = self._events[event.id] = _Event()
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

    async def _load(self, state: _Event, event: EventRow) -> None:
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
            state.viewers = {v.id: _Viewer(view=viewer_view(v)) for v in viewers}
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

    async def _load_viewer(self, state: _Event, event_id: int, viewer_id: int) -> _Viewer:
        """A viewer this process does not hold (they joined through another worker, or a
        merge moved their votes): read once, however many of their sockets sync meanwhile."""
        load = state.viewer_loads.get(viewer_id)
        if load is not None:
            return await asyncio.shield(load.done)
        load = state.viewer_loads[viewer_id] = _ViewerLoad(
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

    async def _read_viewer(self, state: _Event, load: _ViewerLoad, viewer_id: int) -> _Viewer:
        while True:
            async with self.db.read() as session:
                row = await session.get(ViewerRow, viewer_id)
                asked = await question_store.list_by_viewer(session, viewer_id)
                voted = await question_store.voted_question_ids(session, viewer_id)
            viewer = _Viewer(
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
            self._apply_to_viewer(state, viewer, kind, message)
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
            state.viewers[view["id"]] = _Viewer(view=view)

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

    def _apply(self, event_id: int, state: _Event, kind: str, message: dict[str, Any]) -> None:
        if kind == "update":
            self._apply_public(event_id, state, message)
            return
        viewer_id = message.get("viewer_id")
        if kind == "forget":
            state.viewers.pop(viewer_id, None)
            state.tail.clear()  # the log held their name; reconnects get a snapshot
            state.snapshot = None
        viewer = state.viewers.get(viewer_id)
        if viewer is not None:
            self._apply_to_viewer(state, viewer, kind, message)
        elif viewer_id in state.viewer_loads:  # being read: applied once the read is done
            state.viewer_loads[viewer_id].heard.append((kind, message))
        elif kind == "mine":
            # Read from the database when they sync, with this already in it.
            state.authors[message["question"]["id"]] = viewer_id

    @staticmethod
    def _apply_to_viewer(state: _Event, viewer: _Viewer, kind: str, message: dict) -> None:
        if kind == "mine":
            question = message["question"]
            state.authors[question["id"]] = message["viewer_id"]
            viewer.mine[question["id"]] = question
        elif kind == "viewer":
            viewer.view = {k: message[k] for k in viewer.view if k in message}
        elif kind == "vote":
            if message["voted"]:
                viewer.votes.add(message["question_id"])
            else:
                viewer.votes.discard(message["question_id"])
        elif kind == "votes":  # a tally, heard while the viewer was being read
            for item in message["votes"]:
                if item["id"] in viewer.mine:
                    viewer.mine[item["id"]] = {**viewer.mine[item["id"]], "votes": item["votes"]}

    def _apply_public(self, event_id: int, state: _Event, entry: dict[str, Any]) -> None:
        seq = entry.get("seq", 0)
        if seq <= state.seq:
            return
        if seq != state.seq + 1:
            self._events.pop(event_id, None)  # missed something: reload on the next sync
            return
        kind = entry.get("type")
        if kind == "question":
            question = entry["question"]
            before = state.questions.get(question["id"])
            if before is not None and before["author"] != question["author"]:
                state.tail.clear()  # a name was erased; the log that held it is forgotten
            state.questions[question["id"]] = question
            self._refresh_stage_copies(state, question["id"], question)
        elif kind == "question_removed":
            removed = entry["question_id"]
            state.questions.pop(removed, None)
            # A merge moves votes to another question without telling each voter: their
            # votes are read again when they next sync.
            for viewer_id in [v for v, s in state.viewers.items() if removed in s.votes]:
                del state.viewers[viewer_id]
            for load in state.viewer_loads.values():
                load.heard.append(("removed", {"question_id": removed}))
        elif kind == "votes":
            for item in entry["votes"]:
                if item["id"] in state.questions:
                    state.questions[item["id"]] = {
                        **state.questions[item["id"]],
                        "votes": item["votes"],
                    }
                self._refresh_stage_copies(state, item["id"], {"votes": item["votes"]})
                author = state.viewers.get(state.authors.get(item["id"]))
                if author is not None and item["id"] in author.mine:
                    mine = author.mine[item["id"]]
                    author.mine[item["id"]] = {**mine, "votes": item["votes"]}
            for load in state.viewer_loads.values():
                load.heard.append(("votes", entry))
        elif kind == "stage":
            state.stages[str(entry["room_id"])] = entry["question"]
        elif kind == "room":
            state.rooms[str(entry["room"]["id"])] = entry["room"]
        elif kind == "event":
            # Rooms and agenda changed: room views depend on both. Rare; read it all again.
            self._events.pop(event_id, None)
            self._forget_row(event_id)
            return
        state.seq = seq
        state.tail.append(entry)
        state.snapshot = None

    @staticmethod
    def _refresh_stage_copies(state: _Event, question_id: int, fresh: dict[str, Any]) -> None:
        for room, shown in state.stages.items():
            if shown is not None and shown["id"] == question_id:
                state.stages[room] = {**shown, **{k: v for k, v in fresh.items() if k in shown}}


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
