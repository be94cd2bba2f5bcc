"""Bad input on both transports: a stable error shape naming the field, and nothing stored.

The helpers at the top (error assertions, a stored-state probe, an app with custom settings,
a raw socket) are shared with test_permissions.py and test_security.py.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import socketio

from tests.conftest import podium_with
from tests.support.clients import EVENT, LiveClient, Podium, StaffClient, client_id

TRACEBACK_MARKERS = ("Traceback", 'File "')
EVENT_API = f"/api/v1/events/{EVENT}"
QUESTIONS = f"{EVENT_API}/questions"


# --- shared helpers ----------------------------------------------------------------------


def assert_no_traceback(body: Any) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    for marker in TRACEBACK_MARKERS:
        assert marker not in text, text


def assert_error_body(error: Any, code: str, field: str | None) -> dict[str, Any]:
    assert isinstance(error, dict) and {"code", "message", "fields"} <= set(error), error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["fields"], dict), error
    assert all(isinstance(v, str) for v in error["fields"].values()), error
    if field is not None:
        assert field in error["fields"], (field, error)
    assert_no_traceback(error)
    return error


def assert_http_error(
    answer: tuple[int, Any], status: int, code: str, field: str | None = None
) -> dict[str, Any]:
    """`answer` is (status, body) with the one HTTP error shape; returns the error object."""
    got_status, body = answer
    assert got_status == status, answer
    assert isinstance(body, dict) and set(body) == {"error"}, body
    return assert_error_body(body["error"], code, field)


def assert_ack_error(ack: Any, code: str, field: str | None = None) -> dict[str, Any]:
    """`ack` is a refused socket acknowledgement; returns its error object."""
    assert isinstance(ack, dict) and set(ack) == {"ok", "error"} and ack["ok"] is False, ack
    return assert_error_body(ack["error"], code, field)


async def stored_state(admin: StaffClient) -> dict[str, Any]:
    """Everything a failed request could have changed, read back through the API."""
    paths = {
        "questions": f"{EVENT_API}/moderation/questions",
        "audit": f"{EVENT_API}/audit?limit=1000",
        "event": EVENT_API,
        "events": "/api/v1/events",
        "staff": "/api/v1/staff",
    }
    return {name: await admin.ok("GET", path) for name, path in paths.items()}


async def raw_socket(
    podium: Podium,
    namespace: str,
    auth: dict[str, Any] | None,
    headers: dict[str, str] | None = None,
    reconnection: bool = False,
) -> socketio.AsyncSimpleClient:
    """A socket with exactly these headers that does not silently reconnect."""
    client = socketio.AsyncSimpleClient(reconnection=reconnection)
    await client.connect(
        podium.base_url,
        namespace=namespace,
        auth=auth,
        headers={"Origin": podium.base_url} if headers is None else headers,
        transports=["websocket"],
        wait_timeout=5,
    )
    return client


async def wait_until_disconnected(client: socketio.AsyncSimpleClient, timeout: float = 5) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while client.connected:
        assert asyncio.get_running_loop().time() < deadline, "the server kept the socket open"
        await asyncio.sleep(0.05)


# --- cases ---------------------------------------------------------------------------------


def question(text: str = "What is the plan?", **changes: Any) -> dict[str, Any]:
    return {"client_id": client_id(), "text": text, **changes}


def without(payload: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != key}


# (what is wrong, payload, the field the error must name); each one is a 400 invalid_input.
BAD_QUESTIONS = [
    ("unknown field", question(colour="red"), "colour"),
    ("string for int", question(session_id="1"), "session_id"),
    ("bool for int", question(session_id=True), "session_id"),
    ("int for string", question(text=42), "text"),
    ("int for bool", question(anonymous=1), "anonymous"),
    ("null text", question(text=None), "text"),
    ("missing text", without(question(), "text"), "text"),
    ("missing client_id", without(question(), "client_id"), "client_id"),
    ("malformed client_id", question(client_id="not ok!"), "client_id"),
    ("over the event's 280", question("x" * 281), "text"),
    ("over the 5000 cap", question("x" * 5001), "text"),
    ("empty text", question(""), "text"),
    ("whitespace text", question(" \n\t  "), "text"),
]
NOT_OBJECTS = [b"{not json", b"[1, 2]", b"42", b"null", b'"text"', b"\xff\xfe"]


async def approved_question(podium: Podium, moderator: StaffClient) -> int:
    asker = await podium.viewer("Asker")
    qid = (await asker.ask("An approved question"))["id"]
    await moderator.ok("POST", f"{QUESTIONS}/{qid}/approve", {})
    return qid


class Setup:
    """A moderator, a chair, a viewer, one pending and one approved question; an admin probe."""

    @classmethod
    async def make(cls, podium: Podium) -> Setup:
        self = cls()
        self.moderator = await podium.staff("moderator")
        self.chair = await podium.staff("chair")
        self.admin = await podium.staff("admin")
        self.viewer = await podium.viewer("Vera")
        self.pending = (await self.viewer.ask("Pending for now"))["id"]
        self.approved = await approved_question(podium, self.moderator)
        self.main = podium.rooms["main"]
        return self


# --- HTTP ----------------------------------------------------------------------------------


async def test_http_bad_input_is_400_invalid_input_naming_the_field_and_stores_nothing(podium):
    s = await Setup.make(podium)
    q, main = s.approved, s.main
    json_header = {"Content-Type": "application/json"}
    cases = [(s.viewer, "POST", QUESTIONS, payload, field) for _, payload, field in BAD_QUESTIONS]
    cases += [
        (client, "POST", path, raw, "body")
        for raw in NOT_OBJECTS
        for client, path in ((s.viewer, QUESTIONS), (s.moderator, f"{QUESTIONS}/{q}/approve"))
    ]
    cases += [
        (s.moderator, "POST", f"{QUESTIONS}/abc/approve", {}, "question_id"),
        (s.moderator, "POST", f"{QUESTIONS}/0/approve", {}, "question_id"),
        (s.moderator, "POST", f"{QUESTIONS}/{2**60}/approve", {}, "question_id"),
        (s.moderator, "POST", f"{QUESTIONS}/{q}/approve", {"question_id": q}, "question_id"),
        (s.moderator, "POST", f"{QUESTIONS}/{q}/reject", {"reason": "rude"}, "reason"),
        (s.moderator, "POST", f"{QUESTIONS}/{q}/edit", {}, "text"),
        (s.moderator, "POST", f"{QUESTIONS}/{q}/edit", {"text": " "}, "text"),
        (s.moderator, "POST", f"{QUESTIONS}/{q}/edit", {"text": "x" * 281}, "text"),
        (s.moderator, "POST", f"{QUESTIONS}/{q}/edit", {"text": "x" * 5001}, "text"),
        (s.moderator, "POST", f"{QUESTIONS}/{q}/star", {"starred": "yes"}, "starred"),
        (s.moderator, "POST", f"{QUESTIONS}/{q}/merge", {}, "into_question_id"),
        (s.moderator, "POST", f"{EVENT_API}/viewers/me/block", {}, "viewer_id"),
        (s.chair, "POST", f"{QUESTIONS}/{q}/queue", {"room_id": str(main)}, "room_id"),
        (s.chair, "POST", f"{QUESTIONS}/{q}/queue", {}, "room_id"),
        (
            s.chair,
            "POST",
            f"{EVENT_API}/rooms/{main}/running-order",
            {"question_id": q},
            "position",
        ),
        (
            s.chair,
            "POST",
            f"{EVENT_API}/rooms/{main}/running-order",
            {"question_id": q, "position": -1},
            "position",
        ),
        (
            s.chair,
            "POST",
            f"{EVENT_API}/rooms/{main}/running-order",
            {"question_id": q, "position": True},
            "position",
        ),
        (s.viewer, "PATCH", f"{EVENT_API}/viewers/me", {"display_name": "x" * 61}, "display_name"),
        (s.admin, "PATCH", EVENT_API, {"max_question_length": 10}, "max_question_length"),
        (s.admin, "PATCH", EVENT_API, {"timezone": "Mars/Olympus"}, "timezone"),
        (s.moderator, "GET", f"{EVENT_API}/moderation/questions?state=lost", None, "state"),
        (s.moderator, "GET", f"{EVENT_API}/moderation/questions?flagged=maybe", None, "flagged"),
        (s.moderator, "GET", f"{EVENT_API}/moderation/questions?colour=red", None, "colour"),
        (s.moderator, "GET", f"{EVENT_API}/audit?limit=0", None, "limit"),
        (s.moderator, "GET", f"{EVENT_API}/audit?limit=many", None, "limit"),
        (s.moderator, "GET", f"{EVENT_API}/rooms/main/running-order", None, "room_id"),
    ]
    before = await stored_state(s.admin)
    for client, method, path, payload, field in cases:
        if isinstance(payload, bytes):
            answer = await client.request(method, path, data=payload, headers=json_header)
        else:
            answer = await client.request(method, path, payload)
        error = assert_http_error(answer, 400, "invalid_input", field)
        assert error["fields"][field], (method, path, payload)
    assert await stored_state(s.admin) == before
    assert (await s.viewer.ask("x" * 280))["state"] == "pending"  # the limit itself is allowed


async def test_http_unknown_ids_are_404_illegal_moves_409_and_big_bodies_413(podium):
    s = await Setup.make(podium)
    q, main, missing = s.approved, s.main, 999_999
    not_found = [
        (s.moderator, "POST", f"{QUESTIONS}/{missing}/approve", {}),
        (s.moderator, "POST", f"{QUESTIONS}/{2**53}/approve", {}),  # the largest id allowed
        (s.moderator, "POST", f"{QUESTIONS}/{q}/merge", {"into_question_id": missing}),
        (s.moderator, "POST", f"{EVENT_API}/viewers/{missing}/block", {}),
        (s.viewer, "POST", f"{QUESTIONS}/{missing}/vote", {}),
        (s.viewer, "POST", f"{QUESTIONS}/{missing}/withdraw", {}),
        (s.viewer, "POST", QUESTIONS, question(session_id=missing)),
        (s.chair, "POST", f"{QUESTIONS}/{q}/queue", {"room_id": missing}),
        (s.chair, "POST", f"{QUESTIONS}/{q}/stage", {"room_id": missing}),
        (s.chair, "GET", f"{EVENT_API}/rooms/{missing}/running-order", None),
        (s.viewer, "GET", f"{EVENT_API}/rooms/{missing}/stage", None),
        (s.viewer, "GET", "/api/v1/events/no-such-event", None),
        (s.viewer, "GET", "/api/v1/events/no-such-event/questions", None),
        (s.viewer, "POST", "/api/v1/events/no-such-event/viewers", {}),
        (s.viewer, "POST", "/api/v1/events/no-such-event/questions", question()),
        (s.moderator, "POST", f"/api/v1/events/no-such-event/questions/{q}/approve", {}),
        (s.viewer, "GET", "/api/v1/no-such-route", None),
    ]
    illegal = [
        (s.chair, f"{QUESTIONS}/{s.pending}/stage", {"room_id": main}, "pending"),
        (s.chair, f"{QUESTIONS}/{s.pending}/queue", {"room_id": main}, "pending"),
        (s.moderator, f"{QUESTIONS}/{q}/approve", {}, "approved"),
        (s.chair, f"{QUESTIONS}/{q}/answered", {}, "approved"),
        (s.chair, f"{QUESTIONS}/{q}/send-back", {}, "approved"),
        (s.chair, f"{QUESTIONS}/{q}/unqueue", {}, "approved"),
    ]
    padding = "x" * podium.settings.max_request_bytes
    too_large = [
        (s.viewer, QUESTIONS, question(padding)),
        (s.moderator, f"{QUESTIONS}/{q}/edit", {"text": padding}),
    ]
    before = await stored_state(s.admin)
    for client, method, path, payload in not_found:
        assert_http_error(await client.request(method, path, payload), 404, "not_found")
    for client, path, payload, state in illegal:
        answer = await client.request("POST", path, payload)
        error = assert_http_error(answer, 409, "illegal_transition")
        assert error["message"].endswith(f"a question that is {state}"), error
    for client, path, payload in too_large:
        assert_http_error(await client.request("POST", path, payload), 413, "payload_too_large")
    assert await stored_state(s.admin) == before


async def test_http_deeply_nested_json_is_invalid_input_not_a_server_error(podium):
    viewer = await podium.viewer("Vera")
    answer = await viewer.request("POST", QUESTIONS, data=b"[" * 50_000)
    assert_http_error(answer, 400, "invalid_input", "body")


async def test_chair_page_ignores_a_room_query_that_is_not_a_number(podium):
    chair = await podium.staff("chair")
    for room in ("abc", "²"):
        async with chair.session.get(f"/e/{EVENT}/chair", params={"room": room}) as response:
            assert response.status == 200, room
            assert response.content_type == "text/html"


async def test_merging_a_question_into_itself_names_into_question_id(podium):
    moderator = await podium.staff("moderator")
    qid = await approved_question(podium, moderator)
    answer = await moderator.command("POST", f"/questions/{qid}/merge", {"into_question_id": qid})
    assert_http_error(answer, 400, "invalid_input", "into_question_id")


async def test_text_with_a_nul_character_is_invalid_input_on_every_database(podium):
    s = await Setup.make(podium)
    anonymous = await podium.anonymous()
    live = await podium.live_viewer(s.viewer)
    nul = "before\x00after"
    answers = [
        (
            await anonymous.request("POST", f"{EVENT_API}/viewers", {"display_name": nul}),
            "display_name",
        ),
        (await s.viewer.request("POST", QUESTIONS, question(nul)), "text"),
        (
            await s.viewer.request("PATCH", f"{EVENT_API}/viewers/me", {"display_name": nul}),
            "display_name",
        ),
        (
            await s.moderator.request("POST", f"{QUESTIONS}/{s.approved}/edit", {"text": nul}),
            "text",
        ),
    ]
    for answer, field in answers:
        assert_http_error(answer, 400, "invalid_input", field)
    assert_ack_error(await live.call("submit_question", question(nul)), "invalid_input", "text")


# --- Socket.IO -----------------------------------------------------------------------------


async def test_socket_bad_input_is_refused_in_the_ack_naming_the_field_and_stores_nothing(
    podium,
):
    s = await Setup.make(podium)
    q, main, missing = s.approved, s.main, 999_999
    viewer = await podium.live_viewer(s.viewer)
    moderator = await podium.live_staff(s.moderator, "/moderator")
    chair = await podium.live_staff(s.chair, "/chair")
    # (socket, event, payload, code, field the error names)
    cases = [
        (viewer, "submit_question", payload, "invalid_input", field)
        for _, payload, field in BAD_QUESTIONS
    ]
    cases += [
        (live, name, payload, "invalid_input", "body")
        for payload in ("text", [q], q, True)
        for live, name in (
            (viewer, "submit_question"),
            (viewer, "sync"),
            (moderator, "approve_question"),
        )
    ]
    cases += [
        (moderator, "approve_question", None, "invalid_input", "question_id"),  # no payload
        (moderator, "approve_question", {"question_id": str(q)}, "invalid_input", "question_id"),
        (moderator, "approve_question", {"question_id": 0}, "invalid_input", "question_id"),
        (moderator, "reject_question", {"question_id": q, "reason": 1}, "invalid_input", "reason"),
        (
            chair,
            "reorder_question",
            {"room_id": main, "question_id": q},
            "invalid_input",
            "position",
        ),
        (viewer, "set_display_name", {"display_name": "x" * 61}, "invalid_input", "display_name"),
        (viewer, "sync", {"since": -1}, "invalid_input", "since"),
        (moderator, "approve_question", {"question_id": missing}, "not_found", None),
        (moderator, "block_viewer", {"viewer_id": missing}, "not_found", None),
        (chair, "queue_question", {"question_id": q, "room_id": missing}, "not_found", None),
        (viewer, "vote", {"question_id": missing}, "not_found", None),
        (moderator, "no_such_event", {}, "not_found", None),
        (moderator, "approve_question", {"question_id": q}, "illegal_transition", None),
        (
            chair,
            "put_on_stage",
            {"question_id": s.pending, "room_id": main},
            "illegal_transition",
            None,
        ),
    ]
    before = await stored_state(s.admin)
    for live, name, payload, code, field in cases:
        error = assert_ack_error(await live.call(name, payload), code, field)
        if code == "illegal_transition":
            state = "approved" if payload["question_id"] == q else "pending"
            assert error["message"].endswith(f"a question that is {state}"), error
    assert await stored_state(s.admin) == before
    assert (await viewer.ok("submit_question", question("x" * 280)))["state"] == "pending"


async def test_socket_message_over_max_socket_message_bytes_closes_the_connection(
    database_url, tmp_path
):
    """The limit is the transport's: an oversize frame gets no ack, the socket is closed."""
    async with podium_with(database_url, tmp_path, max_socket_message_bytes=1024) as podium:
        viewer = await podium.viewer("Vera")
        admin = await podium.staff("admin")
        client = await raw_socket(podium, "/viewer", {"token": viewer.token})
        live = LiveClient(client)
        # JSON sends each emoji as a 12-byte escape: 50 fit in 1024 bytes, 100 do not.
        small = await live.ok("submit_question", question("\U0001f600" * 50))
        before = await stored_state(admin)
        await client.emit("submit_question", question("\U0001f600" * 100))
        await wait_until_disconnected(client)
        assert await stored_state(admin) == before
        assert [q["id"] for q in before["questions"]] == [small["id"]]
        again = LiveClient(await raw_socket(podium, "/viewer", {"token": viewer.token}))
        assert (await again.ok("sync"))["mine"][0]["id"] == small["id"]
        await again.close()


