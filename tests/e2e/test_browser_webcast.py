"""The webcast in Debian's Chromium: a live HLS stream plays, fails over, and shows captions."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from server.demo_media import TEST_PATTERNS, hls_command
from tests.e2e.test_browser_flow import staff_page, watch_console
from tests.support.browser import artefact, chromium, chromium_path
from tests.support.clients import EVENT

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (scripts/test)"),
    pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed"),
]

expect.set_options(timeout=15_000)
CAPTION = "Welcome back to the main hall, we are live again."


@contextmanager
def live_streams(media: Path) -> Iterator[dict[str, Path]]:
    """Two ffmpeg test streams, primary and backup, written as live HLS under `media`/t."""
    playlists = {"primary": media / "t" / "primary" / "index.m3u8"}
    playlists["backup"] = media / "t" / "backup" / "index.m3u8"
    patterns = {"primary": TEST_PATTERNS["main"], "backup": TEST_PATTERNS["backup"]}
    processes = []
    try:
        for role, playlist in playlists.items():
            playlist.parent.mkdir(parents=True, exist_ok=True)
            command = hls_command(patterns[role], playlist)
            processes.append(subprocess.Popen(command, stdin=subprocess.DEVNULL))
        yield playlists
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()


async def wait_for_segments(playlist: Path, segments: int = 2, timeout: float = 30) -> None:
    """Until ffmpeg has listed `segments` segments in the playlist (a player needs a few)."""

    def listed() -> int:
        return playlist.read_text().count("#EXTINF") if playlist.exists() else 0

    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await asyncio.to_thread(listed) >= segments:
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"ffmpeg wrote no playable {playlist} within {timeout}s")


async def video_state(page: Page) -> dict:
    return await page.evaluate(
        """() => {
          const video = document.querySelector('#player video');
          if (!video) return null;
          const error = video.error && video.error.message;
          return { src: video.dataset.src, time: video.currentTime, error };
        }"""
    )


async def assert_playing(page: Page, src: str, timeout: float = 15) -> None:
    """The player's <video> shows `src` and its clock moves on by more than a second."""
    await expect(page.locator("#player video")).to_have_attribute("data-src", src)
    first = await video_state(page)
    deadline = asyncio.get_running_loop().time() + timeout
    state = first
    while asyncio.get_running_loop().time() < deadline:
        state = await video_state(page)
        if state and state["src"] == src and state["time"] > first["time"] + 1:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"the video did not play {src}: first {first}, last {state}")


async def test_viewer_plays_live_hls_fails_over_without_reload_and_shows_captions(podium, tmp_path):
    base, main = podium.base_url, podium.rooms["main"]
    admin = await podium.staff("admin")
    problems: list[str] = []
    with live_streams(tmp_path / "media") as playlists:
        for playlist in playlists.values():
            await wait_for_segments(playlist)
        urls = {role: f"{base}/media/t/{role}/index.m3u8" for role in playlists}
        for role, url in urls.items():
            status, body = await admin.command(
                "PUT",
                f"/rooms/{main}/sources",
                {"role": role, "kind": "hls", "url": url, "label": f"Test {role}"},
            )
            assert status == 200, body
        status, body = await admin.command("POST", f"/rooms/{main}/status", {"status": "live"})
        assert status == 200, body

        async with chromium() as browser:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            page = await context.new_page()
            watch_console(page, problems)
            await page.goto(f"{base}/e/{EVENT}")
            await page.get_by_role("tab", name="Main").click()
            await expect(page.locator("#watch-status")).to_have_text("Main: Live")
            await assert_playing(page, urls["primary"])  # before joining: the public stream
            await page.screenshot(path=artefact("browser-webcast-primary.png"))

            await page.get_by_text("I'm watching remotely").click()
            await page.get_by_role("button", name="Join").click()
            await expect(page.locator("#connection")).to_contain_text("Live")
            await page.evaluate("window.__marker = 1")
            status, body = await admin.command(
                "POST", f"/rooms/{main}/switch", {"active": "backup"}
            )
            assert status == 200, body
            await assert_playing(page, urls["backup"])
            assert await page.evaluate("window.__marker") == 1, "the page reloaded"
            await page.screenshot(path=artefact("browser-webcast-backup.png"))

            status, created = await admin.command(
                "POST", f"/rooms/{main}/caption-tokens", {"label": "Stenographer"}
            )
            assert status == 200, created
            captioner = await podium.anonymous()
            await captioner.ok(
                "POST",
                "/api/v1/captions",
                {"text": CAPTION},
                headers={"Authorization": f"Bearer {created['token']}"},
            )
            captions = page.get_by_role("log", name="Live captions")
            await expect(captions).to_contain_text(CAPTION)
            await page.locator("#watch").screenshot(path=artefact("browser-webcast-captions.png"))
    assert problems == [], problems


async def test_an_organiser_typing_in_a_room_card_keeps_the_focus_as_updates_arrive(
    podium, tmp_path
):
    main = podium.rooms["main"]
    playlist = tmp_path / "media" / "m" / "index.m3u8"  # served at /media/m/index.m3u8
    playlist.parent.mkdir(parents=True)
    playlist.write_text("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg0.ts\n")
    admin = await podium.staff("admin")
    async with chromium() as browser:
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        page = await staff_page(context, podium.base_url, "admin", f"/e/{EVENT}/webcast")
        card = page.locator(".webcast-room").filter(has=page.get_by_role("heading", name="Main"))
        name = card.get_by_role("textbox", name="Captioner name")
        await name.click()
        await page.keyboard.type("Steno")

        # Another organiser's changes reach this page while the name is being typed.
        source = {"role": "primary", "kind": "hls", "url": f"{podium.base_url}/media/m/index.m3u8"}
        for path, change in (("sources", source), ("status", {"status": "live"})):
            method = "PUT" if path == "sources" else "POST"
            status, body = await admin.command(method, f"/rooms/{main}/{path}", change)
            assert status == 200, body
        await expect(card.locator("[data-part=status-badge]")).to_have_text("Live")

        await expect(name).to_be_focused()
        await page.keyboard.type(" Smith")
        await expect(name).to_have_value("Steno Smith")
        await card.get_by_role("button", name="Create caption token").click()
        await expect(
            card.get_by_role("textbox", name="Caption token for Steno Smith")
        ).to_have_value(re.compile("^cap_"))
