"""The staff journeys in a real browser, at desktop and phone size, light and dark, with
axe-core checking every state: moderator, chair, organiser, webcast console, reach report."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.support.clients import EVENT
from tests.support.journeys import (
    DEVICES,
    JOURNEY_MARKS,
    approved_question,
    assert_announced,
    journey,
)

pytestmark = JOURNEY_MARKS

QUESTIONS = [
    "How will the new bus timetable serve night-shift workers?",
    "Buy cheap watches at my shop!!!",
    "what abt teh school roof repairs",
    "Will night buses run to the hospital?",
    "Email me the answer at jo@example.org please",  # flagged for the moderator
]
APPROVED = [
    "When will the park's playground reopen?",
    "Is there funding for more street lighting?",
    "Who decides where the new benches go?",
]

# Enough of a live HLS playlist for the console's check before going live (nobody plays it).
PLAYLIST = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2.0,\nseg0.ts\n"


def card_of(page, text: str):
    """The moderator's card of the question worded `text` (other cards quote it in menus)."""
    wording = page.locator(".staff-question__text", has_text=text)
    return page.locator("#mod-list > li").filter(has=wording)


@pytest.mark.parametrize("device", list(DEVICES))
async def test_moderator_approves_rejects_edits_and_merges(browser, podium, device):
    viewer = await podium.viewer("Jordan", channel="in_room")
    asked = [await viewer.ask(text) for text in QUESTIONS]
    into = asked[0]
    async with journey(browser, podium, device) as j:
        page = await j.staff("moderator", f"/e/{EVENT}/moderate")
        await expect(page.locator("#mod-list > li")).to_have_count(len(QUESTIONS))
        await expect(page.locator(".badge--flag")).to_contain_text("e-mail")
        await card_of(page, QUESTIONS[4]).get_by_role("button", name=re.compile("Star")).click()
        await expect(card_of(page, QUESTIONS[4]).locator(".badge--star")).to_be_visible()
        await j.check(page, "moderator", docs=device == "desktop")

        await card_of(page, QUESTIONS[0]).get_by_role("button", name=re.compile("^Approve")).click()
        await assert_announced(page, "Approved.")
        spam = card_of(page, QUESTIONS[1])
        await spam.get_by_role("combobox", name=re.compile("^Reason for rejecting")).select_option(
            "off_topic"
        )
        await spam.get_by_role("button", name=re.compile("^Reject")).click()
        await expect(spam).to_have_count(0)

        await card_of(page, QUESTIONS[2]).get_by_role("button", name=re.compile("^Edit")).click()
        editor = page.get_by_role("textbox", name=re.compile("^Edit the wording"))
        await expect(editor).to_be_focused()
        await j.check(page, "moderator-editing")
        await editor.fill("What about the school roof repairs?")
        await page.get_by_role("button", name="Save", exact=True).click()
        edited = card_of(page, "What about the school roof repairs?")
        await expect(edited).to_contain_text("Edited. Original:")

        duplicate = card_of(page, QUESTIONS[3])
        target = duplicate.get_by_role("combobox", name=re.compile("^Question to merge"))
        await target.select_option(str(into["id"]))
        await duplicate.get_by_role("button", name=re.compile("^Merge")).click()
        await expect(duplicate).to_have_count(0)

        await viewer.ask("Could the library open on Sundays?")  # announced as it arrives
        await assert_announced(page, "New question to moderate from Jordan")
        await page.get_by_role("tab", name=re.compile("^Rejected")).click()
        await expect(card_of(page, QUESTIONS[1])).to_contain_text("Off topic")
        await j.check(page, "moderator-rejected-tab")
        await page.get_by_role("tab", name=re.compile("^All")).click()
        await expect(card_of(page, QUESTIONS[3])).to_contain_text("Merged")
        await j.check(page, "moderator-all-tab")
    j.assert_clean()


