"""The chair's panel: running orders, the stage of each room, and ranked lists."""

from __future__ import annotations

from tests.support.clients import EVENT, LiveClient, StaffClient

EVENT_API = f"/api/v1/events/{EVENT}"


async def approved_questions(podium, count: int) -> list[int]:
    asker = await podium.viewer("Asker")
    moderator = await podium.staff("moderator")
    ids = []
    for n in range(count):
        qid = (await asker.ask(f"Panel question {n}"))["id"]
        status, body = await moderator.command("POST", f"/questions/{qid}/approve")
        assert status == 200, body
        ids.append(qid)
    return ids


async def chair_does(chair: StaffClient, question_id: int, action: str, **body) -> dict:
    status, answer = await chair.command("POST", f"/questions/{question_id}/{action}", body)
    assert status == 200, (action, status, answer)
    return answer


async def reorder(chair: StaffClient, room_id: int, question_id: int, position: int) -> list[int]:
    status, body = await chair.command(
        "POST",
        f"/rooms/{room_id}/running-order",
        {"question_id": question_id, "position": position},
    )
    assert status == 200, body
    return body["question_ids"]


async def running_order(chair: StaffClient, room_id: int) -> list[int]:
    body = await chair.ok("GET", f"{EVENT_API}/rooms/{room_id}/running-order")
    return [q["id"] for q in body["questions"]]


async def stage_of(podium, room_id: int) -> dict | None:
    anyone = await podium.anonymous()
    return (await anyone.ok("GET", f"{EVENT_API}/rooms/{room_id}/stage"))["question"]


async def states(chair: StaffClient) -> dict[int, str]:
    rows = await chair.ok("GET", f"{EVENT_API}/moderation/questions")
    return {q["id"]: q["state"] for q in rows}


def running_orders_pushed(live: LiveClient, room_id: int) -> list[list[int]]:
    return [
        p["question_ids"]
        for n, p in live.received
        if n == "update" and p["type"] == "running_order" and p["room_id"] == room_id
    ]


async def test_queue_reorder_and_unqueue_push_each_running_order_in_turn(podium):
    chair = await podium.staff("chair")
    mod_live = await podium.live_staff(await podium.staff("moderator"), "/moderator")
    main = podium.rooms["main"]
    a, b, c, d = await approved_questions(podium, 4)

    for qid in (a, b, c):
        assert (await chair_does(chair, qid, "queue", room_id=main))["state"] == "queued"
    assert await reorder(chair, main, c, 0) == [c, a, b]
    assert await reorder(chair, main, c, 2) == [a, b, c]  # to the last place
    assert await reorder(chair, main, c, 2) == [a, b, c]  # unchanged: nothing pushed
    assert await reorder(chair, main, a, 99) == [b, c, a]  # clamped to the end
    assert (await chair_does(chair, b, "unqueue"))["state"] == "approved"
    await chair_does(chair, d, "queue", room_id=main)

    expected = [[a], [a, b], [a, b, c], [c, a, b], [a, b, c], [b, c, a], [c, a], [c, a, d]]
    await mod_live.wait_for(lambda n, p: n == "update" and p.get("question_ids") == [c, a, d])
    assert running_orders_pushed(mod_live, main) == expected
    assert await running_order(chair, main) == [c, a, d]


async def test_reordering_a_question_outside_the_running_order_is_refused(podium):
    chair = await podium.staff("chair")
    main = podium.rooms["main"]
    queued, loose = await approved_questions(podium, 2)
    await chair_does(chair, queued, "queue", room_id=main)

    status, body = await chair.command(
        "POST", f"/rooms/{main}/running-order", {"question_id": loose, "position": 0}
    )

    assert status == 400 and body["error"]["fields"] == {"question_id": "not in the running order"}
    assert await running_order(chair, main) == [queued]


