"""What steward operations refuse with; the API maps each to one HTTP status."""

from __future__ import annotations

__all__ = ["Conflict", "InvalidInput", "NotFound", "StewardError"]


class StewardError(Exception):
    """A steward operation that cannot be done as asked; the message says what to do."""

    status = 400


class InvalidInput(StewardError):
    status = 422


class NotFound(StewardError):
    status = 404


class Conflict(StewardError):
    """Someone changed the same record first (optimistic locking): reload and retry."""

    status = 409
