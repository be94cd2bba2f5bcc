"""The whole moderated question flow, every role, over HTTP and Socket.IO."""

from __future__ import annotations

from tests.support.clients import EVENT, client_id


def is_update(kind: str, **match):
    def predicate(name, payload):
        if name != "update" or payload.get("type") != kind:
            return False
        question = payload.get("question") or {}
        return all(question.get(k) == v or payload.get(k) == v for k, v in match.items())

    return predicate


async def test_question_travels_from_viewer_to_stage_and_everyone_sees_it(podium):
    moderator = await podium.staff("moderator")
    chair = await podium.staff("chair")
    asker = await podium.viewer("Amira", channel="in_room")
    other = await podium.viewer(None)
    main = podium.rooms["main"]

    mod_live = await podium.live_staff(moderator, "/moderator")
    chair_live = await podium.live_staff(chair, "/chair")
    asker_live = await podium.live_viewer(asker)
    other_live = await podium.live_viewer(other)
    stage_live = await podium.live("/stage", {"event": EVENT})
    for live in (mod_live, chair_live, asker_live, other_live, stage_live):
        assert (await live.ok("sync"))["mode"] == "snapshot"

    mine = await asker_live.ok(
        "submit_question",
        {
            "client_id": client_id(),
            "text": "  Will the findings be published?  ",
            "session_id": podium.sessions["Workshop A"],
        },
    )
    assert mine["state"] == "pending" and mine["text"] == "Will the findings be published?"
    qid = mine["id"]
    _, pushed = await mod_live.wait_for(is_update("question", id=qid, state="pending"))
    assert pushed["question"]["channel"] == "in_room"
    assert pushed["question"]["author"] == "Amira"

    await mod_live.ok("approve_question", {"question_id": qid})
    _, public = await other_live.wait_for(is_update("question", id=qid, state="approved"))
    assert "viewer_id" not in public["question"] and "flags" not in public["question"]
    _, own = await asker_live.wait_for(
        lambda n, p: n == "mine" and p["question"]["state"] == "approved"
    )
    assert own["question"]["id"] == qid

    vote = await other_live.ok("vote", {"question_id": qid})
    assert vote == {"question_id": qid, "voted": True, "votes": 1, "changed": True}
    await chair_live.wait_for(
        lambda n, p: (
            n == "update" and p["type"] == "votes" and {"id": qid, "votes": 1} in p["votes"]
        )
    )

    await chair_live.ok("queue_question", {"question_id": qid, "room_id": main})
    _, order = await chair_live.wait_for(is_update("running_order", room_id=main))
    assert order["question_ids"] == [qid]
    await chair_live.ok("put_on_stage", {"question_id": qid, "room_id": main})
    _, staged = await stage_live.wait_for(is_update("stage", room_id=main))
    assert staged["question"]["id"] == qid and staged["question"]["author"] == "Amira"
    await asker_live.wait_for(lambda n, p: n == "mine" and p["question"]["state"] == "on_stage")

    await chair_live.ok("mark_answered", {"question_id": qid})
    _, cleared = await stage_live.wait_for(is_update("stage", room_id=main))
    assert cleared["question"] is None
    status, listed = await other.request("GET", f"/api/v1/events/{EVENT}/questions")
    assert status == 200 and [(q["id"], q["state"], q["votes"]) for q in listed] == [
        (qid, "answered", 1)
    ]
