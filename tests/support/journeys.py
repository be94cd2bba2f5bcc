"""What the journey tests share: the app and browser per module, devices, screenshots, the
keyboard, and live regions."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from tests.conftest import podium_with
from tests.e2e.test_browser_flow import staff_page, watch_console
from tests.support.axe import Audit
from tests.support.browser import artefact, chromium_path
from tests.support.clients import Podium

# Each journey module's marks (its fixtures are in tests/e2e/journeys/conftest.py).
JOURNEY_MARKS = [
    pytest.mark.browser,
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (scripts/test)"),
]
expect.set_options(timeout=10_000)

DOCS_SCREENSHOTS = Path(__file__).resolve().parent.parent.parent / "docs" / "screenshots"
UPDATE_DOCS = os.environ.get("PODIUM_UPDATE_SCREENSHOTS") == "1"

# Each journey runs on both: a desktop in the light theme and a phone in the dark one, so
# every state is checked at both sizes and in both colour schemes.
DEVICES: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}, "color_scheme": "light"},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "color_scheme": "dark",
        "is_mobile": True,
        "has_touch": True,
    },
}


@asynccontextmanager
async def journey_app(data_dir: Path, **overrides: Any) -> AsyncIterator[Podium]:
    """The real app on SQLite (the journeys test pages, not databases), seeded."""
    url = f"sqlite+aiosqlite:///{data_dir / 'podium.db'}"
    async with podium_with(url, data_dir, **overrides) as podium:
        yield podium


@dataclass
class Journey:
    """One person's visit on one device: its context, what axe found, and console problems."""

    podium: Podium
    device: str
    context: BrowserContext
    audit: Audit = field(default_factory=Audit)
    problems: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)

    def allow(self, console_text: str) -> None:
        """A console error this journey causes on purpose (a refused login, a 404 page)."""
        self.expected.append(console_text)

    @property
    def base(self) -> str:
        return self.podium.base_url

    async def page(self, path: str) -> Page:
        page = await self.context.new_page()
        watch_console(page, self.problems)
        await page.goto(f"{self.base}{path}")
        return page

    async def staff(self, role: str, path: str) -> Page:
        """Log in through the login page (checked by axe too), landing on `path`."""
        page = await staff_page(self.context, self.base, role, path)
        watch_console(page, self.problems)
        return page

    async def check(self, page: Page, state: str, *, docs: bool = False) -> None:
        """Run axe on the page as it is now, and keep a screenshot of that state."""
        name = f"{state}-{self.device}"
        await self.audit.check(page, name)
        await screenshot(page, name, docs=docs)

    def assert_clean(self, *, axe: bool = True) -> None:
        """No axe violations in any checked state (`axe=False`: none was meant to be checked),
        and no console errors but those allowed."""
        if axe:
            self.audit.assert_clean()
        unexpected = [p for p in self.problems if not any(e in p for e in self.expected)]
        assert unexpected == [], unexpected


@asynccontextmanager
async def journey(browser: Browser, podium: Podium, device: str, **options: Any):
    context = await browser.new_context(**DEVICES[device], device_scale_factor=1, **options)
    try:
        yield Journey(podium, device, context)
    finally:
        await context.close()


async def screenshot(page: Page, name: str, *, docs: bool = False) -> None:
    """Always into test-artifacts/; into docs/screenshots/ too for the README when asked."""
    await page.screenshot(path=artefact(f"journey-{name}.png"))
    if docs and UPDATE_DOCS:
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.evaluate("window.scrollTo(0, 0)")  # the README shows each page from its top
        await page.screenshot(path=str(DOCS_SCREENSHOTS / f"{name}.png"))


# --- live regions -------------------------------------------------------------------------

LIVE = "[aria-live]:not([aria-live='off']), [role=status], [role=log], [role=alert]"


def live_region(page: Page, text: str | re.Pattern[str]) -> Locator:
    """The live regions that are saying `text` now (what a screen reader would announce)."""
    return page.locator(LIVE).filter(has_text=text)


async def assert_announced(page: Page, text: str | re.Pattern[str]) -> None:
    await expect(live_region(page, text).first).to_be_attached()


# --- the keyboard -------------------------------------------------------------------------

_FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const label = (el.getAttribute('aria-label') || el.textContent || el.value || '').trim();
  // A radio hidden in a segmented control shows its focus on the label that follows it.
  const shown = el.matches('.segmented input') ? el.nextElementSibling : el;
  const look = getComputedStyle(shown);
  return {
    tag: el.tagName.toLowerCase(), id: el.id, label: label.slice(0, 60),
    outline: look.outlineStyle !== 'none' && parseFloat(look.outlineWidth) >= 2,
    shadow: look.boxShadow !== 'none',
  };
}"""


async def focused(page: Page) -> dict[str, Any] | None:
    return await page.evaluate(_FOCUS)


async def tab_to(page: Page, target: Locator, *, backwards: bool = False, limit: int = 80) -> None:
    """Press Tab (or Shift+Tab) until `target` has focus; every stop must show its focus."""
    key = "Shift+Tab" if backwards else "Tab"
    stops = []
    for _ in range(limit):
        await page.keyboard.press(key)
        now = await focused(page)
        if now is not None:
            stops.append(f"{now['tag']}#{now['id']} {now['label']!r}")
            assert now["outline"] or now["shadow"], f"no visible focus on {stops[-1]}"
        if await target.evaluate("(el) => el === document.activeElement"):
            return
    raise AssertionError(f"{key} never reached {target}; stops: {stops}")


async def assert_no_trap(page: Page, limit: int = 150) -> int:
    """Tab through the whole page: focus must come back round to where it started."""
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    seen: list[str] = []
    for _ in range(limit):
        await page.keyboard.press("Tab")
        key = await page.evaluate(
            "() => { const el = document.activeElement;"
            " return el === document.body ? 'body' : el.outerHTML.slice(0, 120); }"
        )
        if seen and key == seen[0]:
            return len(seen)
        if key == "body" and seen:
            return len(seen)  # past the last stop, into the browser's own UI
        seen.append(key)
    raise AssertionError(f"focus never came round in {limit} presses: {seen[-5:]}")


# --- preconditions through the API ---------------------------------------------------------


async def approved_question(podium: Podium, text: str, author: str = "Priya") -> dict[str, Any]:
    """Another viewer's question, approved by a moderator: what a viewer finds on arrival."""
    viewer = await podium.viewer(author)
    question = await viewer.ask(text)
    moderator = await podium.staff("moderator")
    status, body = await moderator.command("POST", f"/questions/{question['id']}/approve", {})
    assert status == 200, body
    return body


async def staff_command(podium: Podium, role: str, method: str, path: str, body: Any) -> Any:
    staff = await podium.staff(role)
    status, answer = await staff.command(method, path, body)
    assert status == 200, answer
    return answer
