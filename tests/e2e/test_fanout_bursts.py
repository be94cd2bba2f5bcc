"""A burst of pushes (a batch of questions committed together) costs each client one write,
and every client still gets its frames once each, in the order the server produced them."""

from __future__ import annotations

import asyncio

import pytest

from server.app_keys import SOCKETS
from server.realtime.publisher import viewer_room
from tests.support.clients import client_id
from tests.support.live_state import receive_through

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@sqlite_only
async def test_a_batch_of_questions_reaches_staff_and_authors_in_order_in_fewer_writes(podium):
    moderator = await podium.staff("moderator")
    staff_live = await podium.live_staff(moderator, "/moderator")
    chair_live = await podium.live_staff(await podium.staff("chair"), "/chair")
    viewers = [await podium.viewer(f"Asker {n}") for n in range(8)]
    lives = [await podium.live_viewer(viewer) for viewer in viewers]
    started = (await staff_live.ok("sync"))["seq"]
    await chair_live.ok("sync")
    engine = podium.app[SOCKETS].eio
    frames_before, writes_before = engine.held_frames, engine.held_writes

    answers = await asyncio.gather(
        *(
            live.ok("submit_question", {"client_id": client_id(), "text": f"Question {n}?"})
            for n, live in enumerate(lives)
        )
    )

    last = started + len(answers)
    for live in (staff_live, chair_live):
        updates = await receive_through(live, last)
        assert [u["seq"] for u in updates] == list(range(started + 1, last + 1))
        submitted = [u["question"]["id"] for u in updates if "QuestionSubmitted" in u["causes"]]
        assert sorted(submitted) == sorted(answer["id"] for answer in answers)
    assert await receive_through(chair_live, last) == await receive_through(staff_live, last)
    for live, answer in zip(lives, answers, strict=True):
        _name, mine = await live.wait_for(lambda n, p: n == "mine")
        assert mine["question"]["id"] == answer["id"]
    held = engine.held_frames - frames_before
    writes = engine.held_writes - writes_before
    assert held > writes > 0, (held, writes)  # some client got several frames in one write
    assert not engine.corked and not engine.holding


@sqlite_only
async def test_a_client_with_frames_held_gets_a_big_rooms_broadcast_after_them(podium):
    viewer = await podium.viewer("Listener")
    live = await podium.live_viewer(viewer)
    await live.ok("sync")
    sockets = podium.app[SOCKETS]
    engine, manager = sockets.eio, sockets.manager
    room = viewer_room(viewer.id)
    writes_before = engine.held_writes

    engine.cork()
    await sockets.emit("probe", {"n": 1}, room=room, namespace="/viewer")  # held: a small room
    manager.corked_room_max_members = 0  # every room now counts as big: written at once...
    try:
        await sockets.emit("probe", {"n": 2}, room=room, namespace="/viewer")
    finally:
        manager.corked_room_max_members = 64
    # ... except to a client with frames held, which gets it after them, in the same write.
    assert engine.corked
    await asyncio.sleep(0)  # the loop's next turn: the engine uncorks

    assert not engine.corked
    assert engine.held_writes == writes_before + 1
    first = await live.wait_for(lambda n, p: n == "probe")
    second = await live.wait_for(lambda n, p: n == "probe")
    assert [first[1], second[1]] == [{"n": 1}, {"n": 2}]


async def test_each_authors_answer_leaves_in_the_same_write_as_its_mine_push(podium):
    """A batch's callers are answered while the publisher's cork still holds the batch's
    pushes, so each author's client gets its `mine` push and its answer in one write."""
    lives = [await podium.live_viewer(await podium.viewer(f"Asker {n}")) for n in range(8)]
    engine = podium.app[SOCKETS].eio
    frames_before, writes_before = engine.held_frames, engine.held_writes

    answers = await asyncio.gather(
        *(
            live.ok("submit_question", {"client_id": client_id(), "text": f"Question {n}?"})
            for n, live in enumerate(lives)
        )
    )

    for live, answer in zip(lives, answers, strict=True):
        _name, mine = await live.wait_for(lambda n, p: n == "mine")
        assert mine["question"]["id"] == answer["id"]
    held = engine.held_frames - frames_before
    writes = engine.held_writes - writes_before
    assert held - writes >= len(lives), (held, writes)  # a frame saved for each author
