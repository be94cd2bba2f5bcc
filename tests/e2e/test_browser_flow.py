"""The full question flow through the real pages, in Debian's Chromium driven by Playwright."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.support.browser import artefact, chromium, chromium_path
from tests.support.clients import EVENT, PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (scripts/test)"),
]

expect.set_options(timeout=10_000)
QUESTION = "How will neighbourhood officers stay in their wards <b>this winter</b>?"


def watch_console(page: Page, problems: list[str]) -> None:
    """Collect JS errors and CSP violations: a page with either is a failing page."""
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"{page.url}: {message.text}") if message.type == "error" else None
        ),
    )


async def staff_page(context: BrowserContext, base: str, role: str, path: str) -> Page:
    page = await context.new_page()
    await page.goto(f"{base}{path}")
    await expect(page).to_have_url(re.compile(r"/login\?next="))
    await page.get_by_label("Username").fill(role)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(f"{base}{path}")
    return page


async def test_question_goes_from_viewer_page_through_moderator_and_chair_to_stage_screen(podium):
    base, main = podium.base_url, podium.rooms["main"]
    problems: list[str] = []
    async with chromium() as browser:
        viewer_context = await browser.new_context(viewport={"width": 390, "height": 844})
        staff_context = await browser.new_context(viewport={"width": 1280, "height": 900})
        stage_context = await browser.new_context(
            viewport={"width": 1280, "height": 720}, reduced_motion="reduce"
        )

        stage = await stage_context.new_page()
        watch_console(stage, problems)
        await stage.goto(f"{base}/e/{EVENT}/stage/{main}")

        viewer = await viewer_context.new_page()
        watch_console(viewer, problems)
        await viewer.goto(f"{base}/e/{EVENT}")
        await viewer.get_by_text("I'm in the room").click()
        await viewer.get_by_role("textbox", name="Your name (optional)").fill("Amira")
        await viewer.get_by_role("button", name="Join").click()
        await viewer.get_by_label("Your question", exact=True).fill(QUESTION)
        session_select = viewer.get_by_label("Stems from")
        workshop = session_select.locator("option", has_text="Workshop A")
        await session_select.select_option(await workshop.get_attribute("value"))
        await viewer.get_by_role("button", name="Send question").click()
        mine = viewer.locator("#mine-list")
        await expect(mine).to_contain_text(QUESTION)
        await expect(mine).to_contain_text("Waiting for moderation")
        await viewer.screenshot(path=artefact("browser-viewer-asked.png"), full_page=True)

        moderator = await staff_page(staff_context, base, "moderator", f"/e/{EVENT}/moderate")
        watch_console(moderator, problems)
        card = moderator.locator("li, article").filter(has_text=QUESTION).last
        await expect(card).to_be_visible()
        await moderator.screenshot(path=artefact("browser-moderator.png"), full_page=True)
        await card.get_by_role("button", name=re.compile("^Approve")).click()
        await expect(mine).to_contain_text("Approved")
        public_list = viewer.locator("#question-list")
        await expect(public_list).to_contain_text(QUESTION)  # escaped, shown as text

        chair_context = await browser.new_context(viewport={"width": 1280, "height": 900})
        chair = await staff_page(chair_context, base, "chair", f"/e/{EVENT}/chair?room={main}")
        watch_console(chair, problems)
        await chair.get_by_role("button", name=re.compile("^Add to running order")).first.click()
        await chair.get_by_role("button", name=re.compile(r"^Put on stage(?! now)")).first.click()
        await expect(stage.locator("#stage-text")).to_have_text(QUESTION)
        await expect(stage.locator("#stage-author")).to_contain_text("Amira")
        await expect(mine).to_contain_text("On stage now")
        await chair.screenshot(path=artefact("browser-chair.png"), full_page=True)
        await stage.screenshot(path=artefact("browser-stage.png"))

        await chair.get_by_role("button", name="Mark answered").click()
        await expect(stage.locator("#stage-card")).to_be_hidden()
        await expect(mine).to_contain_text("Answered")

        await viewer.reload()  # the viewer's own questions survive a reload
        await expect(viewer.locator("#mine-list")).to_contain_text("Answered")
        assert await viewer.locator("#question-list b").count() == 0, "question HTML rendered"
    assert problems == [], problems
