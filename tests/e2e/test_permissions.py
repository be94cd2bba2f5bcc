"""Who may do what, derived from the command and route tables, over HTTP and Socket.IO.

Every refusal is checked for its status, its stable error shape and for having changed
nothing; every permission the tables grant is checked too, so an all-refusing server fails.
"""

from __future__ import annotations

from typing import Any

import pytest
import socketio
from pydantic import BaseModel

from server.commands import COMMANDS
from server.http.api import API_ROUTES, COMMAND_ROUTES
from server.services import catalog
from server.services.context import Actor
from tests.e2e.test_bad_input import (
    EVENT_API,
    QUESTIONS,
    assert_ack_error,
    assert_http_error,
    stored_state,
)
from tests.support.clients import EVENT, HttpClient, LiveClient, Podium, client_id

ROLES = ("public", "viewer", "moderator", "chair", "admin")
# /auth/me reads only the staff cookie: to it, a viewer token is nobody at all.
ANSWERS_VIEWERS_AS_PUBLIC = {("GET", "/api/v1/auth/me")}
# Caption posting knows only caption tokens: to it, every other caller is nobody at all.
ANSWERS_EVERYONE_AS_PUBLIC = {("POST", "/api/v1/captions")}
OTHER_EVENT = "other-event"


def refusal(role: str) -> tuple[int, str]:
    return (401, "not_authenticated") if role == "public" else (403, "forbidden")


async def callers(podium: Podium) -> dict[str, HttpClient]:
    """One HTTP client per role; `viewer` is a viewer of the test event."""
    clients: dict[str, HttpClient] = {
        "public": await podium.anonymous(),
        "viewer": await podium.viewer("Vic"),
    }
    for role in ("moderator", "chair", "admin"):
        clients[role] = await podium.staff(role)
    return clients


async def real_ids(podium: Podium, moderator: HttpClient) -> dict[str, Any]:
    """A valid value for every input field, naming things that exist in the test event."""
    asker = await podium.viewer("Asker")
    approved = (await asker.ask("An approved question"))["id"]
    await moderator.ok("POST", f"{QUESTIONS}/{approved}/approve", {})
    pending = (await asker.ask("A pending question"))["id"]
    return {
        "slug": "new-slug",
        "question_id": approved,
        "into_question_id": pending,
        "viewer_id": asker.id,
        "room_id": podium.rooms["main"],
        "position": 0,
        "client_id": client_id(),
        "text": "Would this be stored?",
        "display_name": "Renamed",
        "title": "A new title",
        "name": "New room",
        "kind": "panel",
        "starts_at": "2026-11-21T12:00:00+00:00",
        "ends_at": "2026-11-21T13:00:00+00:00",
        "username": "intruder",
        "password": "a long enough password",
        "role": "admin",
        "session_id": podium.sessions["Panel"],
        "url": "https://example.org/live/main.m3u8",
        "status": "live",
        "active": "backup",
        "label": "Captioner",
        "token_id": 1,
        "consent": True,
        "viewers_allowed": True,
    }


def url(path: str, ids: dict[str, Any]) -> str:
    return path.format(**{**ids, "slug": EVENT})


def body(schema: type[BaseModel] | None, path: str, ids: dict[str, Any]) -> dict[str, Any]:
    """A valid body for `schema`: every field we have a value for, minus the path's ids."""
    if schema is None:
        return {}
    fields = {n: f for n, f in schema.model_fields.items() if "{" + n + "}" not in path}
    missing = [n for n, f in fields.items() if f.is_required() and n not in ids]
    if missing:
        pytest.fail(f"add a sample value for {missing} ({schema.__name__}) to real_ids()")
    return {n: ids[n] for n in fields if n in ids}


# --- HTTP ----------------------------------------------------------------------------------


async def test_every_command_over_http_is_refused_to_every_role_the_command_table_excludes(
    podium,
):
    clients = await callers(podium)
    ids = await real_ids(podium, clients["moderator"])
    routes = {name: (method, path) for method, path, name in COMMAND_ROUTES}
    assert set(routes) == set(COMMANDS), "every command has exactly one HTTP route"
    before = await stored_state(clients["admin"])
    refused = 0
    for name, command in COMMANDS.items():
        method, path = routes[name]
        payload = body(command.schema, path, ids)
        for role in ROLES:
            if role in command.roles:
                continue
            answer = await clients[role].request(method, url(path, ids), payload)
            status, code = refusal(role)
            assert answer[0] == status, (name, role, answer)
            assert_http_error(answer, status, code)
            refused += 1
    assert await stored_state(clients["admin"]) == before
    # Each role the table allows gets past authorisation (to the body check, changing nothing).
    for name, command in COMMANDS.items():
        method, path = routes[name]
        payload = {**body(command.schema, path, ids), "unexpected": 1}
        for role in command.roles:
            answer = await clients[role].request(method, url(path, ids), payload)
            assert answer[0] == 400, (name, role, answer)
            assert_http_error(answer, 400, "invalid_input", "unexpected")
    assert await stored_state(clients["admin"]) == before
    assert refused >= 3 * len(COMMANDS)


