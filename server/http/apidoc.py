"""Writes docs/api.md from the route table, the command table and the schemas.

Run `python -m server.http.apidoc > docs/api.md`; a test fails when the file is stale.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel

from server import schemas as sc
from server.commands import COMMANDS
from server.errors import HTTP_STATUS
from server.http.api import API_ROUTES
from server.realtime.namespaces import (
    ChairNamespace,
    ModeratorNamespace,
    ViewerNamespace,
)

INTRO = """# Podium API

Everything a client can do, over HTTP (JSON under `/api/v1/`, described for tools in
`/api/openapi.json`) and over Socket.IO (one namespace per audience). This file is generated
by `python -m server.http.apidoc > docs/api.md` from the same tables the server runs on.

## Authentication

- **Staff** log in with `POST /api/v1/auth/login`; the answer sets an HttpOnly, SameSite=Strict
  `podium_session` cookie and returns a `csrf_token`. Every state-changing staff request sends
  it back in the `X-CSRF-Token` header. Requests from origins not in `allowed_origins` are refused.
- **Viewers** join with `POST /api/v1/events/{slug}/viewers` and receive a signed token. Send it as
  `Authorization: Bearer <token>` over HTTP, or as `auth: {token}` when connecting to `/viewer`.
- The stage screen needs no login: it only sees what the public sees.

## Errors

One shape on each transport. HTTP answers with a 4xx/5xx status and
`{"error": {"code": "...", "message": "...", "fields": {"field": "problem"}}}`; a socket
command acknowledges with `{"ok": false, "error": {"code", "message", "fields"}}` (and success
with `{"ok": true, "data": ...}`). `rate_limited` errors add `retry_after` (seconds).
Nothing is changed by a request that fails.

| code | HTTP status |
|---|---|
"""

REALTIME = r"""
## Socket.IO

Connect with the Socket.IO client (v4 protocol) at path `/socket.io/`:

| namespace | who | `auth` when connecting | stream received |
|---|---|---|---|
| `/viewer` | a viewer | `{"token": "<viewer token>"}` | public, plus `mine` |
| `/moderator` | moderator, admin (session cookie) | `{"event": "<slug>"}` | staff |
| `/chair` | chair, admin (session cookie) | `{"event": "<slug>"}` | staff |
| `/stage` | anyone | `{"event": "<slug>"}`, optionally `"room": <id>` for its captions | public |
| `/captioner` | a captioner | `{"token": "cap_..."}` | none: it sends `caption` `{"text"}` |

A refused connection carries `{"code", "message"}` as its data. On `/captioner`, `room` `{}`
answers `{"id", "name", "whep"}`: the token's room and its low-delay (WHEP) address.

### Keeping in step

1. After connecting, call `sync` with `{}` (first time) or `{"since": <last seq seen>}`.
2. The answer is either `{"mode": "snapshot", "seq", "event", "questions", "stages", ...}`
   (staff snapshots add `running_orders`; viewer answers add `mine`, `my_votes`, `viewer`), or
   `{"mode": "catchup", "seq", "entries": [...]}` with exactly the updates missed, in order.
   A snapshot is sent instead when the gap is longer than `catchup_max_entries`.
3. The server pushes `update` events `{"seq": n, "type": ...}`. Sequence numbers are per event
   and per stream, without gaps. Buffer updates that arrive before the `sync` answer; ignore
   any with `seq` at or below what you have; on a gap, call `sync` again with `since`.
   Every update carries whole objects, so applying one twice is harmless.

| `type` | fields | meaning |
|---|---|---|
| `question` | `question`, `causes` | upsert this question (public or staff view); `causes`: |
|  |  | the domain events behind it, e.g. `QuestionApproved` |
| `question_removed` | `question_id` | (public) no longer public: rejected, withdrawn, merged |
| `votes` | `votes: [{"id", "votes"}]` | new vote counts, coalesced a few times a second |
| `stage` | `room_id`, `question` | what the stage of a room shows now (`null`: nothing) |
| `running_order` | `room_id`, `question_ids` | (staff) the running order of a stage, next first |
| `viewer` | `viewer_id`, `blocked` | (staff) a viewer was blocked or unblocked |
| `event` | `event` | the event's settings, rooms or agenda changed: its whole detail |
| `room` | `room` | a room's webcast changed: source, status, slate, now/next, captions |