@pytest.mark.parametrize("device", list(DEVICES))
async def test_chair_builds_the_running_order_and_puts_a_question_on_stage(browser, podium, device):
    for text in APPROVED:
        await approved_question(podium, text)
    main = podium.rooms["main"]
    async with journey(browser, podium, device) as j:
        page = await j.staff("chair", f"/e/{EVENT}/chair?room={main}")
        approved = page.locator("#approved-list > li")
        await expect(approved).to_have_count(3)
        await j.check(page, "chair-start")
        order = page.locator("#order-list > li")
        for queued in range(1, len(APPROVED) + 1):
            await approved.first.get_by_role("button", name=re.compile("^Add to running")).click()
            await expect(order).to_have_count(queued)
        await expect(order).to_have_count(3)
        first = await order.first.locator(".staff-question__text").text_content()
        await order.first.get_by_role("button", name=re.compile("^Move down")).click()
        await expect(order.nth(1)).to_contain_text(first)
        await assert_announced(page, "Moved to position 2 of 3.")

        await order.first.get_by_role("button", name=re.compile("^Put on stage")).click()
        await expect(page.locator("#on-stage-body")).to_contain_text(
            await page.locator("#on-stage-body .on-stage__text").text_content()
        )
        await expect(order).to_have_count(2)
        await assert_announced(page, re.compile("^(On stage now: |Put on stage)"))
        await j.check(page, "chair", docs=device == "desktop")
    j.assert_clean()


@pytest.mark.parametrize("device", list(DEVICES))
async def test_organiser_manages_events_rooms_and_the_webcast(browser, podium, device, tmp_path):
    playlist = tmp_path / "media" / "main" / "index.m3u8"  # served at /media/main/index.m3u8
    playlist.parent.mkdir(parents=True)
    playlist.write_text(PLAYLIST)
    async with journey(browser, podium, device) as j:
        page = await j.staff("admin", "/admin")
        j.allow("status of 400 (Bad Request)")  # the empty form, refused on purpose
        await page.get_by_role("button", name="Create event").click()  # empty: errors shown
        await expect(page.locator("#create-event-form .form-error")).to_be_visible()
        await j.check(page, "admin-errors")
        await page.get_by_role("button", name="Test event").click()
        await expect(page.locator("#event-manage")).to_be_visible()
        await page.get_by_role("textbox", name="Room name").fill("Annex")
        await page.locator("#rm-slug").fill("annex")
        await page.get_by_role("button", name="Add room").click()
        await expect(page.locator("#room-list")).to_contain_text("Annex")
        await j.check(page, "admin-event")

        await page.goto(f"{j.base}/")
        await expect(page.locator("[data-stage-links] a").first).to_be_visible()
        await j.check(page, "index-staff")

        page = await j.page(f"/e/{EVENT}/webcast")
        main = page.locator(".webcast-room").filter(has=page.get_by_role("heading", name="Main"))
        await main.get_by_text("Add or replace a source").click()
        await main.get_by_role("textbox", name="Stream address").fill(
            f"{j.base}/media/main/index.m3u8"
        )
        await main.get_by_role("button", name="Save source").click()
        await expect(main.locator("[data-part=sources]")).to_contain_text("/media/main/")
        await main.get_by_role("combobox", name="Stream status").select_option("live")
        await main.get_by_role("button", name=re.compile("^Apply")).click()
        await expect(main.locator("[data-part=status-badge]")).to_have_text("Live")
        now = main.get_by_role("combobox", name="Session now playing")
        await now.select_option(str(podium.sessions["Workshop A"]))
        await main.get_by_role("button", name=re.compile("^Save now playing")).click()
        await assert_announced(page, "Now playing in Main: Workshop A.")
        await main.get_by_role("textbox", name="Captioner name").fill("Steno")
        await main.get_by_role("button", name="Create caption token").click()
        await expect(main.get_by_role("textbox", name="Caption token for Steno")).to_have_value(
            re.compile("^cap_")
        )
        await j.check(page, "webcast", docs=device == "desktop")

        page = await j.page(f"/e/{EVENT}/reports")
        await expect(page.locator("#report-event")).not_to_be_empty()
        await j.check(page, "reports", docs=device == "desktop")
    j.assert_clean()