async def test_every_other_api_route_is_refused_to_every_role_its_table_excludes(podium):
    clients = await callers(podium)
    ids = await real_ids(podium, clients["moderator"])
    commands = {(method, path) for method, path, _ in COMMAND_ROUTES}
    guarded = [
        r for r in API_ROUTES if (r.method, r.path) not in commands and "public" not in r.roles
    ]
    refused_gets = {
        r.path.removeprefix("/api/v1/events/{slug}") for r in guarded if r.method == "GET"
    }
    for expected in ("/moderation/questions", "/rooms/{room_id}/running-order", "/audit", "/stats"):
        assert expected in refused_gets
    assert "/api/v1/staff" in refused_gets
    before = await stored_state(clients["admin"])
    for route in guarded:
        payload = body(route.body, route.path, ids)
        for role in ROLES:
            if role in route.roles:
                continue
            as_role = role
            if role == "viewer" and (route.method, route.path) in ANSWERS_VIEWERS_AS_PUBLIC:
                as_role = "public"
            if (route.method, route.path) in ANSWERS_EVERYONE_AS_PUBLIC:
                as_role = "public"
            answer = await clients[role].request(route.method, url(route.path, ids), payload)
            status, code = refusal(as_role)
            assert answer[0] == status, (route.method, route.path, role, answer)
            assert_http_error(answer, status, code)
    assert await stored_state(clients["admin"]) == before
    for route in guarded:
        for role in route.roles & set(ROLES):  # a captioner is tried in the captions tests
            target = url(route.path, ids)
            if route.method == "GET":
                status, answer = await clients[role].request("GET", target)
                assert status == 200, (route.path, role, answer)
            elif route.body is not None:
                payload = {**body(route.body, route.path, ids), "unexpected": 1}
                answer = await clients[role].request(route.method, target, payload)
                assert_http_error(answer, 400, "invalid_input", "unexpected")
    assert await stored_state(clients["admin"]) == before


async def test_a_viewer_token_of_another_event_is_refused_by_every_viewer_route(podium):
    clients = await callers(podium)
    ids = await real_ids(podium, clients["moderator"])
    await catalog.create_event(podium.services, Actor.system(), {"slug": OTHER_EVENT, "title": "X"})
    outsider = await podium.anonymous()
    joined = await outsider.ok("POST", f"/api/v1/events/{OTHER_EVENT}/viewers", {})
    outsider.session.headers["Authorization"] = f"Bearer {joined['token']}"
    viewer_routes = [r for r in API_ROUTES if r.roles == {"viewer"}]
    # Every viewer command, plus: my questions, registration, my data, erase me.
    assert len(viewer_routes) == 4 + sum(c.roles == {"viewer"} for c in COMMANDS.values())
    before = await stored_state(clients["admin"])
    for route in viewer_routes:
        payload = body(route.body, route.path, ids)
        answer = await outsider.request(route.method, url(route.path, ids), payload)
        error = assert_http_error(answer, 403, "forbidden")
        assert "another event" in error["message"], (route.path, error)
    assert await stored_state(clients["admin"]) == before


async def test_a_viewer_cannot_withdraw_another_viewers_question(podium):
    author = await podium.viewer("Author")
    other = await podium.viewer("Other")
    admin = await podium.staff("admin")
    qid = (await author.ask("Mine to withdraw"))["id"]
    other_live = await podium.live_viewer(other)
    before = await stored_state(admin)
    answer = await other.request("POST", f"{QUESTIONS}/{qid}/withdraw", {})
    http_error = assert_http_error(answer, 403, "forbidden")
    ack = await other_live.call("withdraw_question", {"question_id": qid})
    assert assert_ack_error(ack, "forbidden") == http_error
    assert await stored_state(admin) == before
    withdrawn = await author.ok("POST", f"{QUESTIONS}/{qid}/withdraw", {})
    assert withdrawn["state"] == "withdrawn"


