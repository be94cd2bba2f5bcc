"""CSRF and origin checks, logins, rate limits, cookies, headers, escaping and the API index."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
import socketio

from server.http.api import API_ROUTES
from tests.conftest import podium_with
from tests.e2e.test_bad_input import (
    EVENT_API,
    QUESTIONS,
    assert_ack_error,
    assert_http_error,
    raw_socket,
    stored_state,
)
from tests.support.clients import EVENT, PASSWORD, HttpClient, client_id

FOREIGN = "http://evil.example"
SCRIPT = "<script>alert(1)</script>"
LOGIN = "/api/v1/auth/login"


def page_config(html: str) -> dict:
    """The JSON a page hands to its scripts."""
    found = re.search(r'<script type="application/json" id="podium-config">(.*?)</script>', html)
    assert found, html[:500]
    return json.loads(found.group(1))


async def get_text(client: HttpClient, path: str, **kwargs) -> tuple[int, dict, str]:
    async with client.session.get(path, allow_redirects=False, **kwargs) as response:
        return response.status, dict(response.headers), await response.text()


# --- CSRF and origins ----------------------------------------------------------------------


async def test_staff_write_without_the_csrf_token_or_from_a_foreign_origin_is_403_csrf_failed(
    podium,
):
    moderator = await podium.staff("moderator")
    viewer = await podium.viewer("Vera")
    admin = await podium.staff("admin")
    qid = (await viewer.ask("Approve me?"))["id"]
    approve = f"{QUESTIONS}/{qid}/approve"
    token = moderator.session.headers.pop("X-CSRF-Token")
    before = await stored_state(admin)

    assert_http_error(await moderator.request("POST", approve, {}), 403, "csrf_failed")
    wrong = {"X-CSRF-Token": token[::-1]}
    assert_http_error(
        await moderator.request("POST", approve, {}, headers=wrong), 403, "csrf_failed"
    )
    right = {"X-CSRF-Token": token}
    for origin in (FOREIGN, "null", podium.base_url.replace("127.0.0.1", "localhost")):
        headers = {**right, "Origin": origin}
        answer = await moderator.request("POST", approve, {}, headers=headers)
        assert_http_error(answer, 403, "csrf_failed")
    del moderator.session.headers["Origin"]
    answer = await moderator.request(
        "POST", approve, {}, headers={**right, "Referer": f"{FOREIGN}/"}
    )
    assert_http_error(answer, 403, "csrf_failed")
    answer = await viewer.request(
        "POST", QUESTIONS, {"client_id": client_id(), "text": "Hi"}, headers={"Origin": FOREIGN}
    )
    assert_http_error(answer, 403, "csrf_failed")
    assert await stored_state(admin) == before

    approved = await moderator.ok("POST", approve, {}, headers={**right, "Origin": podium.base_url})
    assert approved["state"] == "approved"


async def test_socketio_refuses_a_connection_from_a_foreign_origin(podium):
    moderator = await podium.staff("moderator")
    viewer = await podium.viewer("Vera")
    attempts = [
        ("/viewer", {"token": viewer.token}, {}),
        ("/moderator", {"event": EVENT}, {"Cookie": moderator.cookie_header}),
        ("/stage", {"event": EVENT}, {}),
    ]
    for namespace, auth, headers in attempts:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await raw_socket(podium, namespace, auth, {**headers, "Origin": FOREIGN})
        own = await raw_socket(podium, namespace, auth, {**headers, "Origin": podium.base_url})
        await own.disconnect()


# --- logins and sessions -------------------------------------------------------------------


async def test_login_failure_is_401_with_one_message_for_wrong_password_and_unknown_user(podium):
    anonymous = await podium.anonymous()
    errors = []
    for username, password in (("moderator", "not the password"), ("nobody", PASSWORD)):
        async with anonymous.session.post(
            LOGIN, json={"username": username, "password": password}
        ) as response:
            assert "Set-Cookie" not in response.headers
            errors.append(
                assert_http_error(
                    (response.status, await response.json()), 401, "not_authenticated"
                )
            )
    assert (
        errors[0]
        == errors[1]
        == {
            "code": "not_authenticated",
            "message": "wrong username or password",
            "fields": {},
        }
    )
    assert_http_error(await anonymous.request("GET", "/api/v1/auth/me"), 401, "not_authenticated")


async def test_session_cookie_is_http_only_and_same_site_strict(podium):
    anonymous = await podium.anonymous()
    async with anonymous.session.post(
        LOGIN, json={"username": "chair", "password": PASSWORD}
    ) as response:
        assert response.status == 200
        cookies = response.headers.getall("Set-Cookie")
    assert len(cookies) == 1, cookies
    attributes = [part.strip().lower() for part in cookies[0].split(";")]
    assert attributes[0].startswith("podium_session=")
    assert "httponly" in attributes and "samesite=strict" in attributes
    assert "path=/" in attributes


async def test_logout_ends_the_session_on_the_server(podium):
    moderator = await podium.staff("moderator")
    viewer = await podium.viewer("Vera")
    qid = (await viewer.ask("Approve me?"))["id"]
    old_cookie, old_csrf = moderator.cookie_header, moderator.csrf
    assert (await moderator.ok("GET", "/api/v1/auth/me"))["user"]["role"] == "moderator"

    await moderator.ok("POST", "/api/v1/auth/logout")
    assert_http_error(await moderator.request("GET", "/api/v1/auth/me"), 401, "not_authenticated")
    replay = await podium.anonymous()
    headers = {"Cookie": old_cookie, "X-CSRF-Token": old_csrf}
    answer = await replay.request("POST", f"{QUESTIONS}/{qid}/approve", {}, headers=headers)
    assert_http_error(answer, 401, "not_authenticated")
    answer = await replay.request("GET", f"{EVENT_API}/moderation/questions", headers=headers)
    assert_http_error(answer, 401, "not_authenticated")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await podium.live("/moderator", {"event": EVENT}, cookie=old_cookie)


async def test_login_attempts_over_the_rate_limit_are_429_with_retry_after(database_url, tmp_path):
    async with podium_with(database_url, tmp_path, login_rate_per_minute=2) as podium:
        anonymous = await podium.anonymous()
        wrong = {"username": "admin", "password": "not the password"}
        for _ in range(2):
            assert_http_error(
                await anonymous.request("POST", LOGIN, wrong), 401, "not_authenticated"
            )
        right = {"username": "admin", "password": PASSWORD}
        status, body = await anonymous.request("POST", LOGIN, right)
        error = assert_http_error((status, body), 429, "rate_limited")
        assert set(error) == {"code", "message", "fields", "retry_after"}
        assert 0 < error["retry_after"] <= 60


async def test_questions_over_the_per_viewer_rate_limit_are_refused_on_both_transports(
    database_url, tmp_path
):
    async with podium_with(database_url, tmp_path, question_rate_per_minute=2) as podium:
        first = await podium.viewer("First")
        second = await podium.viewer("Second")
        third = await podium.viewer("Third")
        accepted = [await first.ask("One?"), await first.ask("Two?")]
        status, body = await first.request(
            "POST", QUESTIONS, {"client_id": client_id(), "text": "3?"}
        )
        http_error = assert_http_error((status, body), 429, "rate_limited")
        assert 0 < http_error["retry_after"] <= 60
        # A retry of an accepted question is answered, not counted.
        retry = {"client_id": accepted[0]["client_id"], "text": "One?"}
        assert (await first.ok("POST", QUESTIONS, retry))["duplicate"] is True

        first_live = await podium.live_viewer(first)
        ack = await first_live.call("submit_question", {"client_id": client_id(), "text": "4?"})
        assert assert_ack_error(ack, "rate_limited").keys() == http_error.keys()
        second_live = await podium.live_viewer(second)
        for text in ("One?", "Two?"):
            await second_live.ok("submit_question", {"client_id": client_id(), "text": text})
        ack = await second_live.call("submit_question", {"client_id": client_id(), "text": "3?"})
        assert 0 < assert_ack_error(ack, "rate_limited")["retry_after"] <= 60

        assert (await third.ask("Unaffected?"))["state"] == "pending"
        for viewer in (first, second):
            mine = await viewer.ok("GET", f"{QUESTIONS}/mine")
            assert len(mine["questions"]) == 2


# --- headers and escaping ------------------------------------------------------------------


async def test_pages_and_api_answers_carry_csp_and_nosniff_and_no_versions(podium):
    chair = await podium.staff("chair")
    anonymous = await podium.anonymous()
    main = podium.rooms["main"]
    answers = [
        await get_text(anonymous, path)
        for path in (
            "/",
            "/login",
            f"/e/{EVENT}",
            f"/e/{EVENT}/stage/{main}",
            "/e/no-such-event",
            "/api/v1/events",
            f"{EVENT_API}/questions",
            "/api/v1/events/no-such-event",
            "/api/openapi.json",
            "/healthz",
            "/static/js/common.js",
            "/socket.io/?EIO=4&transport=polling",
        )
    ]
    answers.append(await get_text(chair, f"/e/{EVENT}/chair"))
    for status, headers, text in answers:
        assert status in (200, 404), (status, text[:200])
        assert headers.get("X-Content-Type-Options") == "nosniff", headers
        assert headers.get("Server") == "Podium", headers
        csp = headers.get("Content-Security-Policy", "")
        for directive in ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"):
            assert directive in csp, csp
        assert "unsafe-inline" not in csp


async def test_a_websocket_handshake_names_no_versions_either(podium):
    """The 101 answer is prepared by the socket layer, not by a handler the middlewares see."""
    host, port = podium.settings.host, podium.settings.port
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(
            (
                "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                f"Host: {host}:{port}\r\nOrigin: {podium.base_url}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    finally:
        writer.close()
    status, *lines = head.decode().split("\r\n")
    assert status.startswith("HTTP/1.1 101"), head
    assert "Server: Podium" in lines, head


async def test_refused_pages_carry_csp_and_nosniff_too(podium):
    chair = await podium.staff("chair")
    anonymous = await podium.anonymous()
    answers = [
        await get_text(chair, f"/e/{EVENT}/moderate"),
        await get_text(anonymous, f"/e/{EVENT}/moderate"),
    ]
    assert [status for status, _, _ in answers] == [403, 303]
    for _, headers, _ in answers:
        assert headers.get("X-Content-Type-Options") == "nosniff", headers
        assert headers.get("Server") == "Podium", headers
        assert "default-src 'self'" in headers.get("Content-Security-Policy", ""), headers


async def test_script_in_user_text_is_verbatim_in_json_and_escaped_in_pages(podium):
    admin = await podium.staff("admin")
    chair = await podium.staff("chair")
    moderator = await podium.staff("moderator")
    asker = await podium.viewer(SCRIPT)
    main = podium.rooms["main"]
    await admin.ok("PATCH", EVENT_API, {"title": SCRIPT, "description": SCRIPT})
    qid = (await asker.ask(SCRIPT))["id"]
    await moderator.ok("POST", f"{QUESTIONS}/{qid}/approve", {})
    await chair.ok("POST", f"{QUESTIONS}/{qid}/stage", {"room_id": main})

    listed = await asker.ok("GET", QUESTIONS)
    assert [(q["text"], q["author"]) for q in listed] == [(SCRIPT, SCRIPT)]
    assert (await asker.ok("GET", EVENT_API))["title"] == SCRIPT
    staged = await asker.ok("GET", f"{EVENT_API}/rooms/{main}/stage")
    assert staged["question"]["text"] == SCRIPT

    anonymous = await podium.anonymous()
    pages = [
        await get_text(client, path)
        for client, path in (
            (anonymous, "/"),
            (anonymous, f"/e/{EVENT}"),
            (anonymous, f"/e/{EVENT}/stage/{main}"),
            (anonymous, f"/e/{EVENT}/overlay/{main}"),
            (moderator, f"/e/{EVENT}/moderate"),
            (chair, f"/e/{EVENT}/chair"),
            (admin, "/admin"),
        )
    ]
    for status, _, html in pages:
        assert status == 200, html[:300]
        assert "<script>alert" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[1][2]  # the title, escaped


async def test_login_page_never_sends_the_browser_off_site_after_login(podium):
    anonymous = await podium.anonymous()
    for next_url, expected in (
        (f"/e/{EVENT}/moderate", f"/e/{EVENT}/moderate"),
        ("//evil.example", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        ("/\t/evil.example", "/"),
    ):
        status, _, html = await get_text(anonymous, "/login", params={"next": next_url})
        assert status == 200
        assert page_config(html)["next"] == expected, next_url


# --- health and the API index --------------------------------------------------------------


async def test_healthz_answers_status_ok(podium):
    anonymous = await podium.anonymous()
    assert await anonymous.request("GET", "/healthz") == (200, {"status": "ok"})


async def test_openapi_documents_every_api_route_the_app_serves(podium):
    anonymous = await podium.anonymous()
    document = await anonymous.ok("GET", "/api/openapi.json")
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    declared = {(route.method, route.path) for route in API_ROUTES}
    served = {
        (route.method, route.resource.canonical)
        for route in podium.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/v1")
        and route.method != "HEAD"
    }
    assert declared <= documented
    assert served - documented == set(), "undocumented routes"
    assert served == declared
    assert ("GET", "/healthz") in documented
