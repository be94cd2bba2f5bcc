"""Each role's core journey with the keyboard alone (Tab, Shift+Tab, Enter, Space, arrows; no
clicks): every focus stop on the way shows a visible focus indicator, and focus never gets
trapped on a page."""

from __future__ import annotations

import re

from playwright.async_api import Locator, Page, expect

from tests.support.clients import EVENT, PASSWORD
from tests.support.journeys import (
    JOURNEY_MARKS,
    Journey,
    approved_question,
    assert_announced,
    assert_no_trap,
    journey,
    staff_command,
    tab_to,
)

pytestmark = JOURNEY_MARKS

THEIRS = "Could the market stay open later on Thursdays?"
PLAYLIST = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2.0,\nseg0.ts\n"


async def press_until(page: Page, control: Locator, key: str, value: str, limit: int = 10) -> None:
    """Arrow through a focused <select> (Chromium changes it without opening) to `value`."""
    for _ in range(limit):
        if await control.input_value() == value:
            return
        await page.keyboard.press(key)
    await expect(control).to_have_value(value)


async def keyboard_login(j: Journey, role: str, path: str) -> Page:
    page = await j.page(path)  # redirected to the login page, which focuses Username
    await expect(page.get_by_role("textbox", name="Username")).to_be_focused()
    await page.keyboard.type(role)
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(f"{j.base}{path}")
    return page


async def test_viewer_joins_asks_and_upvotes_with_the_keyboard(browser, podium):
    await approved_question(podium, THEIRS)
    async with journey(browser, podium, "desktop") as j:
        page = await j.page(f"/e/{EVENT}")
        await expect(page.locator("#question-list")).to_contain_text(THEIRS)
        await page.keyboard.press("Tab")
        skip = page.get_by_role("link", name="Skip to main content")
        await expect(skip).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.locator("#main")).to_be_focused()

        in_room = page.get_by_role("radio", name=re.compile("^I'm in the room"))
        await tab_to(page, in_room)
        await page.keyboard.press("ArrowDown")  # a radio group: arrows choose
        await expect(page.get_by_role("radio", name=re.compile("^I'm watching"))).to_be_checked()
        await tab_to(page, page.get_by_role("textbox", name="Your name"))
        await page.keyboard.type("Keyboard Kim")
        await page.keyboard.press("Enter")
        question = page.get_by_role("textbox", name="Your question", exact=True)
        await expect(question).to_be_focused()  # joining moves focus to the question box
        await page.keyboard.type("Will the meeting papers come in large print?")
        await tab_to(page, page.get_by_role("button", name="Send question"))
        await page.keyboard.press("Enter")
        await expect(page.locator("#mine-list")).to_contain_text("Waiting for moderation")

        vote = page.locator("#question-list li").filter(has_text=THEIRS).get_by_role("button")
        await tab_to(page, vote, backwards=True)
        await page.keyboard.press("Space")
        await expect(vote).to_have_attribute("aria-pressed", "true")

        main_tab = page.get_by_role("tab", name=re.compile("^Main"))
        await tab_to(page, main_tab, backwards=True)
        await page.keyboard.press("ArrowRight")
        side_tab = page.get_by_role("tab", name=re.compile("^Side"))
        await expect(side_tab).to_be_focused()
        await expect(side_tab).to_have_attribute("aria-selected", "true")
        await j.check(page, "keyboard-viewer")
        await assert_no_trap(page)
    j.assert_clean()


async def test_moderator_approves_with_the_keyboard(browser, podium):
    viewer = await podium.viewer("Noor")
    await viewer.ask("Are the council meetings subtitled?")
    async with journey(browser, podium, "desktop") as j:
        page = await keyboard_login(j, "moderator", f"/e/{EVENT}/moderate")
        approve = page.get_by_role("button", name=re.compile("^Approve"))
        await tab_to(page, approve)
        await page.keyboard.press("Enter")
        await assert_announced(page, "Approved.")
        await expect(page.locator("#mod-list > li")).to_have_count(0)

        pending = page.get_by_role("tab", name=re.compile("^Pending"))
        await tab_to(page, pending, backwards=True)
        await page.keyboard.press("ArrowRight")
        approved_tab = page.get_by_role("tab", name=re.compile("^Approved"))
        await expect(approved_tab).to_be_focused()
        await expect(page.locator("#mod-list")).to_contain_text("subtitled")
        await j.check(page, "keyboard-moderator")
        await assert_no_trap(page)
    j.assert_clean()


async def test_chair_reorders_and_puts_on_stage_with_the_keyboard(browser, podium):
    main = podium.rooms["main"]
    texts = ["First in the queue?", "Second in the queue?"]
    for text in texts:
        question = await approved_question(podium, text)
        await staff_command(
            podium, "chair", "POST", f"/questions/{question['id']}/queue", {"room_id": main}
        )
    async with journey(browser, podium, "desktop") as j:
        page = await keyboard_login(j, "chair", f"/e/{EVENT}/chair?room={main}")
        order = page.locator("#order-list > li")
        await expect(order).to_have_count(2)
        await tab_to(page, order.first.get_by_role("button", name=re.compile("^Move down")))
        await page.keyboard.press("Enter")
        await expect(order.first).to_contain_text(texts[1])
        await assert_announced(page, "Moved to position 2 of 2.")

        put = order.first.get_by_role("button", name=re.compile("^Put on stage"))
        await tab_to(page, put, backwards=True)
        await page.keyboard.press("Enter")
        await expect(page.locator("#on-stage-body")).to_contain_text(texts[1])
        await tab_to(page, page.get_by_role("button", name="Mark answered"), backwards=True)
        await page.keyboard.press("Space")
        await expect(page.locator("#on-stage-body")).to_contain_text("Nothing is on stage")
        await j.check(page, "keyboard-chair")
        await assert_no_trap(page)
    j.assert_clean()


async def test_organiser_goes_live_and_sets_now_playing_with_the_keyboard(
    browser, podium, tmp_path
):
    playlist = tmp_path / "media" / "main" / "index.m3u8"
    playlist.parent.mkdir(parents=True)
    playlist.write_text(PLAYLIST)
    main = podium.rooms["main"]
    source = {"role": "primary", "kind": "hls", "url": f"{podium.base_url}/media/main/index.m3u8"}
    await staff_command(podium, "admin", "PUT", f"/rooms/{main}/sources", source)
    async with journey(browser, podium, "desktop") as j:
        page = await keyboard_login(j, "admin", f"/e/{EVENT}/webcast")
        card = page.locator(f".webcast-room[data-room='{main}']")
        status = card.get_by_role("combobox", name="Stream status")
        await tab_to(page, status)
        await press_until(page, status, "ArrowDown", "live")
        await tab_to(page, card.get_by_role("button", name=re.compile("^Apply")))
        await page.keyboard.press("Enter")
        await expect(card.locator("[data-part=status-badge]")).to_have_text("Live")

        now = card.get_by_role("combobox", name="Session now playing")
        await tab_to(page, now)
        await press_until(page, now, "ArrowDown", str(podium.sessions["Workshop A"]))
        await tab_to(page, card.get_by_role("button", name=re.compile("^Save now playing")))
        await page.keyboard.press("Enter")
        await assert_announced(page, "Now playing in Main: Workshop A.")
        await j.check(page, "keyboard-webcast")
        await assert_no_trap(page)
    j.assert_clean()
