"""Moderation over the real app: decisions, edits, merges, blocks, screening, stats, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.clients import EVENT, LiveClient, StaffClient, ViewerClient, client_id

EVENT_API = f"/api/v1/events/{EVENT}"


async def act(staff: StaffClient, question_id: int, action: str, **body) -> dict:
    status, answer = await staff.command("POST", f"/questions/{question_id}/{action}", body)
    assert status == 200, (action, status, answer)
    return answer


async def vote(viewer: ViewerClient, question_id: int) -> dict:
    return await viewer.ok("POST", f"{EVENT_API}/questions/{question_id}/vote")


async def staff_list(staff: StaffClient, **filters: str) -> list[dict]:
    return await staff.ok("GET", f"{EVENT_API}/moderation/questions", params=filters)


async def public_ids(podium) -> list[int]:
    anyone = await podium.anonymous()
    return [q["id"] for q in await anyone.ok("GET", f"{EVENT_API}/questions")]


async def audit(staff: StaffClient) -> list[dict]:
    """The audit log, oldest first."""
    return list(reversed(await staff.ok("GET", f"{EVENT_API}/audit")))


async def fence(moderator: StaffClient, asker: ViewerClient, public: LiveClient) -> None:
    """Approve a fresh question and wait for it: every earlier public push has arrived."""
    marker = (await asker.ask("Fence question, please ignore"))["id"]
    await act(moderator, marker, "approve")
    await public.wait_for(
        lambda n, p: n == "update" and (p.get("question") or {}).get("id") == marker
    )


def mentions(payload: dict, question_id: int) -> bool:
    shown = payload.get("question") or {}
    voted = [item["id"] for item in payload.get("votes", [])]
    return question_id in (shown.get("id"), payload.get("question_id"), *voted)


async def test_rejected_question_tells_its_author_why_and_never_reaches_the_public(podium):
    moderator = await podium.staff("moderator")
    asker, watcher = await podium.viewer("Asker"), await podium.viewer("Watcher")
    asker_live, watcher_live = await podium.live_viewer(asker), await podium.live_viewer(watcher)
    qid = (await asker.ask("Is the CEO's salary on the agenda?"))["id"]

    rejected = await act(moderator, qid, "reject", reason="off_topic")

    assert (rejected["state"], rejected["reject_reason"]) == ("rejected", "off_topic")
    _, own = await asker_live.wait_for(
        lambda n, p: n == "mine" and p["question"]["state"] == "rejected"
    )
    assert own["question"]["id"] == qid and own["question"]["reject_reason"] == "off_topic"
    await fence(moderator, asker, watcher_live)
    assert not [p for n, p in watcher_live.received if n == "update" and mentions(p, qid)]
    assert qid not in await public_ids(podium)


async def test_rejected_question_can_be_approved_later_and_loses_its_reason(podium):
    moderator = await podium.staff("moderator")
    asker = await podium.viewer("Asker")
    watcher_live = await podium.live_viewer(await podium.viewer("Watcher"))
    qid = (await asker.ask("What is the timeline for phase two?"))["id"]
    await act(moderator, qid, "reject", reason="duplicate")

    approved = await act(moderator, qid, "approve")

    assert (approved["state"], approved["reject_reason"]) == ("approved", None)
    _, pushed = await watcher_live.wait_for(lambda n, p: n == "update" and mentions(p, qid))
    assert pushed["question"]["state"] == "approved"
    assert qid in await public_ids(podium)
    mine = await asker.ok("GET", f"{EVENT_API}/questions/mine")
    assert [(q["state"], q["reject_reason"]) for q in mine["questions"]] == [("approved", None)]


async def test_edit_keeps_the_original_for_staff_and_audits_previous_and_new_text(podium):
    moderator = await podium.staff("moderator")
    asker = await podium.viewer("Asker")
    mod_live = await podium.live_staff(moderator, "/moderator")
    qid = (await asker.ask("wen will the report b out"))["id"]
    await act(moderator, qid, "approve")

    edited = await mod_live.ok(
        "edit_question", {"question_id": qid, "text": "When will the report be out?"}
    )

    assert edited["text"] == "When will the report be out?"
    assert edited["original_text"] == "wen will the report b out"
    anyone = await podium.anonymous()
    [public] = await anyone.ok("GET", f"{EVENT_API}/questions")
    assert public["text"] == "When will the report be out?" and "original_text" not in public
    [entry] = [e for e in await audit(moderator) if e["action"] == "QuestionEdited"]
    assert entry["question_id"] == qid
    assert entry["actor"]["name"] == "Test moderator" and entry["actor"]["kind"] == "staff"
    assert entry["details"] == {
        "previous_text": "wen will the report b out",
        "text": "When will the report be out?",
    }


async def test_star_and_unstar_show_in_the_staff_view_and_its_starred_filter(podium):
    moderator = await podium.staff("moderator")
    asker = await podium.viewer("Asker")
    chair_live = await podium.live_staff(await podium.staff("chair"), "/chair")
    starred_id = (await asker.ask("Could the panel talk about rural broadband?"))["id"]
    plain_id = (await asker.ask("How is the budget split?"))["id"]

    assert (await act(moderator, starred_id, "star", starred=True))["starred"] is True
    await chair_live.wait_for(
        lambda n, p: n == "update" and mentions(p, starred_id) and p["question"]["starred"]
    )
    assert [q["id"] for q in await staff_list(moderator, starred="true")] == [starred_id]
    assert [q["id"] for q in await staff_list(moderator, starred="false")] == [plain_id]

    assert (await act(moderator, starred_id, "star", starred=False))["starred"] is False
    assert await staff_list(moderator, starred="true") == []
    stars = [e["details"] for e in await audit(moderator) if e["action"] == "QuestionStarred"]
    assert stars == [{"starred": True}, {"starred": False}]


async def test_merge_counts_each_voter_once_and_sends_later_votes_to_the_target(podium):
    moderator = await podium.staff("moderator")
    target_author, duplicate_author = await podium.viewer("Tara"), await podium.viewer("Dev")
    both, only_duplicate, only_target, late = [await podium.viewer(f"V{n}") for n in range(4)]
    duplicate_live = await podium.live_viewer(duplicate_author)
    watcher_live = await podium.live_viewer(late)
    target = (await target_author.ask("Will the data be open?"))["id"]
    duplicate = (await duplicate_author.ask("Is the data going to be open?"))["id"]
    for qid in (target, duplicate):
        await act(moderator, qid, "approve")
    for voter, qid in ((both, target), (both, duplicate), (only_duplicate, duplicate)):
        await vote(voter, qid)
    await vote(only_target, target)

    merged = await act(moderator, duplicate, "merge", into_question_id=target)

    assert (merged["state"], merged["merged_into_id"]) == ("merged", target)
    staff_view = {q["id"]: q for q in await staff_list(moderator)}
    assert staff_view[target]["votes"] == 3  # both, only_duplicate, only_target
    _, own = await duplicate_live.wait_for(
        lambda n, p: n == "mine" and p["question"]["state"] == "merged"
    )
    assert own["question"]["merged_into_id"] == target
    await watcher_live.wait_for(lambda n, p: n == "update" and p.get("question_id") == duplicate)
    assert await public_ids(podium) == [target]

    redirected = await vote(late, duplicate)
    assert redirected == {"question_id": target, "voted": True, "votes": 4, "changed": True}
    again = await vote(both, duplicate)
    assert (again["question_id"], again["changed"], again["votes"]) == (target, False, 4)


async def test_blocked_viewer_cannot_submit_but_keeps_earlier_questions(podium):
    moderator = await podium.staff("moderator")
    troll = await podium.viewer("Troll")
    live = await podium.live_viewer(troll)
    earlier = (await troll.ask("A fair question first"))["id"]
    await act(moderator, earlier, "approve")

    status, body = await moderator.command("POST", f"/viewers/{troll.id}/block", {"blocked": True})
    assert status == 200 and body == {"viewer_id": troll.id, "blocked": True}
    _, told = await live.wait_for(lambda name, payload: name == "viewer")
    assert (told["id"], told["blocked"]) == (troll.id, True)  # told at once, not on next try

    status, refused = await troll.request(
        "POST", f"{EVENT_API}/questions", {"client_id": client_id(), "text": "Spam"}
    )
    assert status == 403 and refused["error"]["code"] == "viewer_blocked"
    ack = await live.call("submit_question", {"client_id": client_id(), "text": "More spam"})
    assert not ack["ok"] and ack["error"]["code"] == "viewer_blocked"
    assert [(q["id"], q["state"]) for q in await staff_list(moderator)] == [(earlier, "approved")]
    assert await public_ids(podium) == [earlier]


async def test_auto_approve_publishes_clean_questions_and_holds_flagged_ones(podium):
    admin = await podium.staff("admin")
    moderator = await podium.staff("moderator")
    asker = await podium.viewer("Asker")
    await admin.ok("PATCH", EVENT_API, {"auto_approve": True})

    clean = await asker.ask("What happens to the old library building?")
    email = await asker.ask("Write to me at jo.bloggs@example.com about it")
    phone = await asker.ask("Ring me on +44 20 7946 0958 afterwards")
    rude = await asker.ask("Why is the bus service so shit?")

    assert clean["state"] == "approved"
    assert [q["state"] for q in (email, phone, rude)] == ["pending"] * 3
    held = {q["id"]: q["flags"] for q in await staff_list(moderator, flagged="true")}
    assert held == {email["id"]: ["email"], phone["id"]: ["phone"], rude["id"]: ["profanity"]}
    assert await public_ids(podium) == [clean["id"]]
    [approval] = [e for e in await audit(moderator) if e["action"] == "QuestionApproved"]
    assert approval["question_id"] == clean["id"] and approval["actor"]["kind"] == "system"


async def test_moderation_list_filters_by_state_session_channel_and_flag(podium):
    moderator = await podium.staff("moderator")
    remote, in_room = await podium.viewer("Remote"), await podium.viewer("Hall", "in_room")
    workshop, panel = podium.sessions["Workshop A"], podium.sessions["Panel"]
    a = (await remote.ask("Remote, workshop, clean", session_id=workshop))["id"]
    b = (await in_room.ask("Hall, panel, mail x.y@example.org", session_id=panel))["id"]
    c = (await in_room.ask("Hall, no session, clean"))["id"]
    await act(moderator, a, "approve")

    def ids(rows: list[dict]) -> list[int]:
        return [q["id"] for q in rows]

    assert ids(await staff_list(moderator)) == [a, b, c]
    assert ids(await staff_list(moderator, state="pending")) == [b, c]
    assert ids(await staff_list(moderator, state="approved")) == [a]
    assert ids(await staff_list(moderator, session_id=str(panel))) == [b]
    assert ids(await staff_list(moderator, channel="in_room")) == [b, c]
    assert ids(await staff_list(moderator, channel="remote")) == [a]
    assert ids(await staff_list(moderator, flagged="true")) == [b]
    assert ids(await staff_list(moderator, flagged="false", channel="in_room")) == [c]
    status, body = await moderator.request(
        "GET", f"{EVENT_API}/moderation/questions", params={"state": "lost"}
    )
    assert status == 400 and "state" in body["error"]["fields"]


async def test_stats_count_received_approved_and_rejections_by_reason(podium):
    admin, moderator = await podium.staff("admin"), await podium.staff("moderator")
    chair = await podium.staff("chair")
    asker = await podium.viewer("Asker")
    qids = [(await asker.ask(f"Question number {n}"))["id"] for n in range(8)]
    answered, approved, off_topic, duplicate, no_reason, _pending, withdrawn, second = qids
    for qid in (answered, approved, withdrawn, second):
        await act(moderator, qid, "approve")
    await act(moderator, off_topic, "reject", reason="off_topic")
    await act(moderator, duplicate, "reject", reason="duplicate")
    await act(moderator, no_reason, "reject")
    await act(moderator, second, "reject", reason="other")
    await act(moderator, second, "approve")  # a second thought counts as approved only
    await act(chair, answered, "stage", room_id=podium.rooms["main"])
    await act(chair, answered, "answered")
    await asker.ok("POST", f"{EVENT_API}/questions/{withdrawn}/withdraw")

    stats = await admin.ok("GET", f"{EVENT_API}/stats")

    assert stats == {
        "received": 8,
        "approved": 3,
        "answered": 1,
        "pending": 1,
        "rejected": 3,
        "withdrawn": 1,
        "merged": 0,
        "rejected_by_reason": {"off_topic": 1, "duplicate": 1, "none": 1},
    }


async def test_audit_log_records_who_did_what_when_and_why(podium):
    moderator, admin = await podium.staff("moderator"), await podium.staff("admin")
    asker = await podium.viewer("Asker")
    before = datetime.now(UTC) - timedelta(seconds=1)
    first = (await asker.ask("First question"))["id"]
    second = (await asker.ask("Second question"))["id"]
    await act(moderator, first, "approve")
    await act(admin, second, "reject", reason="inappropriate")

    entries = [e for e in await audit(moderator) if e["question_id"] in (first, second)]

    assert [
        (e["action"], e["question_id"], e["actor"]["kind"], e["actor"]["name"], e["reason"])
        for e in entries
    ] == [
        ("QuestionSubmitted", first, "viewer", "viewer", None),
        ("QuestionSubmitted", second, "viewer", "viewer", None),
        ("QuestionApproved", first, "staff", "Test moderator", None),
        ("QuestionRejected", second, "staff", "Test admin", "inappropriate"),
    ]
    assert entries[0]["actor"]["id"] == asker.id
    after = datetime.now(UTC) + timedelta(seconds=1)
    moments = [datetime.fromisoformat(e["at"]) for e in entries]
    assert moments == sorted(moments) and before <= moments[0] and moments[-1] <= after


async def test_author_withdraws_until_the_question_reaches_the_stage(podium):
    moderator, chair = await podium.staff("moderator"), await podium.staff("chair")
    asker = await podium.viewer("Asker")
    live = await podium.live_viewer(asker)
    main = podium.rooms["main"]
    pending, approved, queued, staged = [(await asker.ask(f"Q{n}"))["id"] for n in range(4)]
    for qid in (approved, queued, staged):
        await act(moderator, qid, "approve")
    await act(chair, queued, "queue", room_id=main)
    await act(chair, staged, "stage", room_id=main)

    for qid in (pending, approved):
        assert (await live.ok("withdraw_question", {"question_id": qid}))["state"] == "withdrawn"
    status, body = await asker.request("POST", f"{EVENT_API}/questions/{queued}/withdraw")
    assert status == 200 and body["state"] == "withdrawn"
    status, body = await asker.request("POST", f"{EVENT_API}/questions/{staged}/withdraw")

    assert status == 409 and body["error"]["code"] == "illegal_transition"
    assert "on_stage" in body["error"]["message"]
    states = {q["id"]: q["state"] for q in await staff_list(moderator)}
    assert states == {
        pending: "withdrawn",
        approved: "withdrawn",
        queued: "withdrawn",
        staged: "on_stage",
    }
    order = await chair.ok("GET", f"{EVENT_API}/rooms/{main}/running-order")
    assert order["questions"] == []


async def test_anonymous_question_shows_no_author_anywhere_public(podium):
    moderator, chair = await podium.staff("moderator"), await podium.staff("chair")
    asker = await podium.viewer("Named Person")
    watcher_live = await podium.live_viewer(await podium.viewer("Watcher"))
    stage_live = await podium.live("/stage", {"event": EVENT})
    main = podium.rooms["main"]
    qid = (await asker.ask("Who funds this?", anonymous=True))["id"]

    await act(moderator, qid, "approve")
    await act(chair, qid, "stage", room_id=main)

    _, pushed = await watcher_live.wait_for(lambda n, p: n == "update" and mentions(p, qid))
    _, staged = await stage_live.wait_for(lambda n, p: n == "update" and p["type"] == "stage")
    anyone = await podium.anonymous()
    [listed] = await anyone.ok("GET", f"{EVENT_API}/questions")
    shown = await anyone.ok("GET", f"{EVENT_API}/rooms/{main}/stage")
    authors = [pushed["question"], staged["question"], listed, shown["question"]]
    assert [(q["id"], q["author"]) for q in authors] == [(qid, None)] * 4
    assert all("Named Person" not in str(q) for q in authors)


async def test_event_without_anonymous_questions_refuses_them(podium):
    admin = await podium.staff("admin")
    asker = await podium.viewer("Named Person")
    await admin.ok("PATCH", EVENT_API, {"allow_anonymous": False})

    status, body = await asker.request(
        "POST",
        f"{EVENT_API}/questions",
        {"client_id": client_id(), "text": "Secret?", "anonymous": True},
    )

    assert status == 400 and body["error"]["code"] == "invalid_input"
    assert "anonymous" in body["error"]["fields"]
    assert (await asker.ask("Not secret"))["author"] == "Named Person"
    moderator = await podium.staff("moderator")
    assert [q["text"] for q in await staff_list(moderator)] == ["Not secret"]
