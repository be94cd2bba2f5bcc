"""WebRTC in Debian's Chromium with a fake camera: an organiser goes live from the browser,
a moderator's page watches over WHEP with sub-second delay, a viewer past the watcher cap
falls back to the packaged HLS (which plays through hls.js), and stopping ends it all."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, expect

from server.app_keys import PEERS
from tests.conftest import podium_with
from tests.e2e.test_browser_flow import staff_page, watch_console
from tests.e2e.test_browser_webcast import assert_playing
from tests.support.axe import Audit
from tests.support.browser import CHROMIUM_ARGS, artefact, chromium_path
from tests.support.clients import EVENT, Podium
from tests.support.webrtc_client import publish, wait_until, watch

needs_chromium = pytest.mark.skipif(
    chromium_path() is None, reason="Chromium is not installed (scripts/test)"
)

expect.set_options(timeout=15_000)
FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
# The viewer's refused WHEP offer (503, past the cap) is an expected console error.
EXPECTED = re.compile(r"status of 503")


@pytest.fixture
async def podium(tmp_path: Path) -> AsyncIterator[Podium]:
    """One WebRTC watcher per process, so a second one is sent to the packaged HLS."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'podium.db'}"
    overrides = {"webrtc_hls": "on", "webrtc_hls_segment_seconds": 1, "webrtc_max_watchers": 1}
    async with podium_with(url, tmp_path, **overrides) as client:
        yield client


