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
from hub.core.states import RunStatus
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
    status: RunStatus  # succeeded | failed
    counts: WriteCounts = field(default_factory=WriteCounts)
    error: str | None = None
    attempts: int = 1
    seconds: float = 0.0
    retriable: bool = False  # a failure worth retrying later (timeouts, 429/5xx), not fatal

    @property
    def ok(self) -> bool:
        return self.status == RunStatus.SUCCEEDED

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
    result = SyncResult(connector.name, run_id, RunStatus.FAILED, attempts=0)
    committed: dict[str, int] = {}  # as of the last flush, for a run interrupted by Ctrl-C

    def progress(counts: WriteCounts) -> None:
        committed.update(counts.as_dict())
        if on_progress is not None:
            on_progress(counts)

    def attempt() -> WriteCounts:
        result.attempts += 1
        return _attempt(
            config,
            store,
            connector,
            run_id,
            fresh=full_refresh and result.attempts == 1,
            full_refresh=full_refresh,
            dry_run=dry_run,
            on_progress=progress,
            batch_size=batch_size,
        )

    def retrying(error: BaseException, delay: float) -> None:
        message = _classify(connector, error)[0]
        log.warning("%s: %s — retrying in %.1fs", connector.name, message, delay)

    try:
        counts = retry.call(
            attempt, retriable=lambda error: _classify(connector, error)[1], on_retry=retrying
        )
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: committed work stays; the run says so
        store.finish_run(run_id, status=RunStatus.ABORTED, counts=committed, error="interrupted")
        raise
    except Exception as exc:  # a source failure: classify, report, keep committed work
        result.error, result.retriable = _classify(connector, exc)
    else:
        result.counts.add(counts)
        result.status = RunStatus.SUCCEEDED
    result.seconds = time.monotonic() - started
    store.finish_run(
        run_id,
        status=result.status,
        counts=result.counts.as_dict(),
        error=result.error,
    )
    return result


def _classify(connector: ConnectorConfig, error: BaseException) -> tuple[str, bool]:
    """The one-line message of a failed attempt and whether another attempt may succeed."""
    if isinstance(error, HubError | ConfigError):  # the hub's own: their message is for users
        return one_line(error).removeprefix(f"{connector.name}: "), (
            isinstance(error, SyncError) and error.retriable
        )
    return one_line(error), is_retriable(error)


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
