"""Live updates: ordered delivery, snapshots that agree with updates, catch-up after a drop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.app_keys import SOCKETS
from tests.conftest import podium_with, start_app
from tests.conftest import test_settings as settings_for
from tests.support.clients import EVENT, LiveClient, Podium, StaffClient, ViewerClient, client_id
from tests.support.live_state import LiveState, pushed_updates, receive_through

EVENT_API = f"/api/v1/events/{EVENT}"


async def act(staff: StaffClient, question_id: int, action: str, **body) -> dict:
    status, answer = await staff.command("POST", f"/questions/{question_id}/{action}", body)
    assert status == 200, (action, status, answer)
    return answer


async def vote(viewer: ViewerClient, question_id: int) -> None:
    await viewer.ok("POST", f"{EVENT_API}/questions/{question_id}/vote")


async def ask(viewer: ViewerClient, text: str, **extra) -> int:
    return (await viewer.ask(text, **extra))["id"]


def votes_reported(question_id: int, count: int):
    def predicate(name, payload):
        return name == "update" and {"id": question_id, "votes": count} in payload.get("votes", [])

    return predicate


async def a_busy_session(podium: Podium) -> None:
    """Every kind of change a live event makes, public and staff, one after another."""
    moderator, chair = await podium.staff("moderator"), await podium.staff("chair")
    alice, bob = await podium.viewer("Alice"), await podium.viewer("Bob", "in_room")
    voters = [await podium.viewer(f"Voter {n}") for n in range(3)]
    main, side = podium.rooms["main"], podium.rooms["side"]
    funded = await ask(alice, "How will this be funded?")
    maintained = await ask(bob, "Who maintains it?")
    hidden = await ask(alice, "Asked without a name", anonymous=True)
    refused = await ask(bob, "Off topic at once")
    reconsidered = await ask(alice, "Approved, then rejected")
    duplicate = await ask(bob, "How is this funded?")
    clumsy = await ask(alice, "wording to fix")
    for qid in (funded, maintained, hidden, reconsidered, duplicate, clumsy):
        await act(moderator, qid, "approve")
    await act(moderator, refused, "reject", reason="off_topic")

    tally_watch = await podium.live("/stage", {"event": EVENT})
    for voter, qid in ((0, funded), (0, duplicate), (1, duplicate), (1, maintained)):
        await vote(voters[voter], qid)
    await vote(voters[2], maintained)
    await tally_watch.wait_for(votes_reported(maintained, 2))  # every vote so far is out

    await act(moderator, duplicate, "merge", into_question_id=funded)
    await act(moderator, reconsidered, "reject", reason="answered")
    await act(moderator, clumsy, "edit", text="A clearer wording")
    await act(moderator, clumsy, "star", starred=True)
    for qid in (funded, maintained, hidden):
        await act(chair, qid, "queue", room_id=main)
    status, body = await chair.command(
        "POST", f"/rooms/{main}/running-order", {"question_id": hidden, "position": 0}
    )
    assert status == 200, body
    await act(chair, maintained, "stage", room_id=main)
    await act(chair, hidden, "stage", room_id=side)
    await act(chair, maintained, "send-back")
    await act(chair, funded, "stage", room_id=main)
    await act(chair, funded, "answered")
    await act(chair, maintained, "unqueue")
    await alice.ok("POST", f"{EVENT_API}/questions/{clumsy}/withdraw")
    status, body = await moderator.command("POST", f"/viewers/{bob.id}/block", {"blocked": True})
    assert status == 200, body
    admin = await podium.staff("admin")
    await admin.ok(
        "PATCH", EVENT_API, {"title": "Renamed", "description": "Now with a late session"}
    )
    await admin.ok(
        "POST",
        f"{EVENT_API}/sessions",
        {
            "title": "Late addition",
            "kind": "other",
            "room_id": side,
            "starts_at": "2026-11-21T15:00:00+00:00",
            "ends_at": "2026-11-21T16:00:00+00:00",
        },
    )


async def fresh_snapshot(live: LiveClient) -> dict:
    snapshot = await live.ok("sync", {})
    assert snapshot["mode"] == "snapshot"
    return snapshot


def assert_gapless(updates: list[dict], after_seq: int) -> None:
    seqs = [u["seq"] for u in updates]
    assert seqs == list(range(after_seq + 1, after_seq + 1 + len(seqs))), seqs


async def test_every_change_reaches_each_entitled_client_in_order_within_a_second(podium):
    moderator, chair = await podium.staff("moderator"), await podium.staff("chair")
    asker, watcher = await podium.viewer("Asker"), await podium.viewer("Watcher")
    staff = [
        await podium.live_staff(moderator, "/moderator"),
        await podium.live_staff(chair, "/chair"),
    ]
    asker_live = await podium.live_viewer(asker)
    public = [
        asker_live,
        await podium.live_viewer(watcher),
        await podium.live("/stage", {"event": EVENT}),
    ]
    started = {id(live): (await live.ok("sync"))["seq"] for live in staff + public}
    main = podium.rooms["main"]

    async def everyone_sees(clients: list[LiveClient], predicate) -> None:
        await asyncio.gather(*(live.wait_for(predicate, timeout=1) for live in clients))

    def about(qid: int, kind: str = "question", **fields):
        def predicate(name, p):
            shown = p.get("question") or {}
            return (
                name == "update"
                and p["type"] == kind
                and shown.get("id") == qid
                and all(shown.get(k) == v for k, v in fields.items())
            )

        return predicate

    mine = await asker_live.ok("submit_question", {"client_id": client_id(), "text": "Q?"})
    qid = mine["id"]
    await everyone_sees(staff, about(qid, state="pending"))
    await act(moderator, qid, "approve")
    await everyone_sees(staff + public, about(qid, state="approved"))
    await public[1].ok("vote", {"question_id": qid})
    await everyone_sees(staff + public, votes_reported(qid, 1))
    await act(chair, qid, "queue", room_id=main)
    await everyone_sees(staff, lambda n, p: n == "update" and p.get("question_ids") == [qid])
    await everyone_sees(public, about(qid, state="queued"))
    await act(chair, qid, "stage", room_id=main)
    await everyone_sees(staff + public, about(qid, "stage", state="on_stage"))

    for group in (staff, public):
        for live in group:
            assert_gapless(pushed_updates(live), started[id(live)])
        first, *others = [pushed_updates(live) for live in group]
        assert all(updates == first for updates in others)
    shown_publicly = [u["question"] for u in pushed_updates(public[1]) if u.get("question")]
    assert "pending" not in {q["state"] for q in shown_publicly}


async def test_applying_every_update_to_an_old_snapshot_gives_the_fresh_snapshot(podium):
    viewer_live = await podium.live_viewer(await podium.viewer("Observer"))
    staff_live = await podium.live_staff(await podium.staff("moderator"), "/moderator")
    stage_live = await podium.live("/stage", {"event": EVENT})
    old = {
        live: LiveState.from_snapshot(await live.ok("sync")) for live in (viewer_live, staff_live)
    }
    old_stage = LiveState.from_snapshot(await stage_live.ok("sync"))

    await a_busy_session(podium)

    for live, state in old.items():
        fresh = LiveState.from_snapshot(await fresh_snapshot(live))
        state.apply_all(await receive_through(live, fresh.seq))
        assert state.seq == fresh.seq
        assert state.view() == fresh.view()
    fresh_stages = await fresh_snapshot(stage_live)
    old_stage.apply_all(await receive_through(stage_live, fresh_stages["seq"]))
    fresh_stage = LiveState.from_snapshot(fresh_stages)
    assert (old_stage.event, old_stage.stages) == (fresh_stage.event, fresh_stage.stages)


async def test_reconnecting_client_catches_up_with_exactly_the_updates_it_missed(podium):
    viewer = await podium.viewer("Commuter")
    first = await podium.live_viewer(viewer)
    state = LiveState.from_snapshot(await first.ok("sync"))
    await a_busy_session(podium)  # partly seen, then the train enters a tunnel
    seen = await receive_through(first, (await fresh_snapshot(first))["seq"])
    state.apply_all(seen)
    await first.close()

    asked_meanwhile = await ask(viewer, "Did I miss anything?")
    await act(await podium.staff("moderator"), asked_meanwhile, "approve")
    await a_busy_session(podium)
    again = await podium.live_viewer(viewer)
    caught_up = await again.ok("sync", {"since": state.seq})
    fresh = LiveState.from_snapshot(await fresh_snapshot(again))

    assert caught_up["mode"] == "catchup" and caught_up["seq"] == fresh.seq > state.seq
    assert_gapless(caught_up["entries"], state.seq)
    assert caught_up["entries"][-1]["seq"] == fresh.seq
    state.apply_all(caught_up["entries"])
    assert state.view() == fresh.view()
    assert [(q["id"], q["state"]) for q in caught_up["mine"]] == [(asked_meanwhile, "approved")]


@pytest.fixture
async def short_memory_podium(database_url: str, tmp_path: Path) -> AsyncIterator[Podium]:
    """The app keeping only ten missed updates for catch-up."""
    async with podium_with(database_url, tmp_path, catchup_max_entries=10) as client:
        yield client


async def test_a_gap_longer_than_the_catchup_limit_gets_a_snapshot(short_memory_podium):
    podium = short_memory_podium
    moderator = await podium.staff("moderator")
    asker = await podium.viewer("Asker")
    live = await podium.live("/stage", {"event": EVENT})
    start = (await live.ok("sync"))["seq"]
    pending = [await ask(asker, f"Question {n}") for n in range(11)]
    for qid in pending[:10]:
        await act(moderator, qid, "approve")  # one public update each

    at_limit = await live.ok("sync", {"since": start})
    assert at_limit["mode"] == "catchup" and len(at_limit["entries"]) == 10

    await act(moderator, pending[10], "approve")
    beyond = await live.ok("sync", {"since": start})
    assert beyond["mode"] == "snapshot" and beyond["seq"] == start + 11
    from_elsewhere = await live.ok("sync", {"since": start + 1000})
    assert from_elsewhere["mode"] == "snapshot" and from_elsewhere["seq"] == start + 11


async def test_vote_tallies_are_coalesced_into_fewer_pushes_than_votes(podium):
    asker = await podium.viewer("Asker")
    qid = await ask(asker, "Shall we take a vote?")
    await act(await podium.staff("moderator"), qid, "approve")
    voters = [await podium.viewer(f"Voter {n}") for n in range(30)]
    watcher = await podium.live("/stage", {"event": EVENT})
    await watcher.ok("sync")

    await asyncio.gather(*(vote(voter, qid) for voter in voters))
    await watcher.wait_for(votes_reported(qid, 30), timeout=10)

    tallies = [u for u in pushed_updates(watcher) if u["type"] == "votes"]
    counts = [item["votes"] for u in tallies for item in u["votes"] if item["id"] == qid]
    assert len(tallies) < 30
    assert counts == sorted(counts) and counts[-1] == 30


async def test_reloaded_page_gets_the_viewers_own_questions_in_every_state(podium):
    moderator, chair = await podium.staff("moderator"), await podium.staff("chair")
    asker = await podium.viewer("Asker")
    live = await podium.live_viewer(asker)
    ids = [await ask(asker, f"Mine {n}") for n in range(5)]
    waiting, approved, rejected, staged, withdrawn = ids
    for qid in (approved, staged, withdrawn):
        await act(moderator, qid, "approve")
    await act(moderator, rejected, "reject", reason="other")
    await act(chair, staged, "stage", room_id=podium.rooms["main"])
    await live.ok("withdraw_question", {"question_id": withdrawn})
    await live.wait_for(lambda n, p: n == "mine" and p["question"]["state"] == "withdrawn")
    last_pushed = {p["question"]["id"]: p["question"] for n, p in live.received if n == "mine"}
    await live.close()

    reloaded = await podium.live_viewer(asker)
    synced = await reloaded.ok("sync")

    states = {q["id"]: q["state"] for q in synced["mine"]}
    assert states == {
        waiting: "pending",
        approved: "approved",
        rejected: "rejected",
        staged: "on_stage",
        withdrawn: "withdrawn",
    }
    assert {q["id"]: q for q in synced["mine"] if q["id"] in last_pushed} == last_pushed
    over_http = await asker.ok("GET", f"{EVENT_API}/questions/mine")
    assert over_http["questions"] == synced["mine"]


async def test_long_polling_clients_receive_updates_too(podium):
    viewer = await podium.viewer("Old browser")
    polling = await podium.live("/viewer", {"token": viewer.token}, transport="polling")
    stage = await podium.live("/stage", {"event": EVENT}, transport="polling")
    try:
        start = (await polling.ok("sync"))["seq"]
        await stage.ok("sync")

        mine = await polling.ok("submit_question", {"client_id": client_id(), "text": "Hello?"})
        await act(await podium.staff("moderator"), mine["id"], "approve")

        await polling.wait_for(lambda n, p: n == "mine" and p["question"]["state"] == "approved")
        _, pushed = await stage.wait_for(lambda n, p: n == "update" and p["type"] == "question")
        assert pushed["question"]["id"] == mine["id"]
        assert_gapless(await receive_through(polling, pushed["seq"]), start)
    finally:
        await hang_up_on_everyone(podium.app)


async def hang_up_on_everyone(app) -> None:
    """Answer every pending long-poll now: a polling client's own close waits for the
    server's next ping (25 s), as python-engineio answers a long-poll only with a packet."""
    engine = app[SOCKETS].eio
    if engine.sockets:  # engine.io's disconnect-all fails on an empty set
        await engine.disconnect()


