"""Sync: run each configured connector into the store, with retries and run history."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hub.core.errors import HubError, SyncError, is_retriable, one_line
from hub.core.retry import RetryPolicy
from hub.store.database import Store
from hub.store.locks import hub_lock
from hub.sync.ingest import Ingestor
from hub.sync.runners import external_command, run_builtin, run_external
from hub.sync.writes import WriteCounts
from schemas.config import ConfigError, ConnectorConfig, HubConfig, resolve_env

__all__ = ["SyncResult", "plugin_dir", "sync", "sync_connector"]

log = logging.getLogger(__name__)


@dataclass
class SyncResult:
    """The outcome of one connector's run."""

    connector: str
    run_id: int
    status: str  # succeeded | failed
    counts: WriteCounts = field(default_factory=WriteCounts)
    error: str | None = None
    attempts: int = 1
    seconds: float = 0.0
    retriable: bool = False  # a failure worth retrying later (timeouts, 429/5xx), not fatal

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    def summary(self) -> str:
        c = self.counts
        head = f"{self.connector}: read {c.read}, inserted {c.inserted}, updated {c.updated}, "
        head += f"unchanged {c.unchanged}, deleted {c.deleted}, quarantined {c.quarantined}"
        if c.echoed:
            head += f", echoes of our push-back {c.echoed}"
        return head if self.ok else f"{head} — FAILED: {self.error}"


def plugin_dir(config: HubConfig) -> Path:
    """Where external taps get their own virtualenvs (`CRMHUB_PLUGIN_DIR` overrides)."""
    return Path(os.environ.get("CRMHUB_PLUGIN_DIR") or config.base_dir / ".crmhub" / "plugins")


def sync_connector(
    config: HubConfig,
    store: Store,
    connector: ConnectorConfig,
    *,
    full_refresh: bool = False,
    dry_run: bool = False,
    retry: RetryPolicy | None = None,
    on_progress: Callable[[WriteCounts], None] | None = None,
    batch_size: int = 5000,
) -> SyncResult:
    """Run one connector to completion (or a clear failure); never raises for source errors.

    Raises LockError when the same connector is already syncing (anywhere).
    """
    with hub_lock(store, f"sync:{connector.name}"):
        return _sync_locked(
            config,
            store,
            connector,
            full_refresh=full_refresh,
            dry_run=dry_run,
            retry=retry,
            on_progress=on_progress,
            batch_size=batch_size,
        )


def _sync_locked(
    config: HubConfig,
    store: Store,
    connector: ConnectorConfig,
    *,
    full_refresh: bool,
    dry_run: bool,
    retry: RetryPolicy | None,
    on_progress: Callable[[WriteCounts], None] | None,
    batch_size: int,
) -> SyncResult:
    retry = retry or RetryPolicy()
    started = time.monotonic()
    run_id = store.start_run(connector.name, full_refresh=full_refresh, dry_run=dry_run)
    result = SyncResult(connector.name, run_id, "failed")
    delays = retry.delays()
    for attempt in range(1, retry.attempts + 1):
        result.attempts = attempt
        try:
            result.counts.add(
                _attempt(
                    config,
                    store,
                    connector,
                    run_id,
                    fresh=full_refresh and attempt == 1,
                    full_refresh=full_refresh,
                    dry_run=dry_run,
                    on_progress=on_progress,
                    batch_size=batch_size,
                )
            )
            result.status = "succeeded"
            result.error = None
            result.retriable = False
            break
        except (HubError, ConfigError) as exc:
            result.error = one_line(exc).removeprefix(f"{connector.name}: ")
            retriable = isinstance(exc, SyncError) and exc.retriable
        except Exception as exc:  # a source failure: classify, report, keep committed work
            result.error = one_line(exc)
            retriable = is_retriable(exc)
        result.retriable = retriable
        if not retriable or attempt == retry.attempts:
            break
        delay = delays[attempt - 1]
        log.warning("%s: %s — retrying in %.1fs", connector.name, result.error, delay)
        time.sleep(delay)
    result.seconds = time.monotonic() - started
    store.finish_run(
        run_id,
        status=result.status,
        counts=result.counts.as_dict(),
        error=result.error,
    )
    return result


def _attempt(
    config: HubConfig,
    store: Store,
    connector: ConnectorConfig,
    run_id: int,
    *,
    fresh: bool,
    full_refresh: bool,
    dry_run: bool,
    on_progress: Callable[[WriteCounts], None] | None,
    batch_size: int,
) -> WriteCounts:
    settings = resolve_env(connector.config, f"connectors.{connector.name}.config")
    state = {} if fresh else store.load_state(connector.name)
    cwd = config.base_dir
    if dry_run:
        with store.engine.connect() as conn:
            outer = conn.begin()
            try:
                ingestor = Ingestor(store, connector, run_id, conn, batch_size, on_progress)
                _run(connector, settings, state, ingestor, full_refresh, cwd, config)
                return ingestor.finish(complete=True)
            finally:
                outer.rollback()  # a dry run reports what would change and keeps nothing
    ingestor = Ingestor(store, connector, run_id, None, batch_size, on_progress)
    try:
        _run(connector, settings, state, ingestor, full_refresh, cwd, config)
    except BaseException:
        with contextlib.suppress(Exception):
            ingestor.flush()  # safe without a state: re-sent records are seen as unchanged
        raise
    return ingestor.finish(complete=True)


def _run(
    connector: ConnectorConfig,
    settings: dict[str, object],
    state: dict[str, object],
    ingestor: Ingestor,
    full_refresh: bool,
    cwd: Path,
    config: HubConfig,
) -> None:
    if connector.type == "singer":
        exe = external_command(connector, plugin_dir(config))
        run_external(
            connector, settings, state, ingestor, executable=exe, full_refresh=full_refresh, cwd=cwd
        )
    else:
        run_builtin(connector, settings, state, ingestor, full_refresh=full_refresh, cwd=cwd)


def sync(
    config: HubConfig,
    store: Store,
    *,
    only: str | None = None,
    full_refresh: bool = False,
    dry_run: bool = False,
    retry: RetryPolicy | None = None,
    on_progress: Callable[[str, WriteCounts], None] | None = None,
) -> list[SyncResult]:
    """Sync every configured connector (or only one); one failure does not stop the others."""
    targets = [config.connector(only)] if only else list(config.connectors)
    results = []
    for connector in targets:

        def progress(counts: WriteCounts, name: str = connector.name) -> None:
            if on_progress is not None:
                on_progress(name, counts)

        results.append(
            sync_connector(
                config,
                store,
                connector,
                full_refresh=full_refresh,
                dry_run=dry_run,
                retry=retry,
                on_progress=progress,
            )
        )
    return results
