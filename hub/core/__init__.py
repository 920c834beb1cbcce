"""What every stage of the hub shares: errors, retry policy, named states, the clock.

Imports nothing else of the hub (every other folder of `hub/` may import it).
`hub.core.engines` (the engine a full run goes to) is imported by its name: it reads the
config schema, which the package itself leaves out of the CLI's start.
"""

from __future__ import annotations

from hub.core.clock import as_utc, now
from hub.core.errors import HubError, SyncError, http_status, is_retriable, one_line
from hub.core.heap import frozen_heap
from hub.core.retry import RetryPolicy
from hub.core.states import CandidateStatus, Decision, GoldenStatus, Role, RunStatus

__all__ = [
    "CandidateStatus",
    "Decision",
    "GoldenStatus",
    "HubError",
    "RetryPolicy",
    "Role",
    "RunStatus",
    "SyncError",
    "as_utc",
    "frozen_heap",
    "http_status",
    "is_retriable",
    "now",
    "one_line",
]
