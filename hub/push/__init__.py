"""Push-back (reverse sync): write golden ids and corrected contact data into each system.

`build_plan` decides what would change (per-field policies, only changes, no echoes);
`push` sends it through the system's writer with retries, rate limits, per-record failure
tracking and run history. `crmhub push [--connector NAME] [--dry-run]` is the CLI.
"""

from __future__ import annotations

from hub.push.plan import Change, Plan, PushTargetError, build_plan, same_value
from hub.push.run import PushResult, push, push_connector

__all__ = [
    "Change",
    "Plan",
    "PushResult",
    "PushTargetError",
    "build_plan",
    "push",
    "push_connector",
    "same_value",
]
