"""Push-back (reverse sync): write golden ids and corrected contact data into each system.

`build_plan` decides what would change (per-field policies, only changes, no echoes);
`push` sends it through the system's writer with retries, rate limits, per-record failure
tracking and run history. `crmhub push [--connector NAME] [--dry-run]` is the CLI.
`sync_audiences` sends audiences' entered/exited changes to their destinations (webhook,
files; `hub.push.destinations`), only what changed since each one's last delivery.
"""

from __future__ import annotations

from hub.push.audiences import DestinationSync, sync_audiences
from hub.push.plan import Change, Plan, PushTargetError, build_plan, same_value
from hub.push.run import PushResult, push, push_connector

__all__ = [
    "Change",
    "DestinationSync",
    "Plan",
    "PushResult",
    "PushTargetError",
    "build_plan",
    "push",
    "push_connector",
    "same_value",
    "sync_audiences",
]
