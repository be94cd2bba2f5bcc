"""Every command a client can send, shared by the HTTP API and the socket namespaces.

A command names its input schema, the roles allowed to run it and the use case it calls,
so both transports validate, authorise and dispatch in exactly the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from server import schemas as sc
from server.domain.errors import Forbidden, NotAuthenticated
from server.services import asking, captions, moderation, panel, webcast
from server.services.context import Actor, Services
from server.store.models import EventRow

Run = Callable[[Services, Actor, EventRow, Any], Awaitable[Any]]

VIEWER = frozenset({"viewer"})
MODERATORS = frozenset({"moderator", "admin"})
CHAIRS = frozenset({"chair", "admin"})
STAFF = frozenset({"moderator", "chair", "admin"})
ADMINS = frozenset({"admin"})


@dataclass(frozen=True)
class Command:
    name: str
    schema: type[BaseModel]
    roles: frozenset[str]
    run: Run
    summary: str


def authorize(actor: Actor, roles: frozenset[str], event: EventRow | None = None) -> None:
    """Refuse an actor whose role may not run this, or a viewer of another event."""
    if actor.kind == "public" and "public" not in roles:
        raise NotAuthenticated("please log in or join the event first")
    if actor.role not in roles:
        raise Forbidden(f"a {actor.role} may not do this")
    if actor.kind == "viewer" and event is not None and actor.event_id != event.id:
        raise Forbidden("this viewer token belongs to another event")


async def dispatch(
    services: Services, command: Command, actor: Actor, event: EventRow, payload: Any
) -> Any:
    """Validate `payload`, authorise `actor`, run the use case; raises on any failure."""
    authorize(actor, command.roles, event)
    data = command.schema.model_validate(payload)
    return await command.run(services, actor, event, data)


def _c(name: str, schema: type[BaseModel], roles: frozenset[str], summary: str):
    def register(run: Run) -> Run:
        COMMANDS[name] = Command(name, schema, roles, run, summary)
        return run

    return register


COMMANDS: dict[str, Command] = {}


@_c("submit_question", sc.SubmitQuestion, VIEWER, "Submit a question (idempotent by client_id)")
async def _submit(s, actor, event, d: sc.SubmitQuestion):
    return await asking.submit(s, actor, event, d.client_id, d.text, d.session_id, d.anonymous)


@_c("vote", sc.Vote, VIEWER, "Upvote a question (once per viewer)")
async def _vote(s, actor, event, d: sc.Vote):
    return await asking.vote(s, actor, event, d.question_id, up=True)


@_c("unvote", sc.Vote, VIEWER, "Take back an upvote")
async def _unvote(s, actor, event, d: sc.Vote):
    return await asking.vote(s, actor, event, d.question_id, up=False)


@_c("withdraw_question", sc.QuestionRef, VIEWER, "Withdraw one's own question before the stage")
async def _withdraw(s, actor, event, d: sc.QuestionRef):
    return await asking.withdraw(s, actor, event, d.question_id)


@_c("set_display_name", sc.SetDisplayName, VIEWER, "Set or clear the viewer's display name")
async def _set_name(s, actor, event, d: sc.SetDisplayName):
    return await asking.set_display_name(s, actor, event, d.display_name)


@_c("approve_question", sc.QuestionRef, MODERATORS, "Approve a pending (or rejected) question")
async def _approve(s, actor, event, d: sc.QuestionRef):
    return await moderation.approve(s, actor, event, d.question_id)


@_c("reject_question", sc.Reject, MODERATORS, "Reject a question, with an optional reason code")
async def _reject(s, actor, event, d: sc.Reject):
    return await moderation.reject(s, actor, event, d.question_id, d.reason)


@_c("edit_question", sc.Edit, MODERATORS, "Change a question's wording (original kept)")
async def _edit(s, actor, event, d: sc.Edit):
    return await moderation.edit(s, actor, event, d.question_id, d.text)


@_c("star_question", sc.Star, MODERATORS, "Suggest a question to the chair, or take that back")
async def _star(s, actor, event, d: sc.Star):
    return await moderation.star(s, actor, event, d.question_id, d.starred)


@_c("merge_question", sc.Merge, MODERATORS, "Merge a duplicate into another question")
async def _merge(s, actor, event, d: sc.Merge):
    return await moderation.merge(s, actor, event, d.question_id, d.into_question_id)


@_c("block_viewer", sc.BlockViewer, MODERATORS, "Block (or unblock) a viewer from submitting")
async def _block(s, actor, event, d: sc.BlockViewer):
    return await moderation.set_viewer_blocked(s, actor, event, d.viewer_id, d.blocked)


@_c("queue_question", sc.OnRoom, CHAIRS, "Add an approved question to a stage's running order")
async def _queue(s, actor, event, d: sc.OnRoom):
    return await panel.queue(s, actor, event, d.question_id, d.room_id)


@_c("unqueue_question", sc.QuestionRef, CHAIRS, "Remove a question from the running order")
async def _unqueue(s, actor, event, d: sc.QuestionRef):
    return await panel.unqueue(s, actor, event, d.question_id)


@_c("reorder_question", sc.Reorder, CHAIRS, "Move a queued question to a position (0 = next)")
async def _reorder(s, actor, event, d: sc.Reorder):
    return await panel.reorder(s, actor, event, d.room_id, d.question_id, d.position)


@_c("put_on_stage", sc.OnRoom, CHAIRS, "Show a question on a stage (the previous one: answered)")
async def _stage(s, actor, event, d: sc.OnRoom):
    return await panel.put_on_stage(s, actor, event, d.question_id, d.room_id)


@_c("mark_answered", sc.QuestionRef, CHAIRS, "Mark the question on stage answered")
async def _answered(s, actor, event, d: sc.QuestionRef):
    return await panel.mark_answered(s, actor, event, d.question_id)


@_c("send_back", sc.QuestionRef, CHAIRS, "Take a question off stage, back to the running order")
async def _send_back(s, actor, event, d: sc.QuestionRef):
    return await panel.send_back(s, actor, event, d.question_id)


@_c("forward_question", sc.ForwardQuestion, STAFF, "Hand a question to another session (a panel)")
async def _forward(s, actor, event, d: sc.ForwardQuestion):
    return await webcast.forward_question(s, actor, event, d.question_id, d.session_id)


@_c(
    "set_stream_source", sc.SetStreamSource, ADMINS, "Set a room's primary/backup/audio/interpreter"
)
async def _set_source(s, actor, event, d: sc.SetStreamSource):
    return await webcast.set_source(s, actor, event, d.room_id, d.role, d.kind, d.url, d.label)


@_c("remove_stream_source", sc.RemoveStreamSource, ADMINS, "Remove one of a room's sources")
async def _remove_source(s, actor, event, d: sc.RemoveStreamSource):
    return await webcast.remove_source(s, actor, event, d.room_id, d.role)


@_c(
    "set_stream_status", sc.SetStreamStatus, ADMINS, "Scheduled, starting soon, live, paused, ended"
)
async def _set_status(s, actor, event, d: sc.SetStreamStatus):
    return await webcast.set_status(
        s, actor, event, d.room_id, d.status, d.slate_message, d.recording_url
    )


@_c("switch_stream_source", sc.SwitchStreamSource, ADMINS, "Play the room's primary or backup")
async def _switch(s, actor, event, d: sc.SwitchStreamSource):
    return await webcast.switch_source(s, actor, event, d.room_id, d.active)


@_c("set_now_playing", sc.SetNowPlaying, ADMINS, "Mark the agenda session now playing in a room")
async def _now_playing(s, actor, event, d: sc.SetNowPlaying):
    return await webcast.set_now_playing(s, actor, event, d.room_id, d.session_id, d.auto_advance)


@_c("create_caption_token", sc.CreateCaptionToken, ADMINS, "A token for a room's captioner")
async def _create_caption_token(s, actor, event, d: sc.CreateCaptionToken):
    return await captions.create_token(s, actor, event, d.room_id, d.label)


@_c("revoke_caption_token", sc.RevokeCaptionToken, ADMINS, "Revoke a caption token")
async def _revoke_caption_token(s, actor, event, d: sc.RevokeCaptionToken):
    return await captions.revoke_token(s, actor, event, d.token_id)
