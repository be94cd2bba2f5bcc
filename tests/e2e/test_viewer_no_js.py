"""The viewer page with JavaScript off (plain HTML forms), its CSRF guard, and light mode."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.conftest import podium_with
from tests.support.axe import axe_violations, describe
from tests.support.browser import artefact, chromium, chromium_path
from tests.support.clients import EVENT, HttpClient, Podium

# The pages are under test here, not the databases: SQLite is enough for the browser tests.
ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
NEEDS_CHROMIUM = pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed")
expect.set_options(timeout=10_000)
PAGE = f"/e/{EVENT}"


async def approved_question(podium: Podium, text: str, votes: int = 0) -> int:
    """A question asked by someone through the API, approved, with `votes` upvotes."""
    author = await podium.viewer("Author")
    question = await author.ask(text)
    moderator = await podium.staff("moderator")
    await moderator.ok("POST", f"/api/v1/events/{EVENT}/questions/{question['id']}/approve")
    for _ in range(votes):
        voter = await podium.viewer(None)
        await voter.ok("POST", f"/api/v1/events/{EVENT}/questions/{question['id']}/vote")
    return question["id"]


async def stored_texts(podium: Podium) -> list[str]:
    moderator = await podium.staff("moderator")
    questions = await moderator.ok("GET", f"/api/v1/events/{EVENT}/moderation/questions")
    return [q["text"] for q in questions]


def question_item(page: Page, text: str):
    return page.locator("#question-list > li").filter(has_text=text)


async def assert_no_axe_violations(page: Page, state: str) -> None:
    """axe on what a browser without scripts shows now.

    axe needs scripts to run, so the page's HTML is replayed, on its own address (its styles
    load), in a scripted context: page scripts taken out, <noscript> content shown.
    """
    html = re.sub(r"<script[^>]*\bsrc=[^>]*></script>", "", await page.content())
    html = re.sub(r"</?noscript>", "", html)
    context = await page.context.browser.new_context()
    replay = await context.new_page()
    address = page.url.split("#")[0]
    await replay.route(address, lambda route: route.fulfill(body=html, content_type="text/html"))
    await replay.goto(address)
    violations = await axe_violations(replay)
    await context.close()
    assert not violations, describe(state, violations)


@ON_SQLITE
@pytest.mark.browser
@NEEDS_CHROMIUM
async def test_viewer_reads_joins_asks_and_upvotes_with_javascript_off(podium: Podium):
    popular = await approved_question(podium, "Which wards get the new bus routes first?", votes=2)
    quiet = await approved_question(podium, "Will the library open on Sundays?")
    async with chromium() as browser:
        context = await browser.new_context(java_script_enabled=False)
        page = await context.new_page()
        await page.goto(podium.base_url + PAGE)

        # Read: the approved questions, most votes first, with their counts.
        items = page.locator("#question-list > li")
        await expect(items).to_have_count(2)
        await expect(items.nth(0)).to_contain_text("bus routes")
        await expect(items.nth(0).locator(".vote__count")).to_have_text("2")
        await expect(page.locator("#ask-panel")).to_be_hidden()

        # Join: a name is optional; a post, a redirect and a confirmation.
        await page.get_by_text("I'm watching remotely").click()
        await page.get_by_role("textbox", name="Your name (optional)").fill("Nadia")
        await page.get_by_role("button", name="Join").click()
        await expect(page.locator("#form-result")).to_contain_text("You've joined")
        await expect(page.locator("#asking-as")).to_contain_text("Nadia")
        before = await stored_texts(podium)

        # An empty question: the summary is focused, the field marked and described.
        await page.get_by_role("button", name="Send question").click()
        summary = page.locator("#ask-errors")
        await expect(summary).to_be_focused()
        await expect(summary).to_contain_text("The question is empty")
        text_box = page.get_by_label("Your question", exact=True)
        await expect(text_box).to_have_attribute("aria-invalid", "true")
        await expect(text_box).to_have_attribute(
            "aria-describedby", re.compile("question-text-error")
        )
        await expect(page.locator("#question-text-error")).to_be_visible()
        await assert_no_axe_violations(page, "no-JS viewer: empty question refused")

        # Too long (the box's maxlength stops typing, not a crafted post): refused, kept.
        too_long = "Why? " * 80
        await text_box.evaluate(
            "(box, text) => { box.removeAttribute('maxlength'); box.value = text }", too_long
        )
        await page.get_by_role("button", name="Send question").click()
        await expect(summary).to_contain_text("longer than 280 characters")
        await expect(text_box).to_have_value(too_long)
        assert await stored_texts(podium) == before, "a refused question was stored"
        await page.screenshot(path=artefact("no-js-viewer-error.png"), full_page=True)

        # A real question: stored, pending, listed among "Your questions".
        mine = "How will the council fund the Sunday opening hours?"
        await text_box.fill(mine)
        sent = {
            name: await page.locator(f'#ask-form input[name="{name}"]').get_attribute("value")
            for name in ("form_token", "client_id")
        }
        await page.get_by_role("button", name="Send question").click()
        await expect(page.locator("#form-result")).to_contain_text("waiting for a moderator")
        await expect(page.locator("#mine-list")).to_contain_text(mine)
        await expect(page.locator("#mine-list")).to_contain_text("Waiting for moderation")
        # The same form sent again (a reload, a double tap) does not store it twice.
        again = await page.request.post(
            f"{podium.base_url}{PAGE}/questions", form={**sent, "text": mine}
        )
        assert again.ok and "We already have this question from you" in await again.text()
        assert (await stored_texts(podium)).count(mine) == 1

        # A moderator approves it: after a reload it is listed, marked as the viewer's own.
        moderator = await podium.staff("moderator")
        listed = await moderator.ok("GET", f"/api/v1/events/{EVENT}/moderation/questions")
        own_id = next(q["id"] for q in listed if q["text"] == mine)
        await moderator.ok("POST", f"/api/v1/events/{EVENT}/questions/{own_id}/approve")
        await page.goto(podium.base_url + PAGE)
        own = question_item(page, mine)
        await expect(own).to_contain_text("Your question")
        await expect(own.get_by_role("button")).to_have_count(0)  # no voting on one's own

        # Upvote, then take it back: the count and the pressed state follow, in place.
        quiet_item = page.locator(f"#question-{quiet}")
        await quiet_item.get_by_role("button", name=re.compile("^Upvote, 0")).click()
        await expect(page).to_have_url(re.compile(f"#question-{quiet}$"))
        vote = quiet_item.get_by_role("button", name=re.compile("^Upvoted, 1"))
        await expect(vote).to_have_attribute("aria-pressed", "true")
        await expect(quiet_item.locator(".question__result")).to_have_text("Upvoted.")
        await assert_no_axe_violations(page, "no-JS viewer: upvoted")
        await page.screenshot(path=artefact("no-js-viewer-upvoted.png"), full_page=True)
        await vote.click()
        await expect(
            quiet_item.get_by_role("button", name=re.compile("^Upvote, 0"))
        ).to_have_attribute("aria-pressed", "false")
        await expect(quiet_item.locator(".question__result")).to_have_text("Upvote removed.")
        assert popular  # the other question kept its place and votes
        await expect(page.locator(f"#question-{popular} .vote__count")).to_have_text("2")
        await context.close()


# --- CSRF and rate limits, over plain HTTP as a browser without scripts would post ----------


def form_value(html: str, form_id: str, name: str) -> str:
    form = html[html.index(f'id="{form_id}"') :]
    return re.search(rf'name="{name}" value="([^"]*)"', form).group(1)


async def joined_viewer(podium: Podium) -> tuple[HttpClient, str]:
    """A cookie-holding client that joined through the form; returns it and its page."""
    client = await podium.anonymous()
    _status, html = await client.request("GET", PAGE)
    token = form_value(html, "join-form", "form_token")
    status, html = await client.request(
        "POST", f"{PAGE}/join", data={"form_token": token, "channel": "in_room"}
    )
    assert status == 200 and "ask-form" in html, status
    return client, html


async def test_form_posts_without_the_right_form_token_are_refused_and_change_nothing(podium):
    question_id = await approved_question(podium, "Is the bridge reopening in spring?")
    viewer, html = await joined_viewer(podium)
    form = {"client_id": "a" * 16, "text": "Forged question from another site"}
    for token in (None, "0" * 40):
        data = form if token is None else {**form, "form_token": token}
        status, _body = await viewer.request("POST", f"{PAGE}/questions", data=data)
        assert status == 403
        vote = {"action": "vote"} | ({} if token is None else {"form_token": token})
        status, _body = await viewer.request(
            "POST", f"{PAGE}/questions/{question_id}/vote", data=vote
        )
        assert status == 403
    assert "Forged question from another site" not in await stored_texts(podium)
    public = await (await podium.anonymous()).ok("GET", f"/api/v1/events/{EVENT}/questions")
    assert next(q for q in public if q["id"] == question_id)["votes"] == 0

    # Another viewer's token does not work with this viewer's cookie either.
    _other, other_html = await joined_viewer(podium)
    stolen = form_value(other_html, "ask-form", "form_token")
    assert stolen != form_value(html, "ask-form", "form_token")
    status, _body = await viewer.request(
        "POST", f"{PAGE}/questions", data={**form, "form_token": stolen}
    )
    assert status == 403

    # The join form needs its token too: no viewer (and no cookie) from a forged post.
    stranger = await podium.anonymous()
    status, _body = await stranger.request(
        "POST", f"{PAGE}/join", data={"form_token": "0" * 40, "channel": "remote"}
    )
    assert status == 403
    assert "podium_viewer" not in {cookie.key for cookie in stranger.session.cookie_jar}

    # A post from another origin is refused before any form is read.
    status, _body = await viewer.request(
        "POST",
        f"{PAGE}/questions",
        data={**form, "form_token": form_value(html, "ask-form", "form_token")},
        headers={"Origin": "https://evil.example"},
    )
    assert status == 403
    assert "Forged question from another site" not in await stored_texts(podium)


@ON_SQLITE
async def test_form_questions_share_the_api_rate_limit(database_url, tmp_path: Path):
    async with podium_with(database_url, tmp_path, question_rate_per_minute=2) as podium:
        viewer, html = await joined_viewer(podium)
        token = form_value(html, "ask-form", "form_token")
        statuses = []
        for n in range(3):
            data = {"form_token": token, "client_id": f"rate-limit-{n:04d}", "text": f"Q {n}?"}
            data["anonymous"] = form_value(html, "ask-form", "anonymous")  # joined without a name
            status, body = await viewer.request("POST", f"{PAGE}/questions", data=data)
            statuses.append(status)
        assert statuses == [200, 200, 429], statuses  # 200: the redirect, followed
        assert "going a little fast" in body


# --- light mode -------------------------------------------------------------------------------


async def page_weight(context: BrowserContext, url: str) -> tuple[Page, int]:
    """Bytes the page's load moved over the network (headers and bodies, as DevTools counts)."""
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    await cdp.send("Network.enable")
    sizes: list[int] = []
    cdp.on("Network.loadingFinished", lambda event: sizes.append(int(event["encodedDataLength"])))
    await page.goto(url, wait_until="networkidle")
    return page, sum(sizes)


