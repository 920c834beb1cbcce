"""The hub's one notion of time: timezone-aware UTC, with naive values taken as UTC."""

from __future__ import annotations

import datetime as dt

__all__ = ["as_utc", "now"]


def now() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """The moment as timezone-aware UTC; a naive value (SQLite hands them back) is UTC."""
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
