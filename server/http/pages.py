"""Server-rendered pages (Jinja2); the live parts are in client_static/js."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
import segno
from aiohttp import web

from server import i18n
from server.app_keys import SERVICES, SETTINGS
from server.domain.errors import DomainError, NotFound
from server.http import join_links
from server.http.auth import staff_session
from server.http.middleware import build_csp
from server.i18n import gettext as _
from server.services import catalog
from streams.embeds import frame_origins

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
TEMPLATES = web.AppKey("templates", jinja2.Environment)
routes = web.RouteTableDef()


def template_environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        enable_async=True,
    )
    i18n.install(environment)
    return environment


async def render(
    request: web.Request,
    template: str,
    title: str,
    *,
    status: int = 200,
    csp: str | None = None,
    **context: Any,
) -> web.Response:
    found = await staff_session(request)
    user = None
    if found:
        actor, csrf = found
        user = {"id": actor.id, "display_name": actor.name, "role": actor.role}
    config = {
        "event_slug": None,
        "csrf_token": found[1] if found else None,
        "api": "/api/v1",
        "heartbeat_seconds": request.app[SETTINGS].heartbeat_seconds,
    }
    config.update(context.pop("config", {}))
    event = context.pop("event", None)
    if event is not None:
        config["event_slug"] = event["slug"]
    html = (
        await request.app[TEMPLATES]
        .get_template(template)
        .render_async(
            page_title=title,
            config=config,
            user=user,
            event=event,
            static="/static",
            **i18n.template_context(request, template),
            **context,
        )
    )
    response = web.Response(text=html, content_type="text/html", status=status)
    if csp is not None:
        response.headers["Content-Security-Policy"] = csp
    return response


async def _stream_csp(request: web.Request, event: dict[str, Any]) -> str:
    """A CSP allowing the origins of the event's stream sources and the embed players."""
    services = request.app[SERVICES]
    origins = await catalog.stream_origins(services, event["id"])
    return build_csp(stream_origins=origins, frame_origins=tuple(sorted(frame_origins())))


async def _event(request: web.Request) -> dict[str, Any]:
    services = request.app[SERVICES]
    event = await catalog.event_by_slug(services, request.match_info["slug"])
    return await catalog.get_event_detail(services, event)


async def _event_and_room(request: web.Request) -> tuple[dict[str, Any], dict[str, Any]]:
    """The event's detail and its room named by the path's {room_id}."""
    event = await _event(request)
    room_id = int(request.match_info["room_id"])
    room = next((r for r in event["rooms"] if r["id"] == room_id), None)
    if room is None:
        raise NotFound("this event has no such room")
    return event, room


async def _require_staff(request: web.Request, roles: set[str]) -> None:
    found = await staff_session(request)
    if found is None:
        raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs)}")
    if found[0].role not in roles:
        raise web.HTTPForbidden(text=_("Your role cannot open this page."))


@web.middleware
async def page_errors_middleware(request: web.Request, handler):
    """Pages answer with a friendly page, never a stack trace."""
    if request.path.startswith(("/api/", "/socket.io", "/static/")):
        return await handler(request)
    try:
        return await handler(request)
    except NotFound:
        return await render(
            request,
            "error.html",
            _("Not found"),
            status=404,
            status_code=404,
            message=_("There is no event or room at this address. Check the link you followed."),
        )
    except DomainError as error:
        return await render(
            request,
            "error.html",
            _("Error"),
            status=400,
            status_code=400,
            message=_(error.message),  # in the reader's language when the catalogue has it
        )
    except web.HTTPForbidden as refused:
        return await render(
            request,
            "error.html",
            _("Not allowed"),
            status=403,
            status_code=403,
            message=refused.text or _("You cannot open this page."),
        )
    except web.HTTPNotFound:
        return await render(
            request,
            "error.html",
            _("Not found"),
            status=404,
            status_code=404,
            message=_("There is no page at this address."),
        )


@routes.get("/")
async def index(request: web.Request) -> web.Response:
    events = await catalog.list_events(request.app[SERVICES])
    return await render(request, "index.html", "Podium", events=events)


@routes.get("/login")
async def login_page(request: web.Request) -> web.Response:
    next_url = request.query.get("next", "/")
    if not _is_local_path(next_url):
        next_url = "/"  # never redirect off-site after login
    return await render(request, "login.html", _("Staff login"), config={"next": next_url})


def _is_local_path(url: str) -> bool:
    """True for "/path?query" on this site; browsers read "/\\host" and "/\t/host" as "//host"."""
    if any(char in url for char in "\\\t\r\n") or not url.startswith("/"):
        return False
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and not url.startswith("//")