async def live_hls_room(podium: Podium, data_dir: Path) -> str:
    """Room "main" live on a (short, static) HLS playlist served from the app's media folder."""
    playlist = data_dir / "media" / "light" / "index.m3u8"
    playlist.parent.mkdir(parents=True, exist_ok=True)
    playlist.write_text(  # one listed segment is enough to go live; none needs to play
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nsegment0.ts\n"
    )
    url = f"{podium.base_url}/media/light/index.m3u8"
    admin = await podium.staff("admin")
    main = podium.rooms["main"]
    source = {"role": "primary", "kind": "hls", "url": url, "label": "Main"}
    await admin.ok("PUT", f"/api/v1/events/{EVENT}/rooms/{main}/sources", source)
    await admin.ok("POST", f"/api/v1/events/{EVENT}/rooms/{main}/status", {"status": "live"})
    return url


@ON_SQLITE
@pytest.mark.browser
@NEEDS_CHROMIUM
async def test_light_mode_is_lighter_sound_only_and_the_same_viewer_as_the_live_page(
    podium: Podium, tmp_path: Path
):
    await approved_question(podium, "When does the consultation close?")
    stream = await live_hls_room(podium, tmp_path)
    async with chromium() as browser:
        full_context = await browser.new_context()
        full, full_bytes = await page_weight(full_context, podium.base_url + PAGE)
        await expect(full.locator("#player video")).to_have_count(1)
        # The full page's own audio-only choice: with no sound feed, the HLS stream as sound.
        await full.get_by_role("button", name="Audio only").click()
        await expect(full.locator("#player audio")).to_have_attribute("data-src", stream)
        await expect(full.locator("#player video")).to_have_count(0)

        light_context = await browser.new_context()
        light, light_bytes = await page_weight(light_context, f"{podium.base_url}{PAGE}?light=1")
        print(f"\nviewer page weight: normal {full_bytes} bytes, light {light_bytes} bytes")
        assert light_bytes < full_bytes
        await expect(light.locator("video")).to_have_count(0)
        audio = light.get_by_label("Sound of Main")
        await expect(audio).to_have_attribute("src", stream)
        await expect(audio).to_have_attribute("preload", "none")
        scripts = await light.evaluate("[...document.scripts].map((s) => s.src).filter(Boolean)")
        assert not [s for s in scripts if "socket.io" in s or "viewer.js" in s], scripts
        await light.screenshot(path=artefact("light-mode-viewer.png"), full_page=True)

        # Light mode is remembered (a cookie) until the reader chooses the full page again.
        await light.goto(podium.base_url + PAGE)
        await expect(light.get_by_role("link", name="Full page, with video")).to_be_visible()

        # A viewer who joined on the live page is the same viewer in light mode.
        await full.get_by_text("I'm in the room").click()
        await full.get_by_role("button", name="Join").click()
        await full.get_by_label("Your question", exact=True).fill("Can we get the slides later?")
        await full.get_by_role("button", name="Send question").click()
        await expect(full.locator("#mine-list")).to_contain_text("Waiting for moderation")
        await full.goto(f"{podium.base_url}{PAGE}?light=1")
        await expect(full.locator("#ask-panel")).to_be_visible()
        await expect(full.locator("#mine-list")).to_contain_text("Can we get the slides later?")
        await full.goto(f"{podium.base_url}{PAGE}?light=0")
        await expect(full.locator("#join-panel")).to_be_hidden()
        await expect(full.locator("#connection")).to_contain_text("Live")
