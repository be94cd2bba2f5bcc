"""The one error shape of each transport: {"code", "message", "fields"}."""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from server.domain.errors import DomainError, RateLimited

HTTP_STATUS = {
    "invalid_input": 400,
    "not_authenticated": 401,
    "forbidden": 403,
    "viewer_blocked": 403,
    "csrf_failed": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "source_unhealthy": 400,
    "illegal_transition": 409,
    "conflict": 409,
    "payload_too_large": 413,
    "rate_limited": 429,
    "internal": 500,
}


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "fields": fields or {}}


def describe(error: Exception) -> dict[str, Any] | None:
    """The error body for an expected failure, or None for a bug that must stay hidden."""
    if isinstance(error, ValidationError):
        return error_body("invalid_input", "the request is not valid", _validation_fields(error))
    if isinstance(error, DomainError):
        body = error_body(error.code, error.message, error.fields)
        if isinstance(error, RateLimited):
            body["retry_after"] = math.ceil(error.retry_after * 10) / 10  # never too early
        return body
    return None


def _validation_fields(error: ValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for problem in error.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in problem["loc"]) or "body"
        message = problem["msg"]
        if problem["type"] == "extra_forbidden":
            message = "unknown field"
        fields.setdefault(location, message)
    return fields