Snapshots also carry `rooms` (`{room id: room view}`), and staff snapshots `viewer_counts`.
Staff room views add `sources` (with their health) and `auto_advance`.

### Watching, attendance and captions (`/viewer`)

| event | payload | answer |
|---|---|---|
| `watch_room` | `{"room_id": id or null}` | `{"room", "captions"}`; starts a watch |
| `visibility` | `{"visible": bool}` | a hidden tab's time is not watch time |
| `heartbeat` | `{}` | every `heartbeat_seconds` while watching; written in batches |
| `check_in` | `{"room_id"}` | an in-room delegate scanned the stage QR code |

`watch_room` with `null` is a goodbye. While watching a room (and on `/stage` with a
`room`), clients receive `caption` events `{"room_id", "seq", "text", "at"}`; `seq` rises
by one per room. Staff namespaces receive `viewer_counts` `{"rooms": {room id: watchers}}`
when the counts change. A connection that drops without a goodbye ends its watch at its last
heartbeat.

Viewers also receive `mine` events, `{"type": "mine", "question": <author view>}`, whenever one
of their own questions changes, in any state, and a `viewer` event (`{"id", "display_name",
"channel", "blocked"}`) when a moderator blocks or unblocks them.

### Question views

- public: `id, text, author (null when anonymous), session_id, forwarded_from_session_id,
  state, votes, stage_room_id,
  created_at`
- author (`mine`): public view plus `client_id, reject_reason, merged_into_id`, in every state
  (`pending, approved, queued, on_stage, answered, rejected, withdrawn, merged`)
- staff: public view plus `viewer_id, channel, original_text, flags, starred, reject_reason,
  merged_into_id, version, updated_at` (a queued question's place: `running_order` updates)

### Commands

Send with an acknowledgement callback: `socket.emit(name, payload, ack)`. The same commands
exist over HTTP (routes above), with the same payloads and results.
"""


def _fields(schema: type[BaseModel], skip: tuple[str, ...] = ()) -> str:
    described = []
    properties = schema.model_json_schema().get("properties", {})
    required = set(schema.model_json_schema().get("required", []))
    for name, prop in properties.items():
        if name in skip:
            continue
        kind = _type_of(prop)
        described.append(f"`{name}`{'' if name in required else '?'}: {kind}")
    return ", ".join(described) or "—"


def _type_of(prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return " \\| ".join(json.dumps(v) for v in prop["enum"])
    if "anyOf" in prop:
        return " \\| ".join(_type_of(p) for p in prop["anyOf"])
    kind = prop.get("type", "any")
    if prop.get("format") == "date-time":
        kind = "ISO 8601 date-time"
    bounds = [
        f"{k} {prop[k]}"
        for k in ("minimum", "maximum", "maxLength")
        if k in prop and prop[k] != 2**53
    ]
    return kind + (f" ({', '.join(bounds)})" if bounds else "")


def render() -> str:
    lines = [INTRO.rstrip("\n")]
    lines += [f"| `{code}` | {status} |" for code, status in HTTP_STATUS.items()]
    lines += [
        "",
        "## HTTP routes",
        "",
        "| method | path | who | body / query | what |",
        "|---|---|---|---|---|",
    ]
    for route in API_ROUTES:
        who = ", ".join(sorted(route.roles)) if len(route.roles) < 5 else "anyone"
        in_path = tuple(re.findall(r"{(\w+)}", route.path))
        payload = _fields(route.body, skip=in_path) if route.body else ""
        if route.query:
            payload = "query: " + _fields(route.query)
        lines.append(f"| {route.method} | `{route.path}` | {who} | {payload} | {route.summary} |")
    lines.append("| GET | `/healthz` | anyone | | 200 when up and the database answers |")
    lines.append("| GET | `/api/openapi.json` | anyone | | this API as OpenAPI 3.1 |")
    lines.append(REALTIME.rstrip("\n"))
    lines += ["", "| event | namespaces | payload | what |", "|---|---|---|---|"]
    lines.append(f"| `sync` | all | {_fields(sc.Sync)} | catch up or get a snapshot |")
    spaces = {
        "/viewer": ViewerNamespace,
        "/moderator": ModeratorNamespace,
        "/chair": ChairNamespace,
    }
    for name, command in COMMANDS.items():
        where = ", ".join(f"`{ns}`" for ns, cls in spaces.items() if name in cls.commands)
        lines.append(f"| `{name}` | {where} | {_fields(command.schema)} | {command.summary} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
