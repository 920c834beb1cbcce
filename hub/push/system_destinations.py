"""Audience destinations of kind `system`: membership written into a connected system.

`{kind: system, connector: billing}` sends each entered/exited change through the writer
of connector `billing` (`Writer.apply_audience`): onto every record of that system linked
to the customer (the crosswalk, records not deleted), e.g. Stripe customer metadata
`crmhub_audience_<audience>` or a Tryton party category named after the audience. A
customer with no record in that system needs no write. A record the system refused is
refused for the change (its message kept in `push_failures` by the caller); retriable
failures (429, 5xx, timeouts) are backed off, and when they persist the system is down:
nothing of the batch is marked sent. The next sync of that system recognises these writes
as the hub's own (`hub.sync.echo`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from connectors.writers import WriteError, Writer, load_writer
from hub.core.retry import RetryPolicy
from hub.push.destinations import AudienceChange, DestinationDown
from hub.store.database import Store
from hub.store.tables import crosswalk, customer_records
from schemas.audiences import SystemDestination
from schemas.config import ConfigError, HubConfig, resolve_env

__all__ = ["SystemSender", "check_system_destinations", "system_writer"]


def system_writer(config: HubConfig, dest: SystemDestination, where: str) -> type[Writer]:
    """The writer class of the destination's connector, or a ConfigError naming `where`."""
    names = [c.name for c in config.connectors]
    if dest.connector not in names:
        raise ConfigError(
            f"{where}.connector: no connector named {dest.connector!r} "
            f"(configured: {', '.join(names) or 'none'})"
        )
    kind = config.connector(dest.connector).type
    writer = load_writer(kind)
    if writer is None:
        raise ConfigError(
            f"{where}.connector: connector {dest.connector!r} (type {kind}) has no writer, so "
            "it cannot take audiences — use a webhook, file or sql destination instead"
        )
    if writer.apply_audience is Writer.apply_audience:
        raise ConfigError(
            f"{where}.connector: the {kind} writer of connector {dest.connector!r} cannot take "
            "audience membership — use a webhook, file or sql destination instead"
        )
    return writer


def check_system_destinations(config: HubConfig) -> None:
    """Raise ConfigError for each `system` destination whose connector cannot be written."""
    problems: list[str] = []
    for i, audience in enumerate(config.audiences):
        for j, dest in enumerate(audience.destinations):
            if isinstance(dest, SystemDestination):
                try:
                    system_writer(config, dest, f"audiences[{i}].destinations[{j}]")
                except ConfigError as exc:
                    problems.append(str(exc))
    if problems:
        raise ConfigError("\n".join(problems))


def _retriable(error: BaseException) -> bool:
    return isinstance(error, WriteError) and error.retriable


def _retry_after(error: BaseException) -> float | None:
    return error.retry_after if isinstance(error, WriteError) else None


class SystemSender:
    """Writes audience changes through a connector's writer (see the module docstring)."""

    def __init__(
        self,
        config: HubConfig,
        store: Store,
        audience: str,
        dest: SystemDestination,
        *,
        fields: Sequence[str] = (),
        retry: RetryPolicy | None = None,
    ) -> None:
        where = f"audiences.{audience}.destinations.{dest.name}"
        writer_class = system_writer(config, dest, where)
        connector = config.connector(dest.connector)
        settings: Any = resolve_env(connector.config, f"connectors.{connector.name}.config")
        with contextlib.chdir(config.base_dir):  # relative paths as in hub.yaml
            self.writer = writer_class(settings)
        self.name = dest.name
        self.audience = audience
        self.source = dest.connector
        self.fields = list(fields)  # the audience's carried fields: cleared on exit
        self.store = store
        self.retry = retry or RetryPolicy(attempts=4, initial_delay=1.0)
        self.writes = 0  # records written, over the sender's life (for reports and tests)
        rate = writer_class.max_requests_per_second  # the system's limit (Stripe: 25/s)
        self.interval = 1.0 / rate if rate else 0.0
        self.last = 0.0

    def records(self, golden_ids: Sequence[str]) -> dict[str, list[str]]:
        """The system's live record ids of each customer, by golden id."""
        x, c = crosswalk.c, customer_records.c
        found: dict[str, list[str]] = {}
        ids = sorted(set(golden_ids))
        with self.store.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                rows = conn.execute(
                    sa.select(x.golden_id, x.source_id)
                    .join(
                        customer_records,
                        sa.and_(c.source == x.source, c.source_id == x.source_id),
                    )
                    .where(
                        x.source == self.source,
                        x.golden_id.in_(ids[start : start + 500]),
                        c.deleted.is_(False),
                    )
                    .order_by(x.source_id)
                )
                for golden_id, source_id in rows:
                    found.setdefault(golden_id, []).append(str(source_id))
        return found

    def deliver(self, changes: Sequence[AudienceChange]) -> dict[int, str]:
        if not changes:
            return {}
        linked = self.records([c.golden_id for c in changes])
        refused: dict[int, str] = {}
        for change in changes:
            for source_id in linked.get(change.golden_id, []):
                try:
                    self._write(change, source_id)
                except WriteError as exc:
                    if exc.retriable:
                        raise DestinationDown(
                            f"{self.audience}/{self.name}: {self.source} did not answer after "
                            f"{self.retry.attempts} attempt(s) (last: {exc}); this batch was "
                            "not marked sent — the next `crmhub audiences sync` sends it again"
                        ) from None
                    refused[change.event_id] = str(exc)[:1000]
                    break
        return refused

    def _write(self, change: AudienceChange, source_id: str) -> None:
        member = change.event == "entered"
        fields = change.fields if member else {name: None for name in self.fields}

        def write() -> None:
            delay = self.last + self.interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.last = time.monotonic()
            self.writer.apply_audience(change.golden_id, source_id, change.audience, member, fields)

        self.retry.call(write, retriable=_retriable, at_least=_retry_after)
        self.writes += 1

    def close(self) -> None:
        self.writer.close()
