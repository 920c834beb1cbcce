"""The named states the hub stores and compares, as enums instead of bare strings.

`StrEnum` members are `str`s, so they go into and come out of the store as plain text and
compare equal to the text already there.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CandidateStatus", "Decision", "GoldenStatus", "Role", "RunStatus"]


class Role(StrEnum):
    """A hub user's role; each includes the rights of the ones before it."""

    VIEWER = "viewer"
    STEWARD = "steward"
    ADMIN = "admin"


class RunStatus(StrEnum):
    """Where a sync, push or analysis run is: `running` until it ends; `aborted` when its
    process died."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABORTED = "aborted"


class GoldenStatus(StrEnum):
    """A golden record is `active`, `merged` into another, or `retired` (no members left)."""

    ACTIVE = "active"
    MERGED = "merged"
    RETIRED = "retired"


class CandidateStatus(StrEnum):
    """A review-queue pair: `open` to decide, marked `unsure`, or `decided`."""

    OPEN = "open"
    UNSURE = "unsure"
    DECIDED = "decided"

    @classmethod
    def undecided(cls) -> tuple[CandidateStatus, ...]:
        """The statuses still shown in the review queue."""
        return (cls.OPEN, cls.UNSURE)


class Decision(StrEnum):
    """A steward's judgement on a pair (`reset` withdraws an earlier match / no_match)."""

    MATCH = "match"
    NO_MATCH = "no_match"
    UNSURE = "unsure"
    SKIP = "skip"
    RESET = "reset"