# --- the shape itself ----------------------------------------------------------------------


async def test_error_shape_is_stable_on_both_transports(podium):
    viewer = await podium.viewer("Vera")
    moderator = await podium.staff("moderator")
    anonymous = await podium.anonymous()
    live = await podium.live_viewer(viewer)
    payload = question(colour="red", text=42)

    status, body = await viewer.request("POST", QUESTIONS, payload)
    ack = await live.call("submit_question", payload)
    expected = {
        "code": "invalid_input",
        "message": "the request is not valid",
        "fields": {"text": "Input should be a valid string", "colour": "unknown field"},
    }
    assert (status, body) == (400, {"error": expected})
    assert ack == {"ok": False, "error": expected}

    for answer, status, code in (
        (await anonymous.request("POST", QUESTIONS, question()), 401, "not_authenticated"),
        (await viewer.request("GET", f"{EVENT_API}/audit"), 403, "forbidden"),
        (await viewer.request("GET", f"{QUESTIONS}/999999"), 404, "not_found"),
        (await viewer.request("PUT", QUESTIONS, {}), 405, "method_not_allowed"),
    ):
        assert answer[0] == status, answer
        assert set(answer[1]) == {"error"} and set(answer[1]["error"]) == {
            "code",
            "message",
            "fields",
        }
        assert answer[1]["error"]["code"] == code and answer[1]["error"]["fields"] == {}

    qid = await approved_question(podium, moderator)
    mod_live = await podium.live_staff(moderator, "/moderator")
    twice = await mod_live.call("approve_question", {"question_id": qid})
    assert twice == {
        "ok": False,
        "error": {
            "code": "illegal_transition",
            "message": "cannot approve a question that is approved",
            "fields": {},
        },
    }
    success = await mod_live.call("star_question", {"question_id": qid})
    assert set(success) == {"ok", "data"} and success["ok"] is True
