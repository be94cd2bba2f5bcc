"""What every use case is handed: who is acting, and the shared parts of the app."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp

from server.services.ratelimit import RateLimiter
from server.settings import Settings
from server.store.database import Database

if TYPE_CHECKING:
    from server.services.live_state import LiveState

STAFF_ROLES = ("admin", "moderator", "chair")


@dataclass(frozen=True)
class Actor:
    """The caller of a use case, as established by the transport's authentication."""

    kind: str  # "staff", "viewer", "public" or "system"
    id: int | None
    name: str
    role: str  # a staff role, "viewer" or "public"
    event_id: int | None = None  # the event a viewer belongs to

    @classmethod
    def public(cls) -> Actor:
        return cls(kind="public", id=None, name="public", role="public")

    @classmethod
    def system(cls) -> Actor:
        return cls(kind="system", id=None, name="Podium", role="system")


class Publisher(Protocol):
    """Delivers committed changes to connected clients, in the order it is handed them."""

    def publish(self, event_id: int, stream: str, entries: list[dict[str, Any]]) -> None: ...

    def notify_viewer(self, viewer_id: int, payload: dict[str, Any]) -> None: ...

    def to_room(self, namespaces: tuple[str, ...], room: str, name: str, payload: Any) -> None:
        """An unnumbered push (captions, viewer counts), still in this one ordered path."""
        ...


class VoteTallyMarker(Protocol):
    def mark(self, event_id: int, question_id: int) -> None: ...


@dataclass
class Services:
    settings: Settings
    db: Database
    publisher: Publisher
    tally: VoteTallyMarker
    # For checking stream sources (HLS playlists); None where nothing checks them.
    http: aiohttp.ClientSession | None = None
    # What viewers are sent on connecting, kept in memory; None reads the database each time.
    live: LiveState | None = None
    question_limiter: RateLimiter = field(init=False)
    vote_limiter: RateLimiter = field(init=False)
    login_limiter: RateLimiter = field(init=False)
    caption_limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.question_limiter = RateLimiter(self.settings.question_rate_per_minute, "questions")
        self.vote_limiter = RateLimiter(self.settings.vote_rate_per_minute, "votes")
        self.login_limiter = RateLimiter(self.settings.login_rate_per_minute, "login attempts")
        self.caption_limiter = RateLimiter(self.settings.caption_rate_per_minute, "caption lines")