# The viewer page, /e/{slug}, is in viewer_page.py; the forms it posts in viewer_forms.py.


@routes.get("/e/{slug}/moderate")
async def moderator_page(request: web.Request) -> web.Response:
    await _require_staff(request, {"moderator", "admin"})
    event = await _event(request)
    return await render(
        request, "moderator.html", _("Moderate · %(event)s", event=event["title"]), event=event
    )


@routes.get("/e/{slug}/chair")
async def chair_page(request: web.Request) -> web.Response:
    await _require_staff(request, {"chair", "admin"})
    event = await _event(request)
    room_id = request.query.get("room", "")
    config = {"room_id": int(room_id) if room_id.isascii() and room_id.isdigit() else None}
    return await render(
        request,
        "chair.html",
        _("Chair · %(event)s", event=event["title"]),
        event=event,
        config=config,
    )


@routes.get("/e/{slug}/stage/{room_id:\\d+}")
async def stage_page(request: web.Request) -> web.Response:
    return await _stage(request, overlay=False)


@routes.get("/e/{slug}/overlay/{room_id:\\d+}")
async def overlay_page(request: web.Request) -> web.Response:
    return await _stage(request, overlay=True)


async def _stage(request: web.Request, overlay: bool) -> web.Response:
    event, room = await _event_and_room(request)
    room_id = room["id"]
    config = {"room_id": room_id, "overlay": overlay}
    title = (_("Overlay · %(room)s") if overlay else _("Stage · %(room)s")) % {"room": room["name"]}
    join = join_links.join_link(request, event["slug"])
    return await render(
        request, "stage.html", title, event=event, room=room, overlay=overlay, config=config,
        join=join,
    )  # fmt: skip


@routes.get("/admin")
async def admin_page(request: web.Request) -> web.Response:
    await _require_staff(request, {"admin"})
    events = await catalog.list_events(request.app[SERVICES])
    for item in events:
        item["join"] = join_links.join_link(request, item["slug"])
    return await render(request, "admin.html", _("Organiser"), events=events)


@routes.get("/e/{slug}/webcast")
async def webcast_console(request: web.Request) -> web.Response:
    await _require_staff(request, {"admin"})
    event = await _event(request)
    csp = await _stream_csp(request, event)
    return await render(
        request,
        "webcast.html",
        _("Webcast · %(event)s", event=event["title"]),
        event=event,
        csp=csp,
    )


@routes.get("/e/{slug}/golive/{room_id:\\d+}")
async def go_live_page(request: web.Request) -> web.Response:
    """Publish this laptop's camera, microphone or screen to a room over WHIP."""
    await _require_staff(request, {"admin"})
    event, room = await _event_and_room(request)
    room_id = room["id"]
    return await render(
        request,
        "golive.html",
        _("Go live · %(room)s", room=room["name"]),
        event=event,
        room=room,
        config={"room_id": room_id},
    )


@routes.get("/caption")
async def captioner_page(request: web.Request) -> web.Response:
    return await render(request, "captioner.html", _("Live captions"))


@routes.get("/e/{slug}/qr.svg")
async def join_qr_code(request: web.Request) -> web.Response:
    """A QR code for the viewer page (or, with ?room=, the room's check-in page)."""
    services = request.app[SERVICES]
    event = await catalog.event_by_slug(services, request.match_info["slug"])
    room = request.query.get("room", "")
    path = f"/e/{event.slug}"
    if room.isascii() and room.isdigit():
        path += f"/checkin/{int(room)}"
    url = services.settings.effective_public_url + path
    buffer = io.BytesIO()  # a standalone SVG document (with its namespace) for <img>
    segno.make(url, error="m").save(buffer, kind="svg", scale=8, dark="#0b1220", light="#ffffff")
    return web.Response(
        body=buffer.getvalue(),
        content_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=300"},
    )


@routes.get("/e/{slug}/checkin/{room_id:\\d+}")
async def check_in_page(request: web.Request) -> web.Response:
    event, room = await _event_and_room(request)
    room_id = room["id"]
    return await render(
        request,
        "checkin.html",
        _("Check in · %(room)s", room=room["name"]),
        event=event,
        room=room,
        config={"room_id": room_id},
    )


@routes.get("/e/{slug}/reports")
async def reports_page(request: web.Request) -> web.Response:
    await _require_staff(request, {"admin"})
    event = await _event(request)
    return await render(
        request, "reports.html", _("Reach · %(event)s", event=event["title"]), event=event
    )


@routes.get("/e/{slug}/privacy")
async def viewer_privacy_page(request: web.Request) -> web.Response:
    event = await _event(request)
    return await render(
        request, "privacy.html", _("Your data · %(event)s", event=event["title"]), event=event
    )
