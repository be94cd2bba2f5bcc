"""How pages honour the reader's display settings: reduced motion turns animation and
transitions off, and the dark theme really is dark (so the phone journeys, which run dark,
check colour contrast in it while the desktop ones check the light theme)."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.support.clients import EVENT
from tests.support.journeys import (
    JOURNEY_MARKS,
    approved_question,
    journey,
    staff_command,
)

pytestmark = JOURNEY_MARKS

SECONDS = "(value) => value.split(',').map((s) => parseFloat(s) * (s.endsWith('ms') ? 1e-3 : 1))"


async def longest(page: Page, selector: str, prop: str) -> float:
    """The longest animation or transition duration in seconds, as computed for `selector`."""
    value = await page.locator(selector).first.evaluate(f"(el) => getComputedStyle(el).{prop}")
    return max(await page.evaluate(SECONDS, value))


async def background_luminance(page: Page) -> float:
    return await page.evaluate(
        """() => {
          const [r, g, b] = getComputedStyle(document.body).backgroundColor
            .match(/\\d+/g).slice(0, 3).map((c) => Number(c) / 255);
          return 0.2126 * r + 0.7152 * g + 0.0722 * b;
        }"""
    )


@pytest.mark.parametrize("motion", ["reduce", "no-preference"])
async def test_reduced_motion_turns_off_animations_and_transitions(browser, podium, motion):
    main = podium.rooms["main"]
    question = await approved_question(podium, "Is the stage animation calm?")
    await staff_command(
        podium, "chair", "POST", f"/questions/{question['id']}/stage", {"room_id": main}
    )
    async with journey(browser, podium, "desktop", reduced_motion=motion) as j:
        stage = await j.page(f"/e/{EVENT}/stage/{main}")
        overlay = await j.page(f"/e/{EVENT}/overlay/{main}")
        viewer = await j.page(f"/e/{EVENT}")
        await expect(stage.locator("#stage-text")).to_be_visible()
        await expect(overlay.locator("#stage-text")).to_be_visible()
        durations = {
            "stage": await longest(stage, "#stage-card", "animationDuration"),
            "overlay": await longest(overlay, "#stage-card", "animationDuration"),
            "buttons": await longest(viewer, ".button", "transitionDuration"),
        }
        if motion == "reduce":
            assert all(seconds <= 0.001 for seconds in durations.values()), durations
        else:  # the same pages do move for everyone else: the check above is not vacuous
            assert all(seconds >= 0.1 for seconds in durations.values()), durations
    j.assert_clean(axe=False)


async def test_dark_theme_is_dark_and_light_theme_is_light(browser, podium):
    seen = {}
    for device, scheme in (("desktop", "light"), ("phone", "dark")):
        async with journey(browser, podium, device) as j:
            page = await j.page(f"/e/{EVENT}")
            await expect(page.locator("#join-panel")).to_be_visible()
            seen[scheme] = await background_luminance(page)
            await j.audit.check(page, f"contrast-{scheme}", rules=["color-contrast"])
        j.assert_clean()
    assert seen["light"] > 0.8 and seen["dark"] < 0.15, seen  # sRGB luma of the background