async def test_putting_a_question_on_stage_marks_the_previous_one_answered(podium):
    chair = await podium.staff("chair")
    stage_live = await podium.live("/stage", {"event": EVENT})
    main = podium.rooms["main"]
    first, second = await approved_questions(podium, 2)
    await chair_does(chair, second, "queue", room_id=main)
    await chair_does(chair, first, "stage", room_id=main)

    staged = await chair_does(chair, second, "stage", room_id=main)

    assert (staged["state"], staged["stage_room_id"]) == ("on_stage", main)
    assert await states(chair) == {first: "answered", second: "on_stage"}
    assert (await stage_of(podium, main))["id"] == second
    assert await running_order(chair, main) == []
    await stage_live.wait_for(
        lambda n, p: n == "update" and p["type"] == "stage" and p["question"]["id"] == second
    )
    shown = [p["question"]["id"] for n, p in stage_live.received if p.get("type") == "stage"]
    assert shown == [first, second]


async def test_send_back_returns_the_question_to_the_top_of_the_running_order(podium):
    chair = await podium.staff("chair")
    chair_live = await podium.live_staff(chair, "/chair")
    main = podium.rooms["main"]
    staged, next_up, later = await approved_questions(podium, 3)
    for qid in (next_up, later):
        await chair_does(chair, qid, "queue", room_id=main)
    await chair_does(chair, staged, "stage", room_id=main)

    sent = await chair_does(chair, staged, "send-back")

    assert sent["state"] == "queued"
    assert await running_order(chair, main) == [staged, next_up, later]
    assert await stage_of(podium, main) is None
    await chair_live.wait_for(
        lambda n, p: n == "update" and p.get("question_ids") == [staged, next_up, later]
    )
    await chair_live.wait_for(
        lambda n, p: n == "update" and p["type"] == "stage" and p["question"] is None
    )


async def test_each_room_shows_one_question_at_a_time(podium):
    chair = await podium.staff("chair")
    main, side = podium.rooms["main"], podium.rooms["side"]
    m1, s1, m2, s2 = await approved_questions(podium, 4)

    await chair_does(chair, m1, "stage", room_id=main)
    await chair_does(chair, s1, "stage", room_id=side)
    assert await states(chair) == {m1: "on_stage", s1: "on_stage", m2: "approved", s2: "approved"}

    await chair_does(chair, m2, "stage", room_id=main)
    assert await states(chair) == {m1: "answered", s1: "on_stage", m2: "on_stage", s2: "approved"}
    await chair_does(chair, s2, "stage", room_id=side)

    assert await states(chair) == {m1: "answered", s1: "answered", m2: "on_stage", s2: "on_stage"}
    assert [(await stage_of(podium, room))["id"] for room in (main, side)] == [m2, s2]
    status, body = await chair.command("POST", f"/questions/{m2}/stage", {"room_id": side})
    assert status == 409 and "on_stage" in body["error"]["message"]


async def test_public_list_sorts_by_votes_with_ties_oldest_first_or_by_newest(podium):
    oldest, middle, newest = await approved_questions(podium, 3)
    voters = [await podium.viewer(f"Voter {n}") for n in range(3)]
    for voter in voters:
        await voter.ok("POST", f"{EVENT_API}/questions/{oldest}/vote")
    await voters[0].ok("POST", f"{EVENT_API}/questions/{newest}/vote")
    anyone = await podium.anonymous()

    async def listed(sort: str) -> list[tuple[int, int]]:
        rows = await anyone.ok("GET", f"{EVENT_API}/questions", params={"sort": sort})
        return [(q["id"], q["votes"]) for q in rows]

    assert await listed("votes") == [(oldest, 3), (newest, 1), (middle, 0)]
    assert await listed("newest") == [(newest, 1), (middle, 0), (oldest, 3)]
    await voters[1].ok("POST", f"{EVENT_API}/questions/{middle}/vote")
    assert await listed("votes") == [(oldest, 3), (middle, 1), (newest, 1)]
