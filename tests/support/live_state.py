"""What a well-behaved client holds: a `sync` snapshot with every later `update` applied.

Tests compare it with a fresh snapshot (the Zulip events-system check): if applying the
pushed updates to an old state does not reproduce a fresh fetch, some change was never
broadcast, or was broadcast wrongly.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from tests.support.clients import LiveClient


@dataclass
class LiveState:
    seq: int
    event: dict[str, Any]
    questions: dict[int, dict[str, Any]]
    stages: dict[int, dict[str, Any] | None]
    running_orders: dict[int, list[int]] = field(default_factory=dict)
    rooms: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_snapshot(cls, snapshot: dict[str, Any]) -> LiveState:
        assert snapshot["mode"] == "snapshot", snapshot
        snapshot = copy.deepcopy(snapshot)
        return cls(
            seq=snapshot["seq"],
            event=snapshot["event"],
            questions={q["id"]: q for q in snapshot.get("questions", [])},  # none on /stage
            stages={int(room): shown for room, shown in snapshot["stages"].items()},
            running_orders={
                int(room): ids for room, ids in snapshot.get("running_orders", {}).items()
            },
            rooms=snapshot.get("rooms", {}),
        )

    def apply_all(self, entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            self.apply(entry)

    def apply(self, entry: dict[str, Any]) -> None:
        """Apply one update; older ones are skipped, a gap in the sequence fails the test."""
        if entry["seq"] <= self.seq:
            return
        assert entry["seq"] == self.seq + 1, f"gap: had {self.seq}, got {entry['seq']}"
        self.seq = entry["seq"]
        entry = copy.deepcopy(entry)
        kind = entry["type"]
        if kind == "question":
            question = entry["question"]
            self.questions[question["id"]] = question
            self._refresh_stage_copies(question["id"], question)
        elif kind == "question_removed":
            self.questions.pop(entry["question_id"], None)
        elif kind == "votes":
            for item in entry["votes"]:
                if item["id"] in self.questions:
                    self.questions[item["id"]]["votes"] = item["votes"]
                self._refresh_stage_copies(item["id"], {"votes": item["votes"]})
        elif kind == "stage":
            self.stages[entry["room_id"]] = entry["question"]
        elif kind == "running_order":
            self.running_orders[entry["room_id"]] = entry["question_ids"]
        elif kind == "event":
            self.event = entry["event"]
        elif kind == "room":  # webcast state and now/next, e.g. as the agenda moves on
            self.rooms[str(entry["room"]["id"])] = entry["room"]
        elif kind != "viewer":
            raise AssertionError(f"unknown update type {kind!r}: {entry}")

    def _refresh_stage_copies(self, question_id: int, fresh: dict[str, Any]) -> None:
        """A stage shows a copy of a question: keep the fields that copy has up to date."""
        for shown in self.stages.values():
            if shown is not None and shown["id"] == question_id:
                shown.update({k: v for k, v in fresh.items() if k in shown})

    def view(self) -> dict[str, Any]:
        """Everything a screen would render, in a form that compares equal across states."""
        return {
            "event": self.event,
            "questions": dict(sorted(self.questions.items())),
            "stages": dict(sorted(self.stages.items())),
            "running_orders": dict(sorted(self.running_orders.items())),
            "rooms": dict(sorted(self.rooms.items())),
        }


def pushed_updates(live: LiveClient) -> list[dict[str, Any]]:
    return [payload for name, payload in live.received if name == "update"]


async def receive_through(live: LiveClient, seq: int, timeout: float = 5) -> list[dict[str, Any]]:
    """Receive until the update numbered `seq` (or later) arrived; return all updates so far."""
    if not any(u["seq"] >= seq for u in pushed_updates(live)):
        await live.wait_for(lambda n, p: n == "update" and p["seq"] >= seq, timeout)
    return pushed_updates(live)
