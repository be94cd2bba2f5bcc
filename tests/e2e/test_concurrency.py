"""Races on purpose: staff acting on one question at once, and crowds of identical requests."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.clients import EVENT, StaffClient, client_id

EVENT_API = f"/api/v1/events/{EVENT}"
Outcome = tuple[bool, dict[str, Any]]  # (succeeded, data or error body)


async def over_http(staff: StaffClient, question_id: int, action: str, **body) -> Outcome:
    status, answer = await staff.command("POST", f"/questions/{question_id}/{action}", body)
    if status == 200:
        return True, answer
    assert status == 409, (status, answer)
    return False, answer["error"]


async def race(*attempts) -> list[Outcome]:
    """Start every attempt together; each one has already connected and logged in."""
    return list(await asyncio.gather(*attempts))


async def pending_question(podium, text: str = "Contested question") -> int:
    return (await (await podium.viewer("Asker")).ask(text))["id"]


async def staff_question(staff: StaffClient, question_id: int) -> dict:
    rows = await staff.ok("GET", f"{EVENT_API}/moderation/questions")
    return next(q for q in rows if q["id"] == question_id)


async def decisions(staff: StaffClient, question_id: int) -> list[str]:
    entries = reversed(await staff.ok("GET", f"{EVENT_API}/audit"))
    return [e["action"] for e in entries if e["question_id"] == question_id]


def one_winner(outcomes: list[Outcome]) -> tuple[dict, dict]:
    """The winner's data and the loser's error, whichever way the race went."""
    assert sorted(ok for ok, _ in outcomes) == [False, True], outcomes
    (_, won), (_, lost) = sorted(outcomes, key=lambda o: not o[0])
    return won, lost


async def test_two_moderators_approving_at_once_one_wins_the_other_learns_the_state(podium):
    moderator, admin = await podium.staff("moderator"), await podium.staff("admin")
    by_socket, by_http = await pending_question(podium), await pending_question(podium)
    sockets = [await podium.live_staff(s, "/moderator") for s in (moderator, admin)]

    socket_race = await race(
        *(live.call("approve_question", {"question_id": by_socket}) for live in sockets)
    )
    http_race = await race(*(over_http(s, by_http, "approve") for s in (moderator, admin)))

    outcomes = [(ack["ok"], ack.get("data") or ack["error"]) for ack in socket_race]
    for qid, raced in ((by_socket, outcomes), (by_http, http_race)):
        won, lost = one_winner(raced)
        assert won["state"] == "approved"
        assert lost["code"] == "illegal_transition" and "approved" in lost["message"]
        assert (await staff_question(moderator, qid))["state"] == "approved"
        assert await decisions(moderator, qid) == ["QuestionSubmitted", "QuestionApproved"]


async def test_two_moderators_rejecting_at_once_record_one_rejection(podium):
    moderator, admin = await podium.staff("moderator"), await podium.staff("admin")
    qid = await pending_question(podium)

    raced = await race(
        over_http(moderator, qid, "reject", reason="off_topic"),
        over_http(admin, qid, "reject", reason="duplicate"),
    )

    won, lost = one_winner(raced)
    assert lost["code"] == "illegal_transition" and "rejected" in lost["message"]
    stored = await staff_question(moderator, qid)
    assert (stored["state"], stored["reject_reason"]) == ("rejected", won["reject_reason"])
    assert await decisions(moderator, qid) == ["QuestionSubmitted", "QuestionRejected"]


async def test_approve_racing_reject_applies_both_in_one_order_and_audits_each(podium):
    """Both moves stay legal after the other (docs/architecture.md, Concurrency): the later
    decision stands, and the audit log shows the order they were applied in."""
    moderator, admin = await podium.staff("moderator"), await podium.staff("admin")
    approver = await podium.live_staff(moderator, "/moderator")
    rejecter = await podium.live_staff(admin, "/moderator")
    qid = await pending_question(podium)

    approved, rejected = await asyncio.gather(
        approver.call("approve_question", {"question_id": qid}),
        rejecter.call("reject_question", {"question_id": qid, "reason": "other"}),
    )

    assert approved["ok"] and rejected["ok"], (approved, rejected)
    applied = (await decisions(moderator, qid))[1:]
    assert sorted(applied) == ["QuestionApproved", "QuestionRejected"]
    final = {"QuestionApproved": "approved", "QuestionRejected": "rejected"}[applied[-1]]
    assert (await staff_question(moderator, qid))["state"] == final


async def test_chair_staging_while_a_moderator_rejects_ends_in_one_valid_state(podium):
    moderator, chair = await podium.staff("moderator"), await podium.staff("chair")
    main = podium.rooms["main"]
    qid = await pending_question(podium)
    assert (await over_http(moderator, qid, "approve"))[0]
    chair_live = await podium.live_staff(chair, "/chair")
    mod_live = await podium.live_staff(moderator, "/moderator")

    acks = await asyncio.gather(
        chair_live.call("put_on_stage", {"question_id": qid, "room_id": main}),
        mod_live.call("reject_question", {"question_id": qid, "reason": "off_topic"}),
    )

    won, lost = one_winner([(a["ok"], a.get("data") or a["error"]) for a in acks])
    assert won["state"] in ("on_stage", "rejected")
    assert lost["code"] == "illegal_transition" and won["state"] in lost["message"]
    assert (await staff_question(moderator, qid))["state"] == won["state"]
    anyone = await podium.anonymous()
    shown = (await anyone.ok("GET", f"{EVENT_API}/rooms/{main}/stage"))["question"]
    assert (shown or {}).get("id") == (qid if won["state"] == "on_stage" else None)
    moves = (await decisions(moderator, qid))[2:]  # after submission and approval
    assert moves == [
        {"on_stage": "QuestionPutOnStage", "rejected": "QuestionRejected"}[won["state"]]
    ]


async def test_twenty_identical_submissions_at_once_store_one_question(podium):
    asker = await podium.viewer("Impatient")
    mod_live = await podium.live_staff(await podium.staff("moderator"), "/moderator")
    await mod_live.ok("sync")
    payload = {"client_id": client_id(), "text": "Is anyone there?"}

    answers = await asyncio.gather(
        *(asker.request("POST", f"{EVENT_API}/questions", payload) for _ in range(20))
    )

    assert {status for status, _ in answers} == {200}
    assert len({body["id"] for _, body in answers}) == 1
    assert sorted(body["duplicate"] for _, body in answers) == [False] + [True] * 19
    mine = await asker.ok("GET", f"{EVENT_API}/questions/mine")
    assert [q["text"] for q in mine["questions"]] == ["Is anyone there?"]
    qid = answers[0][1]["id"]
    await mod_live.wait_for(lambda n, p: (p.get("question") or {}).get("id") == qid)
    await mod_live.ok("sync")  # a round trip: any second push would have arrived by now
    pushes = [p for n, p in mod_live.received if (p.get("question") or {}).get("id") == qid]
    assert len(pushes) == 1


async def test_fifty_viewers_voting_at_once_with_retries_count_fifty_votes(podium):
    qid = await pending_question(podium, "Shall we extend the session?")
    assert (await over_http(await podium.staff("moderator"), qid, "approve"))[0]
    voters = await asyncio.gather(*(podium.viewer(f"Voter {n}") for n in range(50)))
    stage = await podium.live("/stage", {"event": EVENT})
    await stage.ok("sync")
    path = f"{EVENT_API}/questions/{qid}/vote"

    answers = await asyncio.gather(*(v.ok("POST", path) for v in voters for _ in range(2)))

    assert sum(a["changed"] for a in answers) == 50
    assert max(a["votes"] for a in answers) == 50
    await stage.wait_for(lambda n, p: {"id": qid, "votes": 50} in p.get("votes", []), timeout=10)
    anyone = await podium.anonymous()
    assert [q["votes"] for q in await anyone.ok("GET", f"{EVENT_API}/questions")] == [50]


async def test_two_chairs_staging_in_one_room_at_once_leave_one_question_on_stage(podium):
    chair, admin = await podium.staff("chair"), await podium.staff("admin")
    moderator = await podium.staff("moderator")
    main = podium.rooms["main"]
    first, second = await pending_question(podium, "First"), await pending_question(podium)
    for qid in (first, second):
        assert (await over_http(moderator, qid, "approve"))[0]

    raced = await race(
        over_http(chair, first, "stage", room_id=main),
        over_http(admin, second, "stage", room_id=main),
    )

    assert all(ok for ok, _ in raced), raced  # the later one answers the earlier one
    states = {qid: (await staff_question(moderator, qid))["state"] for qid in (first, second)}
    assert sorted(states.values()) == ["answered", "on_stage"]
    [on_stage] = [qid for qid, state in states.items() if state == "on_stage"]
    anyone = await podium.anonymous()
    shown = await anyone.ok("GET", f"{EVENT_API}/rooms/{main}/stage")
    assert shown["question"]["id"] == on_stage
