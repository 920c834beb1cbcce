"""Push-back writers: how the hub writes golden ids and corrected contact data into a system.

A writer is the reverse of a tap: the hub decides *what* to send (only changes, by the
per-field policies of `hub.yaml`), the writer knows *how* the system takes it. Writers are
registered in the ``crm_hub.writers`` entry-point group under the same name as their tap
(`type:` in hub.yaml), e.g.::

    [project.entry-points."crm_hub.writers"]
    stripe = "connectors.stripe:StripeWriter"

Field names are the canonical `CustomerRecord` names (email, phone, given_name, ...); the
writer maps them to the system's own fields. A per-record failure raises `WriteError`
(retriable or not) and never stops the run; the hub records it and retries next run.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any, ClassVar

from connectors.registry import load_entry_point

__all__ = [
    "WRITER_ENTRY_POINT_GROUP",
    "PushItem",
    "WriteError",
    "Writer",
    "available_writers",
    "load_writer",
]

WRITER_ENTRY_POINT_GROUP = "crm_hub.writers"


class WriteError(Exception):
    """One record could not be written. `retriable` for 429 / 5xx / timeouts (the hub backs
    off and tries again within the run); otherwise the system refused the record (the hub
    records the system's message and tries again on the next run)."""

    def __init__(
        self, message: str, *, retriable: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.retriable = retriable
        self.retry_after = retry_after  # seconds, from a Retry-After header when there is one


@dataclass(frozen=True)
class PushItem:
    """One record to write.

    - `source_id`: the record's id in the system, or None to create it (upsert mode).
    - `stream`: the tap stream the record came from (e.g. "customers").
    - `golden_id`: written to the system's golden-id field (hub.yaml `golden_id_field`).
    - `values`: canonical field -> new value, only the fields to change.
    - `before`: canonical field -> the value the system had at the last sync (for plans).
    """

    source_id: str | None
    stream: str
    golden_id: str
    golden_id_field: str
    values: Mapping[str, Any] = field(default_factory=dict)
    before: Mapping[str, Any] = field(default_factory=dict)
    system_fields: Mapping[str, str] = field(default_factory=dict)
    """canonical field -> the system's field path, where hub.yaml maps it from a plain field
    (writers of generic systems such as `sql` use it; API writers know their own fields)."""


class Writer(abc.ABC):
    """Writes PushItems into one system. Constructed with the connector's `config:` from
    hub.yaml (secrets already resolved from the environment), used for one push run."""

    writable_fields: ClassVar[frozenset[str]] = frozenset()
    """Canonical fields this system can take (besides the golden id)."""
    can_create: ClassVar[bool] = False
    """Whether `create` is supported (needed for `mode: upsert`)."""
    max_requests_per_second: ClassVar[float | None] = None
    """The system's rate limit, honoured by the hub across a run."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config

    @abc.abstractmethod
    def update(self, item: PushItem) -> None:
        """Write golden id and values onto the existing record `item.source_id`."""

    def create(self, item: PushItem) -> str:
        """Create the record; return its new id in the system."""
        raise WriteError(f"{type(self).__name__} cannot create records; use mode update-only")

    def apply_audience(
        self,
        golden_id: str,
        source_id: str,
        audience: str,
        member: bool,
        fields: Mapping[str, Any],
    ) -> None:
        """Mark record `source_id` as in (`member`) or out of `audience`, with the carried
        `fields` (an audience destination of kind `system`). Raises WriteError like update;
        writing the same state twice must leave the record as it was."""
        raise WriteError(f"{type(self).__name__} cannot take audience membership")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections at the end of a run."""


def available_writers() -> dict[str, EntryPoint]:
    """Registered writers by connector type (the first registration of a name wins)."""
    found: dict[str, EntryPoint] = {}
    for entry_point in entry_points(group=WRITER_ENTRY_POINT_GROUP):
        found.setdefault(entry_point.name, entry_point)
    return found


def load_writer(name: str) -> type[Writer] | None:
    """The writer registered for connector type `name`, or None if that system is read-only."""
    entry_point = available_writers().get(name)
    if entry_point is None:
        return None
    return load_entry_point(entry_point, f"writer {name!r}", Writer, "connectors.Writer")
