"""A viewer connecting costs no database query: what `sync` sends is held in memory, and kept
in step so that it is exactly what a fresh read of the database would build."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event as sa_event

from server.services import catalog, sync
from server.services.context import Actor
from server.store import broadcasts
from server.store import questions as question_store
from tests.conftest import podium_with
from tests.support.clients import EVENT, Podium

EVENT_API = f"/api/v1/events/{EVENT}"
# Periodic upkeep (stream checks, heartbeat flushes, the purge) must not run mid-count.
QUIET = {"stream_check_seconds": 600, "heartbeat_flush_seconds": 300, "purge_check_minutes": 1440}


@pytest.fixture
async def podium(database_url: str, tmp_path: Path):
    async with podium_with(database_url, tmp_path, **QUIET) as client:
        yield client


@contextlib.contextmanager
def statements(podium: Podium) -> Iterator[list[str]]:
    """Every SQL statement the app's engines execute inside the block."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    engines = [engine.sync_engine for engine in podium.services.db.engines]
    for engine in engines:
        sa_event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            sa_event.remove(engine, "before_cursor_execute", record)


async def settled(podium: Podium) -> None:
    """Vote tallies flushed and every push delivered: memory has seen all that committed."""
    await podium.services.tally.flush()
    await podium.services.publisher.drain()


async def from_database(podium: Podium, viewer_id: int, since: int | None = None) -> dict:
    s = podium.services
    event = await catalog.event_by_slug(s, EVENT)
    actor = Actor(kind="viewer", id=viewer_id, name="viewer", role="viewer", event_id=event.id)
    return await sync.viewer_sync_from_database(s, actor, event, since)


def comparable(result: dict) -> dict:
    return {**result, "my_votes": sorted(result["my_votes"])}


async def act(staff, question_id: int, action: str, **body) -> None:
    status, answer = await staff.command("POST", f"/questions/{question_id}/{action}", body)
    assert status == 200, (action, status, answer)


async def test_a_new_viewer_connects_and_syncs_without_a_database_query(podium: Podium):
    first = await podium.viewer("First")
    await (await podium.live_viewer(first)).ok("sync")  # the event's state is now in memory
    newcomer = await podium.viewer("Newcomer")

    with statements(podium) as executed:
        live = await podium.live_viewer(newcomer)
        synced = await live.ok("sync")

    assert executed == []
    assert synced["viewer"] == {
        "id": newcomer.id,
        "display_name": "Newcomer",
        "channel": "remote",
        "blocked": False,
    }
    assert comparable(synced) == comparable(await from_database(podium, newcomer.id))


async def test_memory_matches_a_fresh_read_after_approve_edit_votes_and_merge(podium: Podium):
    moderator = await podium.staff("moderator")
    author, fan, other = [await podium.viewer(n) for n in ("Asha", "Fan", "Other")]
    await (await podium.live_viewer(other)).ok("sync")
    first = (await author.ask("Will the data be open?"))["id"]
    second = (await author.ask("Is the data going to be open?"))["id"]
    for qid in (first, second):
        await act(moderator, qid, "approve")
    await act(moderator, first, "edit", text="Will the data be open to all?")
    for voter, qid in ((fan, first), (other, first), (other, second)):
        await voter.ok("POST", f"{EVENT_API}/questions/{qid}/vote")
    await fan.ok("DELETE", f"{EVENT_API}/questions/{first}/vote")
    await fan.ok("POST", f"{EVENT_API}/questions/{second}/vote")
    await settled(podium)
    before_merge = (await from_database(podium, author.id))["seq"]

    for viewer in (author, fan, other):
        live = await podium.live_viewer(viewer)
        assert comparable(await live.ok("sync")) == comparable(
            await from_database(podium, viewer.id)
        )

    await act(moderator, second, "merge", into_question_id=first)
    await fan.ok("POST", f"{EVENT_API}/questions/{second}/vote")  # goes to the target
    await settled(podium)

    for viewer in (author, fan, other):  # a reconnect: fresh sockets, same viewers
        live = await podium.live_viewer(viewer)
        assert comparable(await live.ok("sync")) == comparable(
            await from_database(podium, viewer.id)
        )
        caught_up = await live.ok("sync", {"since": before_merge})
        assert caught_up["mode"] == "catchup"
        assert comparable(caught_up) == comparable(
            await from_database(podium, viewer.id, since=before_merge)
        )