# --- Socket.IO -----------------------------------------------------------------------------


async def test_a_socket_cannot_run_a_command_its_role_may_not_and_gets_not_found(podium):
    """A namespace only knows its audience's commands; anything else is an unknown event."""
    clients = await callers(podium)
    ids = await real_ids(podium, clients["moderator"])
    sockets: dict[str, tuple[str, LiveClient]] = {
        "viewer": ("/viewer", await podium.live_viewer(clients["viewer"])),
        "moderator": ("/moderator", await podium.live_staff(clients["moderator"], "/moderator")),
        "chair": ("/chair", await podium.live_staff(clients["chair"], "/chair")),
        "public": ("/stage", await podium.live("/stage", {"event": EVENT})),
    }
    before = await stored_state(clients["admin"])
    for role, (namespace, live) in sockets.items():
        for name, command in COMMANDS.items():
            payload = body(command.schema, "", ids)
            if role in command.roles:
                payload["unexpected"] = 1  # allowed: dispatched, so the body is checked
                assert_ack_error(await live.call(name, payload), "invalid_input", "unexpected")
                continue
            error = assert_ack_error(await live.call(name, payload), "not_found")
            assert error["message"] == f"there is no {name!r} event on {namespace}", error
    assert await stored_state(clients["admin"]) == before


async def test_sockets_refuse_connections_from_the_wrong_audience(podium):
    clients = await callers(podium)
    moderator, chair, admin = clients["moderator"], clients["chair"], clients["admin"]
    token = clients["viewer"].token
    event_id, viewer_id, mac = token.split(".")
    await catalog.create_event(podium.services, Actor.system(), {"slug": OTHER_EVENT, "title": "X"})
    anonymous = clients["public"]
    elsewhere = await anonymous.ok("POST", f"/api/v1/events/{OTHER_EVENT}/viewers", {})
    other_event_id, other_viewer_id, other_mac = elsewhere["token"].split(".")
    event = {"event": EVENT}
    refused = [
        ("/moderator", event, chair.cookie_header, "a chair on the moderators' namespace"),
        ("/chair", event, moderator.cookie_header, "a moderator on the chairs' namespace"),
        ("/moderator", event, None, "nobody logged in"),
        ("/chair", {**event, "token": token}, None, "a viewer token is not a staff login"),
        ("/moderator", {"event": "no-such-event"}, moderator.cookie_header, "unknown event"),
        ("/moderator", None, moderator.cookie_header, "no event named"),
        ("/viewer", None, None, "no token"),
        ("/viewer", {"token": ""}, None, "empty token"),
        ("/viewer", event, moderator.cookie_header, "a staff login is not a viewer token"),
        ("/viewer", {"token": f"{event_id}.{viewer_id}.{other_mac}"}, None, "forged MAC"),
        (
            "/viewer",
            {"token": f"{event_id}.{other_viewer_id}.{other_mac}", **event},
            None,
            "another event's viewer token, relabelled for this event",
        ),
        ("/viewer", {"token": f"{other_event_id}.{viewer_id}.{mac}"}, None, "moved event"),
        ("/stage", None, None, "no event named"),
        ("/stage", {"event": "no-such-event"}, None, "unknown event"),
    ]
    for namespace, auth, cookie, why in refused:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await podium.live(namespace, auth, cookie=cookie)
            pytest.fail(f"{namespace} accepted {why}")
    for client, namespace in ((moderator, "/moderator"), (chair, "/chair")):
        await podium.live_staff(client, namespace)
        await podium.live_staff(admin, namespace)


async def test_a_viewer_socket_only_ever_reaches_its_own_tokens_event(podium):
    """The token names the event; an `event` in the auth data cannot point it elsewhere."""
    admin = await podium.staff("admin")
    await catalog.create_event(podium.services, Actor.system(), {"slug": OTHER_EVENT, "title": "X"})
    anonymous = await podium.anonymous()
    joined = await anonymous.ok(
        "POST", f"/api/v1/events/{OTHER_EVENT}/viewers", {"display_name": "Outsider"}
    )
    before = await stored_state(admin)
    live = await podium.live("/viewer", {"token": joined["token"], "event": EVENT})
    assert (await live.ok("sync"))["event"]["slug"] == OTHER_EVENT
    await live.ok("submit_question", {"client_id": client_id(), "text": "Which event am I in?"})
    assert await stored_state(admin) == before
    assert (await admin.ok("GET", f"{EVENT_API}/moderation/questions")) == []
