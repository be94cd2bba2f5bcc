"""Attendance from real pages: the viewer page reports watching, the QR check-in page counts a
delegate in the room, and the privacy page hands a viewer their own data."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import expect

from tests.e2e.test_browser_flow import watch_console
from tests.support.browser import artefact, chromium, chromium_path
from tests.support.clients import EVENT

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (scripts/test)"),
]
EVENT_API = f"/api/v1/events/{EVENT}"


async def test_pages_log_watching_and_check_ins_and_give_viewers_their_data(podium):
    admin = await podium.staff("admin")
    main = podium.rooms["main"]
    problems: list[str] = []
    async with chromium() as browser:
        context = await browser.new_context(
            viewport={"width": 390, "height": 844}, timezone_id="Europe/Dublin"
        )
        page = await context.new_page()
        watch_console(page, problems)
        await page.goto(f"{podium.base_url}/e/{EVENT}/checkin/{main}")
        await expect(page.locator("#checkin-status")).to_have_text("You're checked in. Thank you!")
        await page.screenshot(path=artefact("browser-checkin.png"), full_page=True)

        await page.goto(f"{podium.base_url}/e/{EVENT}")  # same device: the same viewer
        await expect(page.locator("#watch")).to_be_visible()
        report = {}
        for _attempt in range(40):  # the viewer page starts watching once it is connected
            report = await admin.ok("GET", f"{EVENT_API}/reports")
            if report["report"]["unique_viewers"] == 1:
                break
            await page.wait_for_timeout(250)
        figures = report["report"]
        assert figures["unique_viewers"] == 1 and figures["in_room_check_ins"] == 1
        assert figures["in_room_viewers"] == 1  # checked in, so watching counts as in-room
        assert figures["countries"] == [{"country": "IE", "viewers": 1}]  # from the time zone

        await page.goto(f"{podium.base_url}/e/{EVENT}/privacy")
        await page.get_by_role("button", name="Download my data").click()
        shown = page.locator("#privacy-data")
        await expect(shown).to_be_visible()
        data = json.loads(await shown.text_content())
        assert data["viewer"]["channel"] == "in_room" and data["viewer"]["country"] == "IE"
        await page.get_by_label("I understand my name will be removed").check()
        await page.get_by_role("button", name="Erase my data").click()
        await expect(page.locator("#privacy-status")).to_contain_text("erased")
        await page.screenshot(path=artefact("browser-privacy.png"), full_page=True)
    assert problems == [], problems
