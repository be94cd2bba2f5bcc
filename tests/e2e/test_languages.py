"""Languages: pages follow the browser or the reader's choice; scripts and times follow too."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect

from server import i18n
from tests.conftest import podium_with
from tests.e2e.test_browser_flow import watch_console
from tests.support.browser import artefact, chromium, chromium_path
from tests.support.clients import EVENT, Podium

CATALOGUES = i18n.load_catalogues()


def say(locale: str, message: str, **params) -> str:
    """What the page should say, from the shipped catalogue."""
    text = CATALOGUES.get(locale).translations.gettext(message)
    return text % params if params else text


def html_lang(page: str) -> str:
    return re.search(r'<html lang="([^"]+)"', page).group(1)


@pytest.fixture
async def podium(tmp_path: Path) -> AsyncIterator[Podium]:
    """The language does not depend on the database: SQLite only, to keep the suite quick."""
    async with podium_with(f"sqlite+aiosqlite:///{tmp_path / 'podium.db'}", tmp_path) as client:
        yield client


async def get(client, path: str, language: str | None = None):
    headers = {"Accept-Language": language} if language else {}
    async with client.session.get(path, headers=headers) as response:
        return response, await response.text()


async def test_viewer_page_follows_the_browsers_language(podium):
    reader = await podium.anonymous()
    response, page = await get(reader, f"/e/{EVENT}", "cy-GB,cy;q=0.9,en;q=0.5")
    assert response.status == 200 and html_lang(page) == "cy"
    assert response.headers["Content-Language"] == "cy"
    assert "Accept-Language" in response.headers["Vary"]
    assert say("cy", "Ask a question") == "Gofyn cwestiwn"
    for message in ("Ask a question", "Join the Q&amp;A", "Where are you following from?"):
        assert say("cy", message) in page and message not in page
    # The switcher: plain links, each language named in itself, the current one marked.
    links = re.findall(r'<a href="([^"]+)" hreflang="(\w+)" lang="\2"( aria-current="true")?', page)
    assert [(href, code, bool(current)) for href, code, current in links] == [
        (f"/e/{EVENT}?lang={code}", code, code == "cy") for code in i18n.LANGUAGES
    ]
    _, english = await get(reader, f"/e/{EVENT}", "de-DE,en;q=0.5")
    assert html_lang(english) == "en" and "Ask a question" in english


async def test_chosen_language_is_remembered_over_the_browsers(podium):
    reader = await podium.anonymous()
    response, page = await get(reader, f"/e/{EVENT}/privacy?lang=fr", "cy")
    assert html_lang(page) == "fr"
    assert f"<title>{say('fr', 'Your data · %(event)s', event='Test event')} · Podium" in page
    cookie = response.cookies[i18n.COOKIE]
    assert cookie.value == "fr" and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    _, page = await get(reader, f"/e/{EVENT}", "cy")  # the cookie now outranks the browser
    assert html_lang(page) == "fr" and say("fr", "Ask a question") in page
    response, page = await get(reader, "/?lang=es", "cy")
    assert html_lang(page) == "es" and response.cookies[i18n.COOKIE].value == "es"
    _, page = await get(reader, "/login", "fr")
    assert html_lang(page) == "es" and say("es", "Staff login") in page


async def test_error_pages_speak_the_readers_language_but_the_api_stays_english(podium):
    reader = await podium.anonymous()
    response, page = await get(reader, "/e/no-such-event", "es")
    assert response.status == 404 and html_lang(page) == "es"
    assert say("es", "Not found") in page and say("es", "Back to the start page") in page
    async with reader.session.get(
        "/api/v1/events/no-such-event", headers={"Accept-Language": "es"}
    ) as api:
        body = await api.json()
    assert api.status == 404 and body["error"]["code"] == "not_found"
    assert "Content-Language" not in api.headers
    assert body["error"]["message"] == body["error"]["message"].encode("ascii").decode()


async def test_agenda_times_are_printed_per_language_in_the_events_time_zone(podium):
    reader = await podium.anonymous()
    detail = await reader.ok("GET", f"/api/v1/events/{EVENT}")
    zone = ZoneInfo(detail["timezone"] or "UTC")
    first = detail["sessions"][0]
    start = datetime.fromisoformat(first["starts_at"]).astimezone(zone)
    for language, clock in (
        ("en", f"{start.hour % 12 or 12}:{start:%M}\\s[AP]M"),
        ("en-GB", f"{start:%H:%M}"),
        ("cy", f"{start:%H:%M}"),
        ("fr", f"{start:%H:%M}"),
        ("es", f"{start.hour}:{start:%M}"),
    ):
        _, page = await get(reader, f"/e/{EVENT}", language)
        shown = re.search(rf'<time datetime="{re.escape(first["starts_at"])}"[^>]*>([^<]+)<', page)
        assert re.fullmatch(clock, shown.group(1)), (language, shown.group(1))


@pytest.mark.browser
@pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (scripts/test)")
async def test_scripts_speak_welsh_then_french_after_the_switch(podium):
    """Messages and plural rules reach the scripts; Intl formats times in the page language."""
    reader = await podium.anonymous()
    detail = await reader.ok("GET", f"/api/v1/events/{EVENT}")
    first = detail["sessions"][0]
    paris = datetime.fromisoformat(first["starts_at"]).astimezone(ZoneInfo("Europe/Paris"))
    welsh_plural = CATALOGUES.get("cy").plural
    problems: list[str] = []
    async with chromium() as browser:
        context = await browser.new_context(locale="cy-GB", timezone_id="Europe/Paris")
        page = await context.new_page()
        watch_console(page, problems)
        await page.goto(f"{podium.base_url}/e/{EVENT}")
        await expect(page.locator("html")).to_have_attribute("lang", "cy")
        zone_note = say("cy", "Times are shown in your time zone (%(zone)s).", zone="Europe/Paris")
        await expect(page.locator("#agenda-zone")).to_have_text(zone_note)
        first_time = page.locator(f'time[datetime="{first["starts_at"]}"]')
        await expect(first_time).to_have_text(f"{paris:%H:%M}")  # the reader's zone, 24-hour

        await page.locator("#join-form button[type=submit]").click()
        choose = say("cy", "Tell us whether you're in the room or watching remotely.")
        await expect(page.locator("#join-error")).to_have_text(choose)
        forms = await page.evaluate(
            """async (expression) => {
                const { compilePlural, t } = await import('/static/js/i18n.js');
                const plural = compilePlural(expression);
                return { forms: [0, 1, 2, 3, 4, 6, 7, 11].map(plural),
                         waiting: t('Waiting for moderation') };
            }""",
            welsh_plural,
        )
        assert forms == {
            "forms": [0, 1, 2, 3, 5, 4, 5, 5],
            "waiting": say("cy", "Waiting for moderation"),
        }
        await page.screenshot(path=artefact("languages-viewer-cy.png"), full_page=True)

        await page.locator('.language-switcher a[hreflang="fr"]').click()
        await expect(page.locator("html")).to_have_attribute("lang", "fr")
        current = page.locator(".language-switcher [aria-current=true]")
        await expect(current).to_have_text("Français")
        zone_note = say("fr", "Times are shown in your time zone (%(zone)s).", zone="Europe/Paris")
        await expect(page.locator("#agenda-zone")).to_have_text(zone_note)
        votes = await page.evaluate(
            """async () => {
                const { tn } = await import('/static/js/i18n.js');
                return [0, 1, 2].map((n) => tn('%(num)s vote', '%(num)s votes', n));
            }"""
        )
        french = CATALOGUES.get("fr").translations
        assert votes == [
            french.ngettext("%(num)s vote", "%(num)s votes", n) % {"num": n} for n in (0, 1, 2)
        ]
        assert votes[0] == "0 vote"  # French counts zero as singular, unlike English
        cookies = {c["name"]: c for c in await context.cookies()}
        assert cookies[i18n.COOKIE]["value"] == "fr" and cookies[i18n.COOKIE]["sameSite"] == "Lax"
        await page.goto(f"{podium.base_url}/e/{EVENT}/checkin/{podium.rooms['main']}")
        await expect(page.locator("html")).to_have_attribute("lang", "fr")
        await expect(page.locator("#checkin-status")).to_have_text(
            say("fr", "You're checked in. Thank you!")
        )
    assert problems == [], problems
