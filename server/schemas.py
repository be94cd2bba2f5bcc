"""Input schemas for every HTTP body and socket event: unknown fields and wrong types fail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from server.domain.agenda_formats import SESSION_KINDS
from server.domain.questions import REJECT_REASONS

# The hard ceiling on any text field; each event sets its own lower question limit.
MAX_TEXT = 5000

Id = Annotated[int, Field(ge=1, le=2**53)]
ClientId = Annotated[
    str, StringConstraints(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
]
Slug = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
]
# No control characters (PostgreSQL cannot store NUL; none belong in a question) except
# line breaks and tabs in longer text.
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
MULTI_LINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
Name = Annotated[str, StringConstraints(max_length=60, pattern=ONE_LINE)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=ONE_LINE)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT, pattern=MULTI_LINE)]
Moment = Annotated[datetime, Field(strict=False)]  # ISO 8601 strings are the JSON form


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Empty(Schema):
    pass


class JoinEvent(Schema):
    display_name: Name | None = None
    channel: Literal["remote", "in_room"] = "remote"
    # Only a country is kept: the one the viewer names, or the one of their time zone.
    country: Annotated[str, StringConstraints(min_length=2, max_length=2)] | None = None
    time_zone: Annotated[str, StringConstraints(max_length=64, pattern=ONE_LINE)] | None = None


class SetDisplayName(Schema):
    display_name: Name | None = None


class SubmitQuestion(Schema):
    client_id: ClientId
    text: Text
    session_id: Id | None = None
    anonymous: bool = False


class QuestionRef(Schema):
    question_id: Id


class Vote(QuestionRef):
    client_id: ClientId | None = None


class Reject(QuestionRef):
    reason: Literal[REJECT_REASONS] | None = None  # type: ignore[valid-type]


class Edit(QuestionRef):
    text: Text


class Star(QuestionRef):
    starred: bool = True


class Merge(QuestionRef):
    into_question_id: Id


class BlockViewer(Schema):
    viewer_id: Id
    blocked: bool = True


class OnRoom(QuestionRef):
    room_id: Id


class Reorder(Schema):
    room_id: Id
    question_id: Id
    position: Annotated[int, Field(ge=0, le=10_000)]


class Sync(Schema):
    since: Annotated[int, Field(ge=0)] | None = None


class Login(Schema):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=ONE_LINE)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class EventFields(Schema):
    title: Title | None = None
    description: Annotated[str, StringConstraints(max_length=2000, pattern=MULTI_LINE)] | None = (
        None
    )
    timezone: Annotated[str, StringConstraints(max_length=64, pattern=ONE_LINE)] | None = None
    auto_approve: bool | None = None
    allow_anonymous: bool | None = None
    max_question_length: Annotated[int, Field(ge=50, le=MAX_TEXT)] | None = None
    retention_days: Annotated[int, Field(ge=0, le=3650)] | None = None
    registration_enabled: bool | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None and value not in available_timezones():
            raise ValueError("unknown time zone")
        return value


class CreateEvent(EventFields):
    slug: Slug
    title: Title


class CreateRoom(Schema):
    slug: Slug
    name: Title


class CreateSession(Schema):
    title: Title
    kind: Literal[SESSION_KINDS]  # type: ignore[valid-type]
    room_id: Id | None = None
    starts_at: Moment
    ends_at: Moment

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _has_zone(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give a time zone offset, e.g. 2026-11-21T09:00:00+00:00")
        return value


class CreateStaff(Schema):
    username: Annotated[
        str, StringConstraints(min_length=2, max_length=64, pattern=r"^[a-z0-9._-]+$")
    ]
    password: Annotated[str, StringConstraints(min_length=10, max_length=256)]
    role: Literal["admin", "moderator", "chair"]
    display_name: Name | None = None


class ListQuestions(Schema):
    sort: Literal["votes", "newest"] = "votes"
    session_id: Id | None = None


class ModerationFilter(Schema):
    state: (
        Literal[
            "pending",
            "approved",
            "queued",
            "on_stage",
            "answered",
            "rejected",
            "withdrawn",
            "merged",
        ]
        | None
    ) = None
    session_id: Id | None = None
    channel: Literal["remote", "in_room"] | None = None
    flagged: bool | None = None
    starred: bool | None = None


class AuditQuery(Schema):
    limit: Annotated[int, Field(ge=1, le=1000)] = 200


Url = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class SetStreamSource(Schema):
    room_id: Id
    role: Literal["primary", "backup", "audio", "interpreter"]
    kind: Literal["hls", "embed", "audio", "webrtc"]
    url: Url
    label: Annotated[str, StringConstraints(max_length=100, pattern=ONE_LINE)] = ""


class RemoveStreamSource(Schema):
    room_id: Id
    role: Literal["primary", "backup", "audio", "interpreter"]


class SetStreamStatus(Schema):
    room_id: Id
    status: Literal["scheduled", "starting_soon", "live", "paused", "ended"]
    slate_message: Annotated[str, StringConstraints(max_length=300, pattern=ONE_LINE)] | None = None
    recording_url: Annotated[str, StringConstraints(max_length=2000)] | None = None


class SwitchStreamSource(Schema):
    room_id: Id
    active: Literal["primary", "backup"]


class SetNowPlaying(Schema):
    room_id: Id
    session_id: Id | None = None
    auto_advance: bool | None = None


class ForwardQuestion(QuestionRef):
    session_id: Id


class WatchRoom(Schema):
    room_id: Id | None = None


class CreateCaptionToken(Schema):
    room_id: Id
    label: Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=ONE_LINE)]


class RevokeCaptionToken(Schema):
    token_id: Id


class PostCaption(Schema):
    text: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class AgendaImport(Schema):
    format: Literal["csv", "frab"]


class Visibility(Schema):
    visible: bool


class CheckIn(Schema):
    room_id: Id


class Register(Schema):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=ONE_LINE)]
    organisation: Annotated[str, StringConstraints(max_length=200, pattern=ONE_LINE)] = ""
    accessibility_needs: Annotated[str, StringConstraints(max_length=2000, pattern=MULTI_LINE)] = ""
    consent: bool


# --- the viewer page's HTML forms (server/http/viewer_forms.py) -----------------------------
# Form fields are text: validate these with strict=False so "12" becomes 12; a checkbox
# sends "on" when ticked and nothing otherwise.

FormToken = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class JoinForm(Schema):
    form_token: FormToken
    channel: Literal["remote", "in_room"]
    display_name: Name | None = None


class AskForm(Schema):
    form_token: FormToken
    client_id: ClientId
    text: Text
    session_id: Id | None = None
    anonymous: Literal["on"] | None = None


class VoteForm(Schema):
    form_token: FormToken
    action: Literal["vote", "unvote"]


class NameForm(Schema):
    form_token: FormToken
    display_name: Name | None = None


class ShareViewerToken(Schema):
    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]
