"""Personal data as docs/privacy.md promises: registration only with consent, a viewer's own
copy and erasure, the retention purge that leaves only figures, and no IP address anywhere."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from server.store.models import Base, EventRow
from tests.e2e.test_attendance import Watcher, hang_up
from tests.support.clients import EVENT, ViewerClient, client_id

EVENT_API = f"/api/v1/events/{EVENT}"
PAST = "past-event"
PAST_API = f"/api/v1/events/{PAST}"


async def every_stored_string(db) -> dict[str, str]:
    """Each table of the schema, dumped as text: every column of every row."""
    dumped = {}
    async with db.read() as session:
        for table in Base.metadata.sorted_tables:
            rows = (await session.execute(select(table))).all()
            dumped[table.name] = json.dumps([list(row) for row in rows], default=str)
    return dumped


def tables_holding(dumped: dict[str, str], text: str) -> list[str]:
    return sorted(name for name, content in dumped.items() if text in content)


async def join(podium, api: str = EVENT_API, **body) -> ViewerClient:
    """A viewer joining with whatever the join form allows (country, time zone)."""
    viewer = ViewerClient(podium.base_url)
    podium._closers.append(viewer.close)
    joined = await viewer.ok("POST", f"{api}/viewers", body)
    viewer.token, viewer.id = joined["token"], joined["viewer"]["id"]
    viewer.session.headers["Authorization"] = f"Bearer {viewer.token}"
    return viewer


async def register(viewer: ViewerClient, api: str = EVENT_API, **body):
    return await viewer.request("PUT", f"{api}/viewers/me/registration", body)


# --- registration and a viewer's own data -------------------------------------------------------


async def test_registration_needs_an_event_that_asks_for_it_and_the_viewers_consent(podium):
    admin = await podium.staff("admin")
    viewer = await podium.viewer("Rosalind Achebe")
    status, refused = await register(viewer, name="Rosalind Achebe", consent=True)
    assert (status, refused["error"]["code"]) == (400, "invalid_input")

    await admin.ok("PATCH", EVENT_API, {"registration_enabled": True})
    status, refused = await register(viewer, name="Rosalind Achebe", consent=False)
    assert (status, refused["error"]["fields"]) == (400, {"consent": "required"})
    mine = await viewer.ok("GET", f"{EVENT_API}/viewers/me/data")
    assert mine["registration"] is None

    status, registered = await register(
        viewer,
        name="Rosalind Achebe",
        organisation="Harbour Trust",
        accessibility_needs="Live captions",
        consent=True,
    )
    assert status == 200 and registered == {
        "name": "Rosalind Achebe",
        "organisation": "Harbour Trust",
        "accessibility_needs": "Live captions",
        "consent": True,
    }
    mine = await viewer.ok("GET", f"{EVENT_API}/viewers/me/data")
    assert mine["registration"] == registered


async def test_my_data_is_exactly_what_is_held_about_me_and_nothing_of_anyone_else(podium):
    admin, moderator = await podium.staff("admin"), await podium.staff("moderator")
    await admin.ok("PATCH", EVENT_API, {"registration_enabled": True})
    me = await podium.viewer("Ottoline Vasquez")
    await me.ok("PATCH", f"{EVENT_API}/viewers/me", {"display_name": "Ottoline Vasquez"})
    other = await podium.viewer("Bertrand Quill")
    await register(other, name="Bertrand Quill", organisation="Quill & Co", consent=True)
    await register(me, name="Ottoline Vasquez", organisation="Tide Lab", consent=True)
    first = await me.ask("Is the data open?")
    second = await me.ask("Will slides be shared?", anonymous=True)
    theirs = await other.ask("Who funds this?")
    await moderator.ok("POST", f"{EVENT_API}/questions/{theirs['id']}/approve")
    await me.ok("POST", f"{EVENT_API}/questions/{theirs['id']}/vote", {})

    mine = await me.ok("GET", f"{EVENT_API}/viewers/me/data")
    assert mine["event"] == EVENT
    assert {k: mine["viewer"][k] for k in ("id", "display_name", "channel", "country")} == {
        "id": me.id,
        "display_name": "Ottoline Vasquez",
        "channel": "remote",
        "country": None,
    }
    assert mine["registration"] == {
        "name": "Ottoline Vasquez",
        "organisation": "Tide Lab",
        "accessibility_needs": "",
        "consent": True,
    }
    assert sorted(q["id"] for q in mine["questions"]) == sorted([first["id"], second["id"]])
    assert mine["votes"] == [theirs["id"]]
    text = json.dumps(mine)
    for foreign in ("Bertrand", "Quill", "Who funds this?"):
        assert foreign not in text


async def test_erasing_me_forgets_name_country_and_registration_but_not_the_audit_log(podium):
    admin, moderator = await podium.staff("admin"), await podium.staff("moderator")
    await admin.ok("PATCH", EVENT_API, {"registration_enabled": True})
    me = await join(podium, display_name="Ottoline Vasquez", country="PT")
    await register(me, name="Ottoline Vasquez", organisation="Tide Lab", consent=True)
    asked = await me.ask("Is the data open?")
    await moderator.ok("POST", f"{EVENT_API}/questions/{asked['id']}/approve")
    public = await me.ok("GET", f"{EVENT_API}/questions")
    assert [q["author"] for q in public] == ["Ottoline Vasquez"]
    assert (await me.ok("GET", f"{EVENT_API}/viewers/me/data"))["viewer"]["country"] == "PT"
    audit_before = await admin.ok("GET", f"{EVENT_API}/audit")

    assert await me.ok("DELETE", f"{EVENT_API}/viewers/me") == {"erased": True}

    mine = await me.ok("GET", f"{EVENT_API}/viewers/me/data")
    assert (mine["viewer"]["display_name"], mine["viewer"]["country"]) == (None, None)
    assert mine["registration"] is None
    assert [q["id"] for q in mine["questions"]] == [asked["id"]]
    public = await me.ok("GET", f"{EVENT_API}/questions")
    assert [(q["id"], q["text"], q["author"]) for q in public] == [
        (asked["id"], "Is the data open?", None)
    ]
    assert await admin.ok("GET", f"{EVENT_API}/audit") == audit_before
    stored = await every_stored_string(podium.services.db)
    assert tables_holding(stored, "Tide Lab") == []
    assert "Ottoline" not in stored["viewers"] and "Ottoline" not in stored["questions"]


async def test_an_erased_name_is_not_sent_to_a_client_catching_up(podium):
    moderator = await podium.staff("moderator")
    me = await podium.viewer("Ottoline Vasquez")
    asked = await me.ask("Is the data open?")
    await moderator.ok("POST", f"{EVENT_API}/questions/{asked['id']}/approve")
    await me.ok("DELETE", f"{EVENT_API}/viewers/me")
    stage = await podium.live("/stage", {"event": EVENT})
    caught_up = await stage.ok("sync", {"since": 0})  # a catch-up, or a fresh snapshot
    assert [q["author"] for q in caught_up.get("questions", [])] in ([], [None])
    assert "Ottoline" not in json.dumps(caught_up)


# --- the retention purge ----------------------------------------------------------------------


async def past_event_with_personal_data(podium) -> dict:
    """An event whose only session ended yesterday, kept for 0 days, with viewers who named
    themselves, registered, asked, voted, watched and checked in."""
    admin, moderator = await podium.staff("admin"), await podium.staff("moderator")
    await admin.ok(
        "POST",
        "/api/v1/events",
        {"slug": PAST, "title": "Past", "retention_days": 0, "registration_enabled": True},
    )
    hall = (await admin.ok("POST", f"{PAST_API}/rooms", {"slug": "hall", "name": "Hall"}))["id"]
    yesterday = datetime.now(UTC) - timedelta(days=1)
    await admin.ok(
        "POST",
        f"{PAST_API}/sessions",
        {
            "title": "Yesterday",
            "kind": "keynote",
            "room_id": hall,
            "starts_at": yesterday.isoformat(),
            "ends_at": (yesterday + timedelta(hours=1)).isoformat(),
        },
    )
    names = ["Wilhelmina Zabarte", "Cosimo Ferlinghetti"]
    for n, name in enumerate(names):
        country = "NZ" if n else None  # the first one's comes from the time zone: PT
        viewer = await join(
            podium, PAST_API, display_name=name, country=country, time_zone="Europe/Lisbon"
        )
        await register(viewer, PAST_API, name=name, organisation="Orchid Works", consent=True)
        question = await viewer.ok(
            "POST", f"{PAST_API}/questions", {"client_id": client_id(), "text": "Why now?"}
        )
        await moderator.ok("POST", f"{PAST_API}/questions/{question['id']}/approve")
        watcher = Watcher(podium.base_url, viewer.token, viewer.id)
        await watcher.connect()
        await watcher.ok("check_in", {"room_id": hall})
        await watcher.watch(hall)
        await asyncio.sleep(1.1)
        await watcher.beat()
        if n == 0:
            await watcher.watch(None)
            await hang_up(podium, watcher)
        # The other one is still watching at the purge.
    keeper = await podium.viewer("Keeper Of Records")
    await keeper.ask("Still here?")
    return {"names": names, "organisation": "Orchid Works", "admin": admin, "watcher": watcher}


async def purge_with_the_cli(podium) -> str:
    env = {
        **os.environ,
        "PODIUM_DATA_DIR": podium.settings.data_dir,
        "PODIUM_DATABASE_URL": podium.settings.database_url,
        "PODIUM_LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "purge",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, output
    return output.decode()


def figures(report: dict) -> dict:
    return {key: value for key, value in report.items() if key != "generated_at"}


async def test_the_retention_purge_keeps_every_figure_forgets_every_person_and_runs_once(podium):
    past = await past_event_with_personal_data(podium)
    admin = past["admin"]
    await asyncio.sleep(podium.settings.heartbeat_flush_seconds + 0.5)  # last beats stored
    before = await admin.ok("GET", f"{PAST_API}/reports")
    csv_before = await admin.ok("GET", f"{PAST_API}/reports/aggregates.csv")
    assert before["report"]["unique_viewers"] == 2 and before["report"]["in_room_check_ins"] == 2

    assert "purged 1 event(s)" in await purge_with_the_cli(podium)

    after = await admin.ok("GET", f"{PAST_API}/reports")
    for key in ("report", "series", "sessions"):
        assert after[key] == before[key], (key, before[key], after[key])
    assert await admin.ok("GET", f"{PAST_API}/reports/aggregates.csv") == csv_before
    async with podium.services.db.read() as session:
        events = {e.slug: e for e in (await session.execute(select(EventRow))).scalars()}
    assert events[PAST].purged_at is not None and events[PAST].attendance_salt is None
    assert events[EVENT].purged_at is None  # its agenda is still to come
    public = await admin.ok("GET", f"{PAST_API}/questions")
    assert [q["author"] for q in public] == [None, None]
    stored = await every_stored_string(podium.services.db)
    assert "Keeper Of Records" in stored["viewers"]  # the other event keeps its people
    for personal in (*past["names"], past["organisation"]):
        for table in ("viewers", "questions", "registrations", "attendance_intervals"):
            assert personal not in stored[table], (personal, table)
    # Countries stay only as figures, on the unlinkable intervals; the viewers lose them.
    assert '"NZ"' not in stored["viewers"] and '"PT"' not in stored["viewers"]
    assert '"NZ"' in stored["attendance_intervals"]

    assert "nothing to purge" in await purge_with_the_cli(podium)
    assert await every_stored_string(podium.services.db) == stored
    await hang_up(podium, past["watcher"])


async def test_after_the_retention_purge_no_table_holds_any_personal_string(podium):
    past = await past_event_with_personal_data(podium)
    await purge_with_the_cli(podium)
    await hang_up(podium, past["watcher"])
    stored = await every_stored_string(podium.services.db)
    for personal in (*past["names"], past["organisation"]):
        assert tables_holding(stored, personal) == [], personal


async def test_no_table_ever_stores_the_client_ip_address(podium):
    past = await past_event_with_personal_data(podium)
    await hang_up(podium, past["watcher"])
    await podium.staff("chair")
    viewer = await podium.viewer("Ada", channel="in_room")
    await viewer.ask("Where is the exit?")
    await viewer.ok("GET", f"{EVENT_API}/viewers/me/data")
    stored = await every_stored_string(podium.services.db)
    assert stored["attendance_intervals"] != "[]" and stored["staff_sessions"] != "[]"
    assert tables_holding(stored, "127.0.0.1") == []
