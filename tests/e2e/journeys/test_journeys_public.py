"""The pages anyone can open, in a real browser at desktop and phone size, light and dark,
with axe-core checking each state: start page, login, error page, check-in, privacy,
captioner, and the stage screen and overlay as a question goes on stage."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.support.clients import EVENT
from tests.support.journeys import (
    DEVICES,
    JOURNEY_MARKS,
    approved_question,
    assert_announced,
    journey,
    staff_command,
)

pytestmark = JOURNEY_MARKS

ON_STAGE = "What will the council do about damp in social housing this winter?"


@pytest.mark.parametrize("device", list(DEVICES))
async def test_public_pages_pass_axe_as_a_delegate_uses_them(browser, podium, device):
    main = podium.rooms["main"]
    async with journey(browser, podium, device) as j:
        page = await j.page("/")
        await expect(page.get_by_role("link", name="Test event", exact=True)).to_be_visible()
        await j.check(page, "index")

        j.allow("status of 401 (Unauthorized)")
        j.allow("status of 404 (Not Found)")
        await page.get_by_role("link", name="Staff login").click()
        await page.get_by_label("Username").fill("moderator")
        await page.get_by_label("Password").fill("not the password")
        await page.get_by_role("button", name="Log in").click()
        await expect(page.locator("#login-error")).to_be_visible()
        await j.check(page, "login-error")

        await page.goto(f"{j.base}/e/no-such-event")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
        await j.check(page, "error")

        await page.goto(f"{j.base}/e/{EVENT}/checkin/{main}")
        await expect(page.locator("#checkin-status")).to_have_text("You're checked in. Thank you!")
        await j.check(page, "checkin")

        await page.goto(f"{j.base}/e/{EVENT}/privacy")
        await page.get_by_role("button", name="Download my data").click()
        await expect(page.locator("#privacy-data")).to_be_visible()
        await j.check(page, "privacy")
    j.assert_clean()


@pytest.mark.parametrize("device", list(DEVICES))
async def test_captioner_sends_lines_with_an_accessible_page(browser, podium, device):
    main = podium.rooms["main"]
    created = await staff_command(
        podium, "admin", "POST", f"/rooms/{main}/caption-tokens", {"label": "Steno"}
    )
    async with journey(browser, podium, device) as j:
        page = await j.page("/caption")
        token = page.get_by_role("textbox", name="Caption token")
        await token.fill("not-a-token")
        await page.get_by_role("button", name="Start captioning").click()
        await expect(page.locator("#token-error")).to_be_visible()
        await j.check(page, "captioner-token-error")

        await token.fill(created["token"])
        await page.get_by_role("button", name="Start captioning").click()
        line = page.get_by_role("textbox", name="Caption line")
        await line.fill("Welcome, everyone, to the main hall.")
        await line.press("Enter")
        await expect(page.locator("#sent-lines")).to_contain_text("Welcome, everyone")
        await j.check(page, "captioner")
    j.assert_clean()


@pytest.mark.parametrize("device", list(DEVICES))
async def test_stage_screen_and_overlay_show_and_announce_the_question(browser, podium, device):
    main = podium.rooms["main"]
    question = await approved_question(podium, ON_STAGE, author="Siân")
    async with journey(browser, podium, device) as j:
        stage = await j.page(f"/e/{EVENT}/stage/{main}")
        overlay = await j.page(f"/e/{EVENT}/overlay/{main}")
        await expect(stage.locator("#stage-idle")).to_be_visible()
        await j.check(stage, "stage-idle")
        await j.check(overlay, "overlay-idle")

        await staff_command(
            podium, "chair", "POST", f"/questions/{question['id']}/stage", {"room_id": main}
        )
        for page in (stage, overlay):
            await expect(page.locator("#stage-text")).to_have_text(ON_STAGE)
            await expect(page.locator("#stage-author")).to_have_text("— Siân")
            await assert_announced(page, ON_STAGE)
        await j.check(stage, "stage", docs=device == "desktop")
        await j.check(overlay, "overlay")
    j.assert_clean()