async def test_shutdown_does_not_wait_for_long_polling_clients(database_url, tmp_path):
    settings = settings_for(database_url, tmp_path)
    runner = await start_app(settings)
    podium = Podium(settings, runner.app)
    closing = None
    try:
        await podium.seed()
        viewer = await podium.viewer("Old browser")
        polling = await podium.live("/viewer", {"token": viewer.token}, transport="polling")
        await polling.ok("sync")
        closing = asyncio.ensure_future(runner.cleanup())
        await asyncio.wait_for(asyncio.shield(closing), timeout=2)
    finally:
        await hang_up_on_everyone(runner.app)
        await podium.close()
        await (closing or runner.cleanup())


async def test_shutdown_with_no_clients_connected_completes(database_url, tmp_path):
    runner = await start_app(settings_for(database_url, tmp_path))
    assert runner.app[SOCKETS].eio.sockets == {}

    await runner.cleanup()


async def test_the_vote_tally_paces_itself_by_the_clients_connected_to_its_process(podium):
    tally = podium.services.tally
    alone = tally.audience()
    viewers = [await podium.viewer(f"Counted {n}") for n in range(3)]
    live = [await podium.live_viewer(viewer) for viewer in viewers]
    assert tally.audience() == alone + 3
    for client in live:
        await client.close()
    for _ in range(100):
        if tally.audience() == alone:
            break
        await asyncio.sleep(0.05)
    assert tally.audience() == alone
