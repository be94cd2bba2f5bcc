"""The JSON API's attendance routes: reach reports, and each viewer's personal data."""

from __future__ import annotations

from aiohttp import web

from server import schemas as sc
from server.app_keys import SERVICES
from server.commands import ADMINS, VIEWER
from server.http.api import api, attachment, guarded, read_json
from server.services import privacy, reports


@api("GET", "/api/v1/events/{slug}/reports", "Reach report: event and each session", ADMINS)
async def report(request: web.Request) -> web.Response:
    _actor, event = await guarded(request, ADMINS)
    return web.json_response(await reports.event_report(request.app[SERVICES], event))


@api("GET", "/api/v1/events/{slug}/reports/aggregates.csv", "Report figures as CSV", ADMINS)
async def report_csv(request: web.Request) -> web.Response:
    _actor, event = await guarded(request, ADMINS)
    text = await reports.aggregates_csv(request.app[SERVICES], event)
    return attachment(text, "text/csv", f"{event.slug}-reach.csv")


@api(
    "GET",
    "/api/v1/events/{slug}/reports/attendance.csv",
    "Attendance intervals (pseudonymous) as CSV",
    ADMINS,
)
async def attendance_csv(request: web.Request) -> web.Response:
    _actor, event = await guarded(request, ADMINS)
    text = await reports.intervals_csv(request.app[SERVICES], event)
    return attachment(text, "text/csv", f"{event.slug}-attendance.csv")


@api(
    "PUT",
    "/api/v1/events/{slug}/viewers/me/registration",
    "Register (name, organisation, accessibility needs) with consent",
    VIEWER,
    body=sc.Register,
)
async def register(request: web.Request) -> web.Response:
    actor, event = await guarded(request, VIEWER)
    data = sc.Register.model_validate(await read_json(request))
    result = await privacy.register(
        request.app[SERVICES],
        actor,
        event,
        data.name,
        data.organisation,
        data.accessibility_needs,
        data.consent,
    )
    return web.json_response(result)


@api("GET", "/api/v1/events/{slug}/viewers/me/data", "Everything held about the viewer", VIEWER)
async def my_data(request: web.Request) -> web.Response:
    actor, event = await guarded(request, VIEWER)
    return web.json_response(
        await privacy.my_data(request.app[SERVICES], actor, event),
        headers={"Content-Disposition": 'attachment; filename="my-podium-data.json"'},
    )


@api("DELETE", "/api/v1/events/{slug}/viewers/me", "Erase the viewer's personal data", VIEWER)
async def erase_me(request: web.Request) -> web.Response:
    actor, event = await guarded(request, VIEWER)
    return web.json_response(await privacy.erase_me(request.app[SERVICES], actor, event))
