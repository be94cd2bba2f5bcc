"""Errors the domain and services raise; transports map each to a stable error code."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: `code` is stable and machine-readable, the message is for people."""

    code = "domain_error"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class IllegalTransition(DomainError):
    code = "illegal_transition"

    def __init__(self, action: str, state: str) -> None:
        super().__init__(f"cannot {action} a question that is {state}")
        self.action = action
        self.state = state


class InvalidInput(DomainError):
    code = "invalid_input"


class NotFound(DomainError):
    code = "not_found"


class NotAuthenticated(DomainError):
    code = "not_authenticated"


class Forbidden(DomainError):
    code = "forbidden"


class Conflict(DomainError):
    """Someone else changed the thing first; reload and try again."""

    code = "conflict"


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ViewerBlocked(DomainError):
    code = "viewer_blocked"