@pytest.fixture
async def browser():
    """Chromium whose camera and microphone are generated, and never asks for permission."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS + FAKE_MEDIA, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


async def new_context(browser, base: str) -> BrowserContext:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.grant_permissions(["camera", "microphone"], origin=base)
    return context


async def frames_arrive(page: Page, selector: str) -> dict:
    """The video has a picture, and its frames keep coming (requestVideoFrameCallback)."""
    return await page.evaluate(
        """async (selector) => {
          const video = document.querySelector(selector);
          const frame = () => new Promise((resolve, reject) => {
            video.requestVideoFrameCallback((_now, meta) => resolve(meta.mediaTime));
            setTimeout(() => reject(new Error('no frame within 5 s')), 5000);
          });
          const first = await frame();
          let last = first;
          for (let i = 0; i < 10; i += 1) last = await frame();
          return { width: video.videoWidth, height: video.videoHeight, first, last,
                   time: video.currentTime, muted: video.muted };
        }""",
        selector,
    )


@pytest.mark.browser
@needs_chromium
async def test_browser_goes_live_staff_watch_over_whep_and_viewers_past_the_cap_get_hls(
    podium, browser, tmp_path
):
    base, main = podium.base_url, podium.rooms["main"]
    admin = await podium.staff("admin")
    registry = podium.app[PEERS]
    problems: list[str] = []
    audit = Audit()

    # An organiser goes live from the fake camera and microphone.
    organiser = await new_context(browser, base)
    golive = await staff_page(organiser, base, "admin", f"/e/{EVENT}/golive/{main}")
    watch_console(golive, problems)
    await audit.check(golive, "go-live page, before")
    await golive.get_by_role("button", name="Go live").click()
    await expect(golive.locator("#golive-status")).to_have_attribute("data-state", "live")
    await expect(golive.get_by_role("status").filter(has_text="Live:")).to_be_visible()
    assert (await frames_arrive(golive, "#preview-video"))["width"] > 0
    await audit.check(golive, "go-live page, live")
    await golive.screenshot(path=artefact("browser-webrtc-golive.png"))
    assert registry.counts()["ingests"] == 1

    # A moderator watches the room with low delay in the console.
    staff = await new_context(browser, base)
    moderator = await staff_page(staff, base, "moderator", f"/e/{EVENT}/moderate")
    watch_console(moderator, problems)
    toggle = moderator.get_by_role("button", name="Watch the room live (low delay)")
    await expect(toggle).to_be_enabled()
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-pressed", "true")
    await expect(moderator.locator("#room-watch [role=status]")).to_contain_text("Watching Main")
    seen = await frames_arrive(moderator, "#room-watch video")
    assert seen["width"] > 0 and seen["height"] > 0, seen
    assert seen["last"] > seen["first"] and seen["muted"], seen
    await moderator.locator("#room-watch").screenshot(path=artefact("browser-webrtc-watch.png"))
    assert registry.counts()["watchers"] == 1

    # The ingest is packaged as HLS, the room's primary; viewers are allowed WebRTC, but the
    # only watcher slot is taken: the viewer's player falls back to the HLS, and says so.
    playlist = tmp_path / "media" / "live" / str(main) / "index.m3u8"
    await wait_until(
        lambda: playlist.exists() and playlist.read_text().count("#EXTINF") >= 2,
        timeout=20,
        what="two HLS segments",
    )
    for path, body in (
        (f"/rooms/{main}/webrtc", {"viewers_allowed": True}),
        (f"/rooms/{main}/status", {"status": "live"}),
    ):
        answer = await admin.command("PUT" if path.endswith("webrtc") else "POST", path, body)
        assert answer[0] == 200, answer
    viewers = await new_context(browser, base)
    viewer = await viewers.new_page()
    viewer_problems: list[str] = []
    watch_console(viewer, viewer_problems)
    await viewer.goto(f"{base}/e/{EVENT}")
    await viewer.get_by_role("tab", name="Main").click()
    await viewer.get_by_text("I'm watching remotely").click()
    await viewer.get_by_role("button", name="Join").click()
    await expect(viewer.locator("#announcer")).to_contain_text(
        "The low-delay view is full right now. Playing the regular stream instead."
    )
    # The packaged playlist plays (Chromium's own HLS player, or hls.js where it gives up).
    await assert_playing(viewer, f"{base}/media/live/{main}/index.m3u8", timeout=20)
    await viewer.screenshot(path=artefact("browser-webrtc-viewer-fallback.png"))

    # Stopping on the go-live page ends the ingest: staff are told, the room drops WebRTC.
    await golive.get_by_role("button", name="Stop").click()
    await expect(golive.locator("#golive-status")).to_have_attribute("data-state", "stopped")
    await expect(moderator.locator("#room-watch [role=status]")).to_contain_text(
        "stopped sending its picture"
    )
    await expect(toggle).to_have_attribute("aria-pressed", "false")
    await wait_until(lambda: registry.counts() == {"ingests": 0, "watchers": 0}, what="peers gone")
    room = await admin.ok("GET", f"/api/v1/events/{EVENT}/rooms/{main}")
    assert "webrtc" not in room
    await audit.check(golive, "go-live page, stopped")
    audit.assert_clean()

    # The webcast console shows how to publish from OBS: the WHIP address, a token shown once.
    console = await organiser.new_page()
    watch_console(console, problems)
    await console.goto(f"{base}/e/{EVENT}/webcast")
    card = console.locator(f'[data-room="{main}"]')
    await expect(card.get_by_text("Not publishing")).to_be_visible()
    await card.get_by_text("Publish from OBS Studio").click()
    await expect(card.get_by_label("Server")).to_have_value(f"{base}/whip/rooms/{main}")
    await card.get_by_role("button", name="Create publish token").click()
    token = await card.get_by_label("Publish token for Main").input_value()
    assert token.startswith("whip_"), token
    await card.screenshot(path=artefact("browser-webrtc-console.png"))
    await expect(card.get_by_text("A publish token is set.")).to_be_visible()
    obs = await publish(admin.session, main, {"Authorization": f"Bearer {token}"})
    await expect(card.get_by_text("Publishing", exact=True)).to_be_visible()
    async with admin.session.delete(obs.location) as answer:
        assert answer.status == 200
    await obs.close()
    assert problems == [], problems
    assert [p for p in viewer_problems if not EXPECTED.search(p)] == [], viewer_problems


async def test_a_captioner_may_watch_the_room_they_caption_over_whep(podium):
    admin, main = await podium.staff("admin"), podium.rooms["main"]
    status, created = await admin.command(
        "POST", f"/rooms/{main}/caption-tokens", {"label": "Stenographer"}
    )
    assert status == 200, created
    token = (await admin.command("POST", f"/rooms/{main}/publish-token"))[1]["token"]
    publisher = await publish(admin.session, main, {"Authorization": f"Bearer {token}"})
    captioner = await podium.anonymous()
    try:
        watcher = await watch(
            captioner.session, main, {"Authorization": f"Bearer {created['token']}"}
        )
        assert (await watcher.next_frame("video")).width == 320
        await watcher.close()
    finally:
        await publisher.close()
