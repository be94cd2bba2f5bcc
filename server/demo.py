"""The demo event: a community-engagement conference day with sample questions."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server.services import asking, auth, catalog, moderation, panel, webcast
from server.services.context import Actor, Services
from server.store import webcast as webcast_store

EVENT_SLUG = "safer-communities-2026"
TIMEZONE = "Europe/London"

AGENDA = (  # (start, minutes, title, kind, room slug)
    ("08:30", 60, "Registration and coffee", "break", None),
    ("09:30", 45, "Keynote: Policing with consent in 2026", "keynote", "main-hall"),
    ("10:30", 75, "Workshop A: Neighbourhood policing and trust", "workshop", "room-a"),
    ("10:30", 75, "Workshop B: Youth voice and violence prevention", "workshop", "room-b"),
    ("12:00", 60, "Lunch and unconference pitches", "unconference", "main-hall"),
    ("13:00", 60, "Panel of experts: questions from the workshops", "panel", "main-hall"),
    ("14:15", 30, "Community Champion award", "other", "main-hall"),
    ("14:45", 30, "Closing Q&A", "panel", "main-hall"),
)

QUESTIONS = (  # (author or None, text, session title prefix, what happens to it)
    (
        "Amira",
        "How will neighbourhood teams be protected from being pulled into response "
        "work when demand spikes?",
        "Workshop A",
        "queue",
    ),
    (
        None,
        "What does meaningful youth involvement look like beyond one-off consultations?",
        "Workshop B",
        "approve",
    ),
    ("Dafydd", "Will the recommendations from today be published, and when?", None, "approve"),
    (
        "Grace",
        "Can rural communities get the same response times as cities?",
        "Workshop A",
        "pending",
    ),
    (None, "How are deaf residents able to report non-emergency crime?", None, "pending"),
)


async def seed(services: Services, test_streams: bool = False) -> dict[str, Any]:
    """Create the demo event, staff and questions; return what `podium demo` prints.

    With `test_streams`, the main hall plays the local ffmpeg test streams (primary and
    backup) and is live; otherwise it shows how a room looks before its stream is set up.
    """
    system = Actor.system()
    credentials = {
        role: f"demo-{role}-{secrets.token_hex(4)}" for role in ("admin", "moderator", "chair")
    }
    for role, password in credentials.items():
        await auth.create_staff_user(
            services, f"demo-{role}", password, role, f"Demo {role.title()}"
        )
    event_fields = {
        "slug": EVENT_SLUG,
        "title": "Safer Communities 2026: National Policing & Community Engagement Conference",
        "description": "Keynotes, workshops and a panel of experts taking the questions that "
        "stem from the workshops. Ask from the room or from anywhere in the world.",
        "timezone": TIMEZONE,
        "auto_approve": False,
        "allow_anonymous": True,
        "max_question_length": 280,
    }
    await catalog.create_event(services, system, event_fields)
    event = await catalog.event_by_slug(services, EVENT_SLUG)
    rooms = {}
    for slug, name in (
        ("main-hall", "Main hall"),
        ("room-a", "Workshop room A"),
        ("room-b", "Workshop room B"),
    ):
        rooms[slug] = (await catalog.add_room(services, system, event, slug, name))["id"]
    sessions = {}
    # The day is laid out so that the keynote is on now, whenever the demo is started.
    now = datetime.now(ZoneInfo(TIMEZONE)).replace(second=0, microsecond=0)
    keynote = datetime.combine(now.date(), time.fromisoformat(AGENDA[1][0]), ZoneInfo(TIMEZONE))
    shift = now - timedelta(minutes=now.minute % 15 + 15) - keynote
    for start, minutes, title, kind, room in AGENDA:
        starts = datetime.combine(now.date(), time.fromisoformat(start), ZoneInfo(TIMEZONE)) + shift
        item = await catalog.add_session(
            services,
            system,
            event,
            {
                "title": title,
                "kind": kind,
                "room_id": rooms.get(room),
                "starts_at": starts.astimezone(UTC),
                "ends_at": (starts + timedelta(minutes=minutes)).astimezone(UTC),
            },
        )
        sessions[title] = item["id"]
    moderator = Actor(kind="system", id=None, name="Demo Moderator", role="moderator")
    for number, (name, text, session_prefix, fate) in enumerate(QUESTIONS):
        joined = await asking.join(services, event, name, "remote" if number % 2 else "in_room")
        viewer = Actor(
            kind="viewer",
            id=joined["viewer"]["id"],
            name="viewer",
            role="viewer",
            event_id=event.id,
        )
        session_id = next(
            (
                sid
                for title, sid in sessions.items()
                if session_prefix and title.startswith(session_prefix)
            ),
            None,
        )
        question = await asking.submit(
            services,
            viewer,
            event,
            f"demo-question-{number}",
            text,
            session_id,
            anonymous=name is None,
        )
        if fate in ("approve", "queue"):
            await moderation.approve(services, moderator, event, question["id"])
        if fate == "queue":
            await panel.queue(services, moderator, event, question["id"], rooms["main-hall"])
    if test_streams:
        await _attach_test_streams(services, event, rooms["main-hall"])
    return {"event": event, "rooms": rooms, "credentials": credentials}


async def _attach_test_streams(services: Services, event, room_id: int) -> None:
    base = services.settings.effective_public_url
    organiser = Actor(kind="system", id=None, name="Demo organiser", role="admin")
    for role in ("primary", "backup"):
        name = "main" if role == "primary" else "backup"
        await webcast.set_source(
            services,
            organiser,
            event,
            room_id,
            role,
            "hls",
            f"{base}/media/demo/{name}/index.m3u8",
            f"Test pattern ({role})",
        )
    # The playlists appear only once ffmpeg has written its first segments, after the
    # server is up; the demo room is marked live directly rather than through the check.
    async with services.db.write(event.id) as work:
        await webcast_store.mark_live(work.session, room_id)
        primary = await webcast_store.source(work.session, room_id, "primary")
        await webcast_store.begin_stream_period(work.session, room_id, primary, datetime.now(UTC))
