"""The viewer's journey in a real browser, at desktop and phone size, light and dark, with
axe-core checking every state: join, ask, upvote, follow one's own question, watch controls,
and hear (through live regions) what changes on stage and on the stream."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest
from playwright.async_api import Page, expect

from tests.support.clients import EVENT
from tests.support.journeys import (
    DEVICES,
    JOURNEY_MARKS,
    Journey,
    approved_question,
    assert_announced,
    journey,
    staff_command,
)

pytestmark = JOURNEY_MARKS

THEIRS = "Will the new cycle lanes reach the eastern wards by spring?"
LATER = "How are the library opening hours decided?"
ANSWERED = "Is the bridge closure on the agenda?"  # shown greyed out, still readable


async def join(page: Page, name: str) -> None:
    await page.get_by_text("I'm watching remotely").click()
    await page.get_by_role("textbox", name="Your name").fill(name)
    await page.get_by_role("button", name="Join").click()
    await expect(page.locator("#ask-panel")).to_be_visible()
    await expect(page.locator("#connection")).to_contain_text("Live")


async def captions_setup(j: Journey, room: int) -> None:
    """The room has a captioner (so the captions controls show) who has said one line."""
    created = await staff_command(
        j.podium, "admin", "POST", f"/rooms/{room}/caption-tokens", {"label": "Steno"}
    )
    captioner = await j.podium.anonymous()
    await captioner.ok(
        "POST",
        "/api/v1/captions",
        {"text": "Good morning and welcome to the main hall."},
        headers={"Authorization": f"Bearer {created['token']}"},
    )


@pytest.mark.parametrize("device", list(DEVICES))
async def test_viewer_joins_asks_upvotes_and_hears_what_changes(browser, podium, device):
    main = podium.rooms["main"]
    theirs = await approved_question(podium, THEIRS)
    done = await approved_question(podium, ANSWERED, author="Ola")
    for step, body in (("stage", {"room_id": main}), ("answered", {})):
        await staff_command(podium, "chair", "POST", f"/questions/{done['id']}/{step}", body)
    async with journey(browser, podium, device) as j:
        await captions_setup(j, main)
        page = await j.page(f"/e/{EVENT}")
        await expect(page.locator("#question-list")).to_contain_text(THEIRS)
        await expect(page.locator("#question-list .question--done")).to_contain_text(ANSWERED)
        await expect(page.locator("#join-panel")).to_be_visible()
        await expect(page.locator("#slate")).to_contain_text("Not started yet")
        await expect(page.locator("#player")).to_be_hidden()  # no empty black box above it
        await j.check(page, "viewer-arrives")

        await join(page, "Amira")
        ask = page.get_by_role("button", name="Send question")
        await ask.click()  # nothing written yet: the form says what is missing
        await expect(page.locator("#ask-error")).to_be_visible()
        await j.check(page, "viewer-ask-error")

        mine = f"Can the {device} stream have audio description?"
        await page.get_by_label("Your question", exact=True).fill(mine)
        await ask.click()
        await expect(page.locator("#mine-list")).to_contain_text("Waiting for moderation")
        card = page.locator("#question-list li").filter(has_text=THEIRS)
        vote = card.get_by_role("button", name=re.compile("^Upvote"))
        await vote.click()
        await expect(vote).to_have_attribute("aria-pressed", "true")
        await assert_announced(page, re.compile(r"^Upvoted\. 1 vote"))
        await expect(page.locator("#captions")).to_contain_text("Good morning")
        await j.check(page, "viewer", docs=True)  # both sizes: the README shows the phone too

        await page.get_by_text("Change your name").click()
        await expect(page.get_by_role("button", name="Save name")).to_be_visible()
        await j.check(page, "viewer-name-open")

        # What others do reaches this viewer through live regions, not only on screen.
        await approved_question(podium, LATER, author="Tomás")
        await assert_announced(page, f"New question from Tomás: {LATER}")
        await staff_command(
            podium, "chair", "POST", f"/questions/{theirs['id']}/stage", {"room_id": main}
        )
        await expect(page.locator("#stage-banner")).to_contain_text(THEIRS)
        await assert_announced(page, f"On stage now: {THEIRS}")
        await staff_command(podium, "admin", "POST", f"/rooms/{main}/status", {"status": "paused"})
        await assert_announced(page, "Main: Paused")
        await expect(page.locator("#slate")).to_contain_text("Technical difficulties")
        await j.check(page, "viewer-on-stage-paused")

        await assert_captions_choices_persist(page)
        ended = {"status": "ended", "recording_url": "https://video.example.org/main"}
        await staff_command(podium, "admin", "POST", f"/rooms/{main}/status", ended)
        await assert_announced(page, "Main: Ended")
        await expect(
            page.get_by_role("link", name=re.compile("^Watch the recording"))
        ).to_be_visible()
        await j.check(page, "viewer-ended")
        await page.goto(f"{j.base}/e/{EVENT}?light=1")  # light mode: sound only, less data
        await expect(page.locator("#question-list")).to_contain_text(THEIRS)
        await j.check(page, "viewer-light")
    j.assert_clean()


async def test_reloading_the_viewer_page_logs_no_server_error(browser, podium, caplog):
    async with journey(browser, podium, "desktop") as j:
        page = await j.page(f"/e/{EVENT}")
        await join(page, "Reloader")
        for _ in range(3):
            await page.reload()
            await expect(page.locator("#connection")).to_contain_text("Live")
        await page.close()
        await asyncio.sleep(0.5)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


async def assert_captions_choices_persist(page: Page) -> None:
    """Captions off, and their size, survive a reload (kept in the browser, not the server)."""
    toggle = page.get_by_role("button", name="Captions")
    await page.locator("label[for=caption-size-large]").click()
    await expect(page.locator("#captions")).to_have_attribute("data-size", "large")
    await page.reload()
    await expect(page.locator("#caption-size-large")).to_be_checked()
    await expect(page.locator("#captions")).to_have_attribute("data-size", "large")
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-pressed", "false")
    await expect(page.locator("#captions")).to_be_hidden()
    await page.reload()
    await expect(toggle).to_have_attribute("aria-pressed", "false")
    await expect(page.locator("#captions")).to_be_hidden()
    await toggle.click()
    await expect(page.locator("#captions")).to_be_visible()
