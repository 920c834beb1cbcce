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
from hub.core.heap import frozen_heap
from hub.core.retry import RetryPolicy
from hub.core.states import RunStatus
from hub.store.database import Store
from hub.store.locks import hub_lock
from hub.sync.discovery import TapCatalog, no_stream_selected, prepare_catalog
from hub.sync.ingest import Ingestor
from hub.sync.runners import TapReport, external_command, run_builtin, run_external
from hub.sync.writes import WriteCounts
from schemas.config import ConfigError, ConnectorConfig, HubConfig, resolve_connector_config

__all__ = ["SyncResult", "log_path", "plugin_dir", "sync", "sync_connector", "tap_warnings"]

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
    warnings: list[str] = field(default_factory=list)  # e.g. a selected stream read nothing

    @property
    def ok(self) -> bool:
        return self.status == RunStatus.SUCCEEDED

    def summary(self) -> str:
        c = self.counts
        head = f"{self.connector}: read {c.read}, inserted {c.inserted}, updated {c.updated}, "
        head += f"unchanged {c.unchanged}, deleted {c.deleted}, quarantined {c.quarantined}"
        if c.echoed:
            head += f", echoes of our push-back {c.echoed}"
        head += "".join(f" — WARNING: {w}" for w in self.warnings)
        return head if self.ok else f"{head} — FAILED: {self.error}"


def log_path(config: HubConfig, connector: ConnectorConfig, run_id: int) -> Path:
    """Where a run keeps its external tap's stderr: `.crmhub/logs/run-<id>-<connector>.log`."""
    return Path(config.base_dir) / ".crmhub" / "logs" / f"run-{run_id}-{connector.name}.log"


def tap_warnings(
    report: TapReport, catalog: TapCatalog | None, state: dict[str, object]
) -> list[str]:
    """What a user must hear about a run that otherwise succeeded.

    A selected stream that sent no record on a run without a bookmark for it (a first or
    full sync — an incremental run with nothing new is normal) is a warning, not a failure:
    a table may be empty, as Airbyte and Meltano also report such a sync as succeeded. The
    tap's WARNING/ERROR log lines are counted, with the log's path.
    """
    warnings = []
    bookmarks = state.get("bookmarks")
    marked = set(bookmarks) if isinstance(bookmarks, dict) else set()
    if catalog is not None:
        empty = [
            s for s in catalog.selected if not catalog.sent(report.records, s) and s not in marked
        ]
        if empty:
            warnings.append(
                f"selected stream(s) {', '.join(empty)} sent no records — "
                "check the tap's log and the source"
            )
    elif not report.records and not state:
        warnings.append(  # e.g. a singer-python tap (no --about) that was given no catalog
            "the tap sent no records — if it needs a catalog, declare `capabilities: "
            "[catalog, discover]` (or `properties`) in hub.yaml"
        )
    keyless = sorted(s for s in report.keyless if report.records[s])
    if keyless:
        warnings.append(
            f"stream(s) {', '.join(keyless)} declare no key, so each distinct record is its "
            "own id and a changed row is stored as a new record — set `key_properties` under "
            "the stream in hub.yaml"
        )
    if report.warning_lines or report.error_lines:
        warnings.append(
            f"the tap logged {report.warning_lines} warning(s) and {report.error_lines} "
            f"error(s) — see {report.log_file}"
        )
    return warnings


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

    def attempt() -> tuple[WriteCounts, list[str]]:
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
        counts, warnings = retry.call(
            attempt, retriable=lambda error: _classify(connector, error)[1], on_retry=retrying
        )
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: committed work stays; the run says so
        store.finish_run(run_id, status=RunStatus.ABORTED, counts=committed, error="interrupted")
        raise
    except Exception as exc:  # a source failure: classify, report, keep committed work
        result.error, result.retriable = _classify(connector, exc)
    else:
        result.counts.add(counts)
        result.warnings = warnings
        result.status = RunStatus.SUCCEEDED
        for warning in warnings:  # for schedulers' logs; the CLI prints them in its summary
            log.warning("%s: %s", connector.name, warning, extra={"in_summary": True})
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
) -> tuple[WriteCounts, list[str]]:
    settings = resolve_connector_config(connector)
    state = {} if fresh else store.load_state(connector.name)
    log_file = log_path(config, connector, run_id)
    if dry_run:
        with store.engine.connect() as conn:
            outer = conn.begin()
            try:
                ingestor = Ingestor(store, connector, run_id, conn, batch_size, on_progress)
                warnings = _run(
                    connector, settings, state, ingestor, full_refresh, config, log_file
                )
                return ingestor.finish(complete=True), warnings
            finally:
                outer.rollback()  # a dry run reports what would change and keeps nothing
    ingestor = Ingestor(store, connector, run_id, None, batch_size, on_progress)
    try:
        warnings = _run(connector, settings, state, ingestor, full_refresh, config, log_file)
    except BaseException:
        with contextlib.suppress(Exception):
            ingestor.abort()  # safe without a state: re-sent records are seen as unchanged
        raise
    return ingestor.finish(complete=True), warnings


def _run(
    connector: ConnectorConfig,
    settings: dict[str, object],
    state: dict[str, object],
    ingestor: Ingestor,
    full_refresh: bool,
    config: HubConfig,
    log_file: Path,
) -> list[str]:
    cwd = config.base_dir
    if connector.type != "singer":
        run_builtin(connector, settings, state, ingestor, full_refresh=full_refresh, cwd=cwd)
        return []
    exe = external_command(connector, plugin_dir(config), cwd)
    catalog = prepare_catalog(config, connector, settings, exe)
    if catalog is not None and not catalog.selected:
        # a failure, not a warning: the run could not read anything the user wanted, and
        # "succeeded" would hide that (Airbyte likewise refuses a sync with no stream enabled)
        raise SyncError(connector.name, no_stream_selected(connector, catalog))
    report = run_external(
        connector,
        settings,
        state,
        ingestor,
        executable=exe,
        full_refresh=full_refresh,
        cwd=cwd,
        catalog=catalog,
        log_file=log_file,
    )
    return tap_warnings(report, catalog, state)


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
    with frozen_heap():  # bulk work: keep the collector off the long-lived heap
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
