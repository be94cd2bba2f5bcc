"""The one error this package raises for a source that cannot be played."""

from __future__ import annotations


class InvalidSource(ValueError):
    """An organiser's stream source is unusable; `field` names the input at fault."""

    def __init__(self, message: str, *, field: str = "url") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
