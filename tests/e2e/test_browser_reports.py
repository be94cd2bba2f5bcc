"""The reach report page renders its figures and charts in Chromium, on screen and in print."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import socketio
from playwright.async_api import expect

from tests.e2e.test_browser_flow import staff_page, watch_console
from tests.support.browser import artefact, chromium, chromium_path
from tests.support.clients import EVENT

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (scripts/test)"),
]
EVENT_API = f"/api/v1/events/{EVENT}"


async def watch(podium, room_id: int) -> socketio.AsyncClient:
    """A real viewer watching a room over Socket.IO, as the viewer page does."""
    viewer = await podium.viewer(None)
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(
        podium.base_url,
        namespaces=["/viewer"],
        auth={"token": viewer.token},
        headers={"Origin": podium.base_url},
        transports=["websocket"],
    )
    ack = await client.call("watch_room", {"room_id": room_id}, namespace="/viewer")
    assert ack["ok"], ack
    return client


async def test_reach_report_page_draws_its_charts_and_prints(podium):
    admin = await podium.staff("admin")
    now = datetime.now(UTC)
    await admin.ok(
        "POST",
        f"{EVENT_API}/sessions",
        {
            "title": "Live now",
            "kind": "panel",
            "room_id": podium.rooms["main"],
            "starts_at": (now - timedelta(minutes=5)).isoformat(),
            "ends_at": (now + timedelta(minutes=30)).isoformat(),
        },
    )
    viewers = [await watch(podium, podium.rooms["main"]) for _ in range(3)]
    await asyncio.sleep(1.2)
    for client in viewers:
        await client.call("heartbeat", {}, namespace="/viewer")
    report = await admin.ok("GET", f"{EVENT_API}/reports")
    assert report["report"]["unique_viewers"] == 3

    problems: list[str] = []
    async with chromium() as browser:
        context = await browser.new_context(
            viewport={"width": 1280, "height": 900}, reduced_motion="reduce"
        )
        page = await staff_page(context, podium.base_url, "admin", f"/e/{EVENT}/reports")
        watch_console(page, problems)
        event_report = page.locator("#report-event")
        await expect(event_report).to_contain_text("3")
        charts = page.locator("#report-event svg[role='img']")
        await expect(charts.first).to_be_visible()
        assert await charts.count() >= 2  # watching over time, and how long people watched
        line_points = await page.evaluate(
            "document.querySelector('#report-event svg[role=img]').querySelectorAll('*').length"
        )
        assert line_points > 5, "the chart has drawn nothing"
        await expect(page.locator("#report-sessions")).to_contain_text("Live now")
        await page.screenshot(path=artefact("browser-reports.png"), full_page=True)
        await page.emulate_media(media="print")
        await expect(page.locator("#report-print")).to_be_hidden()
        await page.screenshot(path=artefact("browser-reports-print.png"), full_page=True)
    for client in viewers:
        await client.disconnect()
    assert problems == [], problems
