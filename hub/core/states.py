"""The named states the hub stores and compares, as enums instead of bare strings.

`StrEnum` members are `str`s, so they go into and come out of the store as plain text and
compare equal to the text already there.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Role"]


class Role(StrEnum):
    """A hub user's role; each includes the rights of the ones before it."""

    VIEWER = "viewer"
    STEWARD = "steward"
    ADMIN = "admin"
