"""Joining from the room: the short link people type, and the QR codes on the stage and console."""

from __future__ import annotations

import io
import re

import pytest
import segno
from playwright.async_api import expect

from server.http.join_links import ALPHABET, CODE_LENGTH, join_code
from tests.e2e.test_browser_flow import staff_page, watch_console
from tests.support.browser import artefact, chromium, chromium_path
from tests.support.clients import EVENT, Podium

expect.set_options(timeout=10_000)


def code_of(podium: Podium, slug: str = EVENT) -> str:
    return join_code(podium.services.settings.secret_key, slug)  # the key the app runs with


def test_codes_are_short_unambiguous_and_differ_between_events():
    codes = {join_code("a secret key", f"event-{n}") for n in range(2000)}
    assert len(codes) == 2000
    assert all(len(code) == CODE_LENGTH and set(code) <= set(ALPHABET) for code in codes)
    assert not set("01ilo") & set(ALPHABET)
    assert join_code("another key", "event-1") != join_code("a secret key", "event-1")


async def test_short_link_opens_the_viewer_page_whatever_the_case(podium):
    client = await podium.anonymous()
    code = code_of(podium)
    for typed in (code, code.upper(), f"{code[:3]}-{code[3:]}"):
        async with client.session.get(f"/j/{typed}", allow_redirects=False) as response:
            assert response.status == 302, typed
            assert response.headers["Location"] == f"/e/{EVENT}"
    status, _page = await client.request("GET", f"/j/{code_of(podium, 'no-such-event')}")
    assert status == 404
    status, _page = await client.request("GET", "/j/o0o0o0")  # letters no code contains
    assert status == 404


async def test_a_new_event_gets_a_working_short_link_at_once(podium):
    admin = await podium.staff("admin")
    client = await podium.anonymous()
    await client.request("GET", f"/j/{code_of(podium)}")  # the lookup is cached now
    await admin.ok("POST", "/api/v1/events", {"slug": "second-day", "title": "Second day"})
    async with client.session.get(
        f"/j/{code_of(podium, 'second-day')}", allow_redirects=False
    ) as response:
        assert response.headers["Location"] == "/e/second-day"


def qr_svg(url: str) -> bytes:
    """What segno draws for `url` with the settings the app uses."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=8, dark="#0b1220", light="#ffffff")
    return buffer.getvalue()


async def test_viewer_qr_code_encodes_the_viewer_page_address(podium):
    client = await podium.anonymous()
    async with client.session.get(f"/e/{EVENT}/qr.svg") as response:
        assert response.content_type == "image/svg+xml"
        served = await response.read()
    assert served == qr_svg(f"{podium.base_url}/e/{EVENT}")
    assert served != qr_svg(f"{podium.base_url}/e/{EVENT}/checkin/{podium.rooms['main']}")


async def test_join_link_json_gives_the_console_the_short_link_and_qr(podium):
    client = await podium.anonymous()
    link = await client.ok("GET", f"/e/{EVENT}/join-link.json")
    host = podium.base_url.removeprefix("http://")
    assert link == {
        "code": code_of(podium),
        "url": f"{podium.base_url}/j/{code_of(podium)}",
        "display": f"{host}/j/{code_of(podium)}",
        "viewer_url": f"{podium.base_url}/e/{EVENT}",
        "qr": f"/e/{EVENT}/qr.svg",
    }


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.browser
@pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed")
async def test_stage_and_console_show_the_qr_code_and_short_link(podium: Podium):
    short = f"{podium.base_url.removeprefix('http://')}/j/{code_of(podium)}"
    problems: list[str] = []
    async with chromium() as browser:
        stage_context = await browser.new_context(viewport={"width": 1280, "height": 720})
        stage = await stage_context.new_page()
        watch_console(stage, problems)
        await stage.goto(f"{podium.base_url}/e/{EVENT}/stage/{podium.rooms['main']}")
        await expect(stage.locator("#stage-url")).to_have_text(short)
        qr = stage.get_by_role("img", name=re.compile("^QR code"))
        await expect(qr).to_be_visible()
        assert await qr.evaluate("(img) => img.complete && img.naturalWidth > 0")
        await expect(stage.locator(".stage__join")).to_be_hidden()  # the large one is shown
        await stage.screenshot(path=artefact("stage-join-link.png"))

        console_context = await browser.new_context(viewport={"width": 1280, "height": 900})
        await console_context.grant_permissions(
            ["clipboard-read", "clipboard-write"], origin=podium.base_url
        )
        console = await staff_page(console_context, podium.base_url, "admin", "/admin")
        watch_console(console, problems)
        card = console.locator("#join-card")
        await expect(card.get_by_role("link", name=short)).to_be_visible()
        await expect(
            card.get_by_role("img", name=re.compile("viewer page of Test event"))
        ).to_be_visible()
        await card.get_by_role("button", name="Copy link").click()
        await expect(card.get_by_role("status")).to_contain_text(short)
        assert await console.evaluate("navigator.clipboard.readText()") == (
            f"{podium.base_url}/j/{code_of(podium)}"
        )
        await console.screenshot(path=artefact("admin-join-link.png"), full_page=True)

        await console.goto(f"{podium.base_url}/j/{code_of(podium).upper()}")
        await expect(console).to_have_url(f"{podium.base_url}/e/{EVENT}")
    assert not problems, problems