async def test_a_blocked_or_renamed_viewer_is_seen_so_at_once(podium: Podium):
    moderator = await podium.staff("moderator")
    viewer = await podium.viewer("Before")
    await (await podium.live_viewer(viewer)).ok("sync")

    await viewer.ok("PATCH", f"{EVENT_API}/viewers/me", {"display_name": "After"})
    status, _ = await moderator.command("POST", f"/viewers/{viewer.id}/block", {})
    assert status == 200
    await settled(podium)

    with statements(podium) as executed:
        synced = await (await podium.live_viewer(viewer)).ok("sync")
    assert executed == []
    assert (synced["viewer"]["display_name"], synced["viewer"]["blocked"]) == ("After", True)
    assert comparable(synced) == comparable(await from_database(podium, viewer.id))


async def test_settling_waits_for_a_tally_flush_already_under_way(podium: Podium, monkeypatch):
    """The periodic flush may have taken a vote's mark before the test flushes: the test's
    flush must then wait for it, or memory is compared before the tally reached it."""
    moderator = await podium.staff("moderator")
    author, fan = [await podium.viewer(n) for n in ("Asha", "Fan")]
    await (await podium.live_viewer(author)).ok("sync")
    qid = (await author.ask("Will the data be open?"))["id"]
    await act(moderator, qid, "approve")
    await settled(podium)
    event = await catalog.event_by_slug(podium.services, EVENT)

    tally = podium.services.tally
    under_way, go_on = asyncio.Event(), asyncio.Event()
    counting = broadcasts.hold_sequence

    async def held_up(session, event_id):
        if not under_way.is_set():  # the first flush stops here, its marks taken
            under_way.set()
            await go_on.wait()
        return await counting(session, event_id)

    flush = tally.flush

    async def flush_second():
        go_on.set()  # the first flush may go on only once this one has begun
        await flush()

    monkeypatch.setattr(broadcasts, "hold_sequence", held_up)
    await fan.ok("POST", f"{EVENT_API}/questions/{qid}/vote")
    await under_way.wait()  # the periodic flush took the mark
    monkeypatch.setattr(tally, "flush", flush_second)
    await settled(podium)

    # Read at once from memory (no await suspends here): the tally must be in it already.
    held = await podium.services.live.viewer_sync(author.id, event, None)
    assert [(q["id"], q["votes"]) for q in held["questions"]] == [(qid, 1)]
    assert [(q["id"], q["votes"]) for q in held["mine"]] == [(qid, 1)]
    assert comparable(held) == comparable(await from_database(podium, author.id))


async def test_what_arrives_while_a_viewer_is_read_from_the_database_is_kept(
    podium: Podium, monkeypatch
):
    """A viewer not held (a merge moved their votes) is read on their next sync; a vote,
    a tally or their own new question committed during that read must not be lost."""
    moderator = await podium.staff("moderator")
    author, fan = [await podium.viewer(n) for n in ("Asha", "Fan")]
    await (await podium.live_viewer(author)).ok("sync")
    first, second, third = [(await author.ask(f"Question {n}?"))["id"] for n in range(3)]
    fans_own = (await fan.ask("Fan's own question?"))["id"]
    for qid in (first, second, third, fans_own):
        await act(moderator, qid, "approve")
    await fan.ok("POST", f"{EVENT_API}/questions/{second}/vote")
    await act(moderator, second, "merge", into_question_id=first)  # memory lets Fan go
    await settled(podium)

    reading, go_on = asyncio.Event(), asyncio.Event()
    votes_of = question_store.voted_question_ids

    async def held_up(session, viewer_id):
        voted = await votes_of(session, viewer_id)
        if viewer_id == fan.id and not reading.is_set():  # read, not yet held in memory
            reading.set()
            await go_on.wait()
        return voted

    monkeypatch.setattr(question_store, "voted_question_ids", held_up)
    live = await podium.live_viewer(fan)
    syncing = asyncio.create_task(live.ok("sync"))
    await reading.wait()
    await fan.ok("POST", f"{EVENT_API}/questions/{third}/vote")
    await author.ok("POST", f"{EVENT_API}/questions/{fans_own}/vote")
    await act(moderator, fans_own, "edit", text="Fan's own question, edited?")
    await settled(podium)
    go_on.set()
    await syncing
    await settled(podium)

    synced = await (await podium.live_viewer(fan)).ok("sync")
    assert sorted(synced["my_votes"]) == [first, third]
    assert [(q["text"], q["votes"]) for q in synced["mine"]] == [("Fan's own question, edited?", 1)]
    assert comparable(synced) == comparable(await from_database(podium, fan.id))
