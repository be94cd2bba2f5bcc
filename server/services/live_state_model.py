"""The per-event state server/services/live_state.py holds in memory, and how entries change it.

Pure: no database, no sockets. Applying an entry changes the state in place, or answers why
the state can no longer be followed; its owner then drops it and the next sync reloads it.
"""

from __future__ import annotations

import asyncio
import enum
from collections import deque
from dataclasses import dataclass, field
from typing import Any


class Drop(enum.Enum):
    """Why a state must be dropped after an entry (None when it was applied)."""

    MISSED = "missed"  # a gap in the sequence
    EVENT_CHANGED = "event_changed"  # the event row changed too: read it afresh


@dataclass
class ViewerState:
    view: dict[str, Any]
    mine: dict[int, dict[str, Any]] = field(default_factory=dict)
    votes: set[int] = field(default_factory=set)


@dataclass
class ViewerLoad:
    """A viewer being read from the database: what arrives for them meanwhile is kept, and
    applied once the read is done (the read may predate it)."""

    done: asyncio.Future
    heard: list[tuple[str, Any]] = field(default_factory=list)


@dataclass
class EventState:
    seq: int = 0
    event: dict[str, Any] = field(default_factory=dict)
    questions: dict[int, dict[str, Any]] = field(default_factory=dict)
    stages: dict[str, Any] = field(default_factory=dict)
    rooms: dict[str, Any] = field(default_factory=dict)
    tail: deque = field(default_factory=deque)
    viewers: dict[int, ViewerState] = field(default_factory=dict)
    authors: dict[int, int] = field(default_factory=dict)  # question id -> its viewer
    ready: asyncio.Future | None = None
    pending: list[tuple[str, Any]] = field(default_factory=list)  # arrived while loading
    viewer_loads: dict[int, ViewerLoad] = field(default_factory=dict)
    snapshot: dict[str, Any] | None = None  # built once per change, shared by every sync


def apply(state: EventState, kind: str, message: dict[str, Any]) -> Drop | None:
    """A delivered message: a public `update` entry, or news of one viewer."""
    if kind == "update":
        return apply_public(state, message)
    viewer_id = message.get("viewer_id")
    if kind == "forget":
        state.viewers.pop(viewer_id, None)
        state.tail.clear()  # the log held their name; reconnects get a snapshot
        state.snapshot = None
    viewer = state.viewers.get(viewer_id)
    if viewer is not None:
        apply_to_viewer(state, viewer, kind, message)
    elif viewer_id in state.viewer_loads:  # being read: applied once the read is done
        state.viewer_loads[viewer_id].heard.append((kind, message))
    elif kind == "mine":
        # Read from the database when they sync, with this already in it.
        state.authors[message["question"]["id"]] = viewer_id
    return None


def apply_to_viewer(state: EventState, viewer: ViewerState, kind: str, message: dict) -> None:
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


def apply_public(state: EventState, entry: dict[str, Any]) -> Drop | None:
    seq = entry.get("seq", 0)
    if seq <= state.seq:
        return None
    if seq != state.seq + 1:
        return Drop.MISSED  # missed something: reload on the next sync
    kind = entry.get("type")
    if kind == "question":
        question = entry["question"]
        before = state.questions.get(question["id"])
        if before is not None and before["author"] != question["author"]:
            state.tail.clear()  # a name was erased; the log that held it is forgotten
        state.questions[question["id"]] = question
        refresh_stage_copies(state, question["id"], question)
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
            refresh_stage_copies(state, item["id"], {"votes": item["votes"]})
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
        return Drop.EVENT_CHANGED
    state.seq = seq
    state.tail.append(entry)
    state.snapshot = None
    return None


def refresh_stage_copies(state: EventState, question_id: int, fresh: dict[str, Any]) -> None:
    for room, shown in state.stages.items():
        if shown is not None and shown["id"] == question_id:
            state.stages[room] = {**shown, **{k: v for k, v in fresh.items() if k in shown}}
