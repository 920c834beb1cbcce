"""The Airflow side of crm-hub: one DAG per pipeline, calling the hub's own Python API.

A pipeline is a `hub.yaml`. Its DAG (`crmhub_<pipeline>`) runs what `crmhub sync`,
`crmhub resolve` and `crmhub push` run, task by task:

    plan ─┬─ sync_<connector> (pool crmhub_<connector>) ─┬─ resolve ─┬─ push_<target>
          └─ ...                                        ┘  (Asset)  ├─ ...
                                                                    └─ analyse (Asset)

* **plan** reads and validates `hub.yaml` at run time, so a config mistake fails the run
  before any source is touched. Each source system gets its own task in its own pool
  (`crmhub_<connector>`), so its rate limits hold across every run of every pipeline that
  uses it. Airflow fixes a task's pool at parse time: `pool` can go to `.partial()` but not
  to `.expand()`, and an XCom with a custom key cannot be mapped over. So a task mapped over
  the connectors could only use one shared pool, and the DAG has one task per source
  instead. The parse reads only the connector names from `hub.yaml`. When the file cannot
  be read at parse time, a single `sync` task in `default_pool` is dynamically mapped over
  the connectors `plan` finds, and one `push` task pushes to every target.
* **sync_<connector>** is `hub.sync.run.sync_connector` with one attempt: Airflow does the
  retrying (exponential backoff) for retriable failures (timeouts, 429, 5xx, a lock held by
  another run, the store unreachable); fatal ones (bad credentials, a missing table, a config
  mistake) raise `AirflowFailException` and fail at once.
* **resolve** is `hub.resolve.run.resolve_store`: a full run goes to the engine hub.yaml's
  `identity.engine` names (`spark`: Apache Spark on `identity.spark.master`), incremental
  runs stay in the worker; its outlet is the Asset `crmhub://<pipeline>/golden-records`
  (its extra says which engine ran), so reports and exports can be data-triggered.
* **analyse** is `hub.analyse.run.analyse_store` as of the day the task runs: customer
  profiles, segment values and stage history on the new golden records, on the engine
  hub.yaml's `analytics.engine` names (`spark`: Apache Spark on `analytics.spark.master`);
  its outlet is the Asset `crmhub://<pipeline>/customer-profiles` (its extra says which
  engine ran). It runs beside the push, so a source system that refuses writes does not
  hold the analysis back.
* **push_<target>** is `hub.push.push_connector` for each `pushback.targets` entry (in the
  target system's pool); "unreachable, left for the next push" is retried.
* **audience_<audience>_<destination>** follows analyse (which recomputes the audiences):
  `hub.push.audiences.sync_audiences` for one destination, in the pool
  `crmhub_audience_<destination>`; a destination that cannot be reached is retried, and
  sends everything still due when it is back.

Task logs carry the very lines the CLI prints (read/quarantined per connector, merges,
sent/failed per target).

Secrets: `hub.yaml` refers to them as `${ENV_VAR}`. Before calling the hub, each task looks up
an Airflow Connection whose conn_id is the variable's name in lower case (through the normal
Connection API, so every secrets backend works) and sets the variable for the duration of
the call: the connection's password, or — when the reference is a whole value and the
connection has a host — the connection as a SQLAlchemy URL (scheme from the extra
`sqlalchemy_scheme`, else the conn_type, `postgres` meaning `postgresql+psycopg`). Without
such a connection the worker's own environment is used. Values are never logged.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

if TYPE_CHECKING:
    from airflow.sdk import DAG

    from hub import HubConfig
    from hub.store.database import Store

__all__ = [
    "ANALYSIS_ASSET_URI",
    "ASSET_URI",
    "DEFAULT_POOL",
    "Pipeline",
    "RetriableError",
    "Sources",
    "airflow_secrets",
    "analyse_customers",
    "build_dag",
    "configured_pipelines",
    "customer_profiles_asset",
    "env_duration",
    "env_references",
    "golden_records_asset",
    "plan_sources",
    "pool_name",
    "push_all",
    "push_target",
    "read_sources",
    "resolve_golden",
    "sync_all_audiences",
    "sync_audience",
    "sync_source",
]

log = logging.getLogger("crmhub.airflow")

ASSET_URI = "crmhub://{pipeline}/golden-records"
"""The Asset each pipeline's resolve task updates (downstream DAGs schedule on it)."""
ANALYSIS_ASSET_URI = "crmhub://{pipeline}/customer-profiles"
"""The Asset each pipeline's analyse task updates (profiles, segments, stage history)."""
DEFAULT_POOL = "default_pool"
"""Used only when the source systems cannot be read from hub.yaml at parse time."""
_NAME = re.compile(r"^[a-z][a-z0-9_\-]*$")
_PIPELINE = re.compile(r"^[a-z][a-z0-9_]*$")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SCHEMES = {"postgres": "postgresql+psycopg", "postgresql": "postgresql+psycopg"}


class RetriableError(RuntimeError):
    """A failure worth retrying later (the source or the store is unavailable right now)."""


# -- configuration read when the DAG file is parsed (cheap: no hub import, no validation) ----


@dataclasses.dataclass(frozen=True)
class Pipeline:
    """One DAG: a name and the hub.yaml it runs."""

    name: str
    config_path: Path

    @property
    def dag_id(self) -> str:
        return f"crmhub_{self.name}"


@dataclasses.dataclass(frozen=True)
class Sources:
    """The source systems and push-back targets named in hub.yaml (None: not readable)."""

    connectors: tuple[str, ...] | None
    push_targets: tuple[str, ...] | None
    audiences: tuple[tuple[str, str], ...] | None = ()  # (audience, destination) pairs


def _parse_pipelines(spec: str, where: str) -> list[Pipeline]:
    pipelines: list[Pipeline] = []
    for item in re.split(r"[,;\n]", spec):
        if not item.strip():
            continue
        name, sep, path = item.partition("=")
        name, path = name.strip(), path.strip()
        if not sep or not _PIPELINE.match(name) or not path:
            raise ValueError(
                f"{where}: {item.strip()!r} is not NAME=/path/to/hub.yaml "
                "(NAME: lower-case letters, digits, _)"
            )
        config = Path(path).expanduser()
        if not config.is_absolute():
            raise ValueError(f"{where}: {path!r} must be an absolute path to hub.yaml")
        pipelines.append(Pipeline(name, config))
    names = [p.name for p in pipelines]
    if len(set(names)) != len(names):
        raise ValueError(f"{where}: pipeline names must be unique: {', '.join(names)}")
    return pipelines


def configured_pipelines(environ: Mapping[str, str] | None = None) -> list[Pipeline]:
    """The pipelines to build DAGs for, from (first found) the environment variable
    `CRMHUB_PIPELINES="name=/path/hub.yaml,..."`, `CRMHUB_CONFIG=/path/hub.yaml` (pipeline
    `main`), or the Airflow Variable `crmhub_pipelines` (same format as CRMHUB_PIPELINES)."""
    env = os.environ if environ is None else environ
    if env.get("CRMHUB_PIPELINES", "").strip():
        return _parse_pipelines(env["CRMHUB_PIPELINES"], "CRMHUB_PIPELINES")
    if env.get("CRMHUB_CONFIG", "").strip():
        return _parse_pipelines(f"main={env['CRMHUB_CONFIG']}", "CRMHUB_CONFIG")
    if environ is not None:
        return []
    try:  # env-var and secrets backends first, then the metadata DB (one call per parse)
        from airflow.sdk import Variable

        spec = Variable.get("crmhub_pipelines", default=None)
    except Exception:  # no Airflow runtime to ask (e.g. a bare DagBag): no pipelines
        spec = None
    return _parse_pipelines(str(spec), "Variable crmhub_pipelines") if spec else []


def read_sources(config_path: Path) -> Sources:
    """Connector names and enabled push-back targets, read (not validated) from hub.yaml.

    This is all the DAG file needs when parsed; `plan` validates the file at run time.
    """
    import yaml

    try:
        raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return Sources(None, None, None)
    if not isinstance(raw, dict):
        return Sources(None, None, None)
    items = raw.get("connectors") or []
    if not isinstance(items, list):
        return Sources(None, None, None)
    names: list[str] = []
    for item in items:
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not _NAME.match(name):
            return Sources(None, None, None)  # plan reports the mistake at run time
        names.append(name)
    pushback = raw.get("pushback") or {}
    targets: list[str] = []
    if isinstance(pushback, dict) and pushback.get("enabled"):
        found = pushback.get("targets") or {}
        targets = [t for t in found if t in names] if isinstance(found, dict) else []
    return Sources(tuple(names), tuple(targets), _audience_destinations(raw.get("audiences")))


def _audience_destinations(items: Any) -> tuple[tuple[str, str], ...] | None:
    """(audience, destination) for each destination of each audience in hub.yaml; None
    when they cannot be read (one `audiences` task then syncs them all)."""
    if items is None:
        return ()
    if not isinstance(items, list):
        return None
    pairs: list[tuple[str, str]] = []
    for item in items:
        name = item.get("name") if isinstance(item, dict) else None
        dests = item.get("destinations") or [] if isinstance(item, dict) else None
        if not isinstance(name, str) or not _NAME.match(name) or not isinstance(dests, list):
            return None
        for dest in dests:
            kind = dest.get("kind") if isinstance(dest, dict) else None
            dest_name = dest.get("name", kind) if isinstance(dest, dict) else None
            if not isinstance(dest_name, str) or not _NAME.match(dest_name):
                return None
            pairs.append((name, dest_name))
    return tuple(pairs)


def pool_name(connector: str) -> str:
    """The Airflow pool of a source system: `crmhub_<connector>` (create it with
    `airflow pools set crmhub_<connector> SLOTS "..."`)."""
    return f"crmhub_{connector}"


def golden_records_asset(pipeline: str) -> Any:
    from airflow.sdk import Asset

    return Asset(ASSET_URI.format(pipeline=pipeline))


def customer_profiles_asset(pipeline: str) -> Any:
    from airflow.sdk import Asset

    return Asset(ANALYSIS_ASSET_URI.format(pipeline=pipeline))


# -- secrets: Airflow Connections -> the ${ENV_VAR} references of hub.yaml --------------------


def env_references(*values: Any) -> dict[str, bool]:
    """`${VAR}` names referenced in the values -> whether every use is a whole value."""
    found: dict[str, bool] = {}

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            whole = _ENV_REF.fullmatch(value.strip()) is not None
            for match in _ENV_REF.finditer(value):
                found[match.group(1)] = found.get(match.group(1), True) and whole

    for value in values:
        walk(value)
    return found


def _connection_value(conn: Any, whole: bool) -> str | None:
    if whole and conn.host:
        import sqlalchemy as sa

        extra = conn.extra_dejson if isinstance(conn.extra_dejson, dict) else {}
        scheme = extra.get("sqlalchemy_scheme") or _SCHEMES.get(conn.conn_type, conn.conn_type)
        url = sa.engine.URL.create(
            str(scheme),
            username=conn.login or None,
            password=conn.password or None,
            host=conn.host,
            port=conn.port or None,
            database=conn.schema or None,
        )
        return url.render_as_string(hide_password=False)
    password = conn.password
    return str(password) if password else None


def _lookup_connection(conn_id: str) -> Any | None:
    from airflow.sdk import Connection

    try:
        return Connection.get(conn_id)
    except Exception as exc:  # AirflowNotFoundException, or the runtime's not-found error
        if "not found" in str(exc).lower() or type(exc).__name__.endswith("NotFoundException"):
            return None
        raise


def _mask(value: str) -> None:
    with contextlib.suppress(Exception):
        from airflow.sdk.log import mask_secret

        mask_secret(value)


@contextlib.contextmanager
def airflow_secrets(*values: Any) -> Iterator[list[str]]:
    """Set each `${VAR}` referenced in the values from the Airflow Connection `var` (if one
    exists) for the duration of the block; yields the names set (values are never logged)."""
    previous: dict[str, str | None] = {}
    try:
        for name, whole in sorted(env_references(*values).items()):
            conn = _lookup_connection(name.lower())
            value = _connection_value(conn, whole) if conn is not None else None
            if value is None:
                continue
            _mask(value)
            previous[name] = os.environ.get(name)
            os.environ[name] = value
            log.info("%s set from Airflow connection %r", name, name.lower())
        yield sorted(previous)
    finally:
        for name, old in previous.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


# -- what the tasks run -------------------------------------------------------------------------


def _fail(what: str, error: BaseException | str) -> NoReturn:
    from airflow.sdk.exceptions import AirflowFailException

    from hub.core.errors import one_line

    text = error if isinstance(error, str) else one_line(error)
    raise AirflowFailException(f"{what}: {text} (not retried)")


def _retriable(exc: BaseException, *, hub_errors: bool) -> bool:
    from sqlalchemy.exc import InterfaceError, OperationalError

    from hub import ConfigError
    from hub.core.errors import HubError, is_retriable
    from hub.push import PushTargetError
    from hub.store.locks import LockError

    if isinstance(exc, RetriableError | LockError | OperationalError | InterfaceError):
        return True  # the source is down, another run holds the lock, the store is unreachable
    if isinstance(exc, ConfigError | PushTargetError):
        return False
    if isinstance(exc, HubError):
        return hub_errors
    return is_retriable(exc)


@contextlib.contextmanager
def _classified(what: str, *, hub_errors: bool = False) -> Iterator[None]:
    """Retriable errors propagate (Airflow retries them); anything else fails the task now."""
    try:
        yield
    except Exception as exc:
        if type(exc).__name__ == "AirflowFailException" or _retriable(exc, hub_errors=hub_errors):
            raise
        _fail(what, exc)


def _load(config_path: str | Path) -> HubConfig:
    from hub import load_config

    return load_config(config_path)


@contextlib.contextmanager
def _store(config: HubConfig) -> Iterator[Store]:
    from hub.store.database import Store

    store = Store.open(config)
    try:
        yield store
    finally:
        store.dispose()


def _skip(message: str) -> NoReturn:
    from airflow.sdk.exceptions import AirflowSkipException

    log.warning(message)
    raise AirflowSkipException(message)


def plan_sources(config_path: str | Path, known: tuple[str, ...] | None) -> list[str]:
    """Validate hub.yaml (a mistake fails the run before any source is touched) and return
    its connectors: what the `sync` task maps over when the DAG has no task per source."""
    with _classified("plan"):
        config = _load(config_path)
    names = [c.name for c in config.connectors]
    targets = list(config.pushback.targets) if config.pushback.enabled else []
    log.info("%s: sync %s; push to %s", config_path, ", ".join(names), ", ".join(targets) or "-")
    if known is not None and (added := [n for n in names if n not in known]):
        log.warning(
            "%s added to hub.yaml after the DAG file was parsed: synced from the next parse on",
            ", ".join(added),
        )
    return names


def sync_source(config_path: str | Path, connector: str) -> dict[str, int]:
    """`crmhub sync --connector NAME` in one attempt; returns the counts the CLI prints."""
    from hub.core.retry import RetryPolicy
    from hub.sync.run import sync_connector

    what = f"sync {connector}"
    with _classified(what):
        config = _load(config_path)
    if connector not in {c.name for c in config.connectors}:
        _skip(f"{connector} is no longer in {config_path}; nothing to sync")
    with _classified(what):
        source = config.connector(connector)
        with airflow_secrets(config.store.url, source.config), _store(config) as store:
            result = sync_connector(config, store, source, retry=RetryPolicy(attempts=1))
    if result.ok:
        log.info(result.summary())
        return result.counts.as_dict()
    log.error(result.summary())
    if result.retriable:
        raise RetriableError(result.summary())
    _fail(what, result.summary())


def resolve_golden(config_path: str | Path, actor: str) -> dict[str, int | str]:
    """`crmhub resolve`: the store's customer records into golden records, a full run on
    the engine `identity.engine` in hub.yaml names (Spark or in process). Returns the
    summary's counts and its `mode`, `reason`, `engine` and `master` (text)."""
    from hub.resolve.run import resolve_store

    with _classified("resolve"):
        config = _load(config_path)
        with airflow_secrets(config.store.url), _store(config) as store:
            summary = resolve_store(config, store, actor=actor)
    log.info(summary.line())
    return dataclasses.asdict(summary)


def analyse_customers(config_path: str | Path, actor: str) -> dict[str, Any]:
    """`crmhub analyse`: profiles, segments and stage history as of today (UTC), on the
    engine `analytics.engine` in hub.yaml names (Spark or in process). Returns the
    summary's counts and its `engine` and `master` (text)."""
    from hub.analyse.run import analyse_store

    with _classified("analyse"):
        config = _load(config_path)
        with airflow_secrets(config.store.url), _store(config) as store:
            summary = analyse_store(config, store, actor=actor)
    log.info(summary.line())
    return {
        "run_id": summary.run_id,
        "as_of": summary.as_of.isoformat(),
        "customers": summary.customers,
        "interactions": summary.interactions,
        "unmapped": summary.unmapped,
        "at_risk": summary.at_risk,
        "stage_changes": summary.stage_changes,
        "note": summary.note,
        "engine": summary.engine,
        "master": summary.master,
    }


def push_target(config_path: str | Path, target: str) -> dict[str, int]:
    """`crmhub push --connector NAME`: golden ids and corrections into one system."""
    from hub.push import push_connector

    with _classified(f"push {target}"):
        config = _load(config_path)
    if not config.pushback.enabled or target not in config.pushback.targets:
        _skip(f"{target} is not an enabled push-back target in {config_path}")
    with _classified(f"push {target}", hub_errors=True):  # "unreachable ... next push"
        connector = config.connector(target)
        with airflow_secrets(config.store.url, connector.config), _store(config) as store:
            result = push_connector(config, store, target)
    (log.warning if result.failed else log.info)(result.summary())
    for key, message in result.errors[:20]:
        log.warning("  refused %s: %s", key, message)
    return {
        "sent": result.sent,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.plan.unchanged,
        "failed": result.failed,
    }


def sync_audience(config_path: str | Path, audience: str, destination: str) -> dict[str, int]:
    """`crmhub audiences sync NAME` for one destination: the entered/exited changes since its
    last delivery. A destination that cannot be reached is retried by Airflow."""
    from hub.push.audiences import sync_audiences

    what = f"audience {audience}/{destination}"
    with _classified(what):
        config = _load(config_path)
    item = next((a for a in config.audiences if a.name == audience), None)
    dest = next((d for d in item.destinations if d.name == destination), None) if item else None
    if item is None or dest is None:
        _skip(f"{what} is no longer in {config_path}; nothing to sync")
    refs = [getattr(dest, key, None) for key in ("url", "secret", "path")]
    with (
        _classified(what, hub_errors=True),  # "unreachable ... the next sync sends them"
        airflow_secrets(config.store.url, *refs),
        _store(config) as store,
    ):
        [result] = sync_audiences(config, store, audience=audience, destination=destination)
    (log.warning if result.failed else log.info)(result.summary())
    for event_id, message in result.refusals[:20]:
        log.warning("  refused event %s: %s", event_id, message)
    return {
        "entered": result.entered,
        "exited": result.exited,
        "retried": result.retried,
        "failed": result.failed,
    }


def sync_all_audiences(config_path: str | Path) -> dict[str, dict[str, int]]:
    """`crmhub audiences sync`: every destination of every audience, one after the other."""
    with _classified("audiences"):
        config = _load(config_path)
    return {
        f"{a.name}/{d.name}": sync_audience(config_path, a.name, d.name)
        for a in config.audiences
        for d in a.destinations
    }


def push_all(config_path: str | Path) -> dict[str, dict[str, int]]:
    """`crmhub push`: every enabled push-back target, one after the other."""
    with _classified("push"):
        config = _load(config_path)
    if not config.pushback.enabled:
        _skip(f"push-back is not enabled in {config_path}")
    return {target: push_target(config_path, target) for target in config.pushback.targets}


# -- the DAG ------------------------------------------------------------------------------------


def _label(connector: str) -> None:
    """Name a mapped task instance after its connector in the UI (`map_index_template`)."""
    from airflow.sdk import get_current_context

    with contextlib.suppress(Exception):
        cast(dict[str, Any], get_current_context())["crmhub_connector"] = connector


def build_dag(
    pipeline: Pipeline,
    *,
    schedule: str | None = "@daily",
    retries: int = 3,
    retry_delay: timedelta = timedelta(minutes=1),
    max_retry_delay: timedelta = timedelta(minutes=30),
    sources: Sources | None = None,
) -> DAG:
    """The DAG `crmhub_<pipeline>`: plan -> sync per source -> resolve -> push per target,
    and analyse after resolve -> audience sync per destination."""
    from airflow.sdk import DAG, task

    config_path = str(pipeline.config_path)
    found = sources if sources is not None else read_sources(pipeline.config_path)
    asset = golden_records_asset(pipeline.name)
    profiles_asset = customer_profiles_asset(pipeline.name)

    def plan() -> list[str]:
        return plan_sources(config_path, found.connectors)

    def sync(connector: str) -> dict[str, int]:
        _label(connector)
        return sync_source(config_path, connector)

    def resolve() -> dict[str, int | str]:
        from airflow.sdk import get_current_context

        summary = resolve_golden(config_path, actor=f"airflow:{pipeline.dag_id}")
        with contextlib.suppress(Exception):
            get_current_context()["outlet_events"][asset].extra = {
                "pipeline": pipeline.name,
                **summary,
            }
        return summary

    def analyse() -> dict[str, Any]:
        from airflow.sdk import get_current_context

        summary = analyse_customers(config_path, actor=f"airflow:{pipeline.dag_id}")
        with contextlib.suppress(Exception):
            get_current_context()["outlet_events"][profiles_asset].extra = {
                "pipeline": pipeline.name,
                **summary,
            }
        return summary

    def push(target: str) -> dict[str, int]:
        _label(target)
        return push_target(config_path, target)

    def push_every_target() -> dict[str, dict[str, int]]:
        return push_all(config_path)

    def audience_sync(audience: str, destination: str) -> dict[str, int]:
        return sync_audience(config_path, audience, destination)

    def every_audience() -> dict[str, dict[str, int]]:
        return sync_all_audiences(config_path)

    with DAG(
        dag_id=pipeline.dag_id,
        description=(
            f"crm-hub pipeline {pipeline.name}: sync -> resolve -> push, analyse ({config_path})"
        ),
        schedule=schedule,
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,  # plus the hub's own locks against the CLI and other pipelines
        default_args={
            "retries": retries,
            "retry_delay": retry_delay,
            "retry_exponential_backoff": 2.0,
            "max_retry_delay": max_retry_delay,
        },
        tags=["crmhub"],
        doc_md=__doc__,
    ) as dag:
        planned = task(task_id="plan", multiple_outputs=False, retries=0)(plan)()
        if found.connectors is None:  # hub.yaml unreadable when parsed: one shared pool
            synced = [
                task(
                    task_id="sync",
                    pool=DEFAULT_POOL,
                    multiple_outputs=False,
                    map_index_template="{{ crmhub_connector }}",
                )(sync).expand(connector=planned)
            ]
        else:  # one mapped task per source system, in that system's pool (see module doc)
            synced = [
                task(task_id=f"sync_{name}", pool=pool_name(name), multiple_outputs=False)(sync)(
                    connector=name
                )
                for name in found.connectors
            ]
            for sync_task in synced:
                planned >> sync_task
        resolved = task(
            task_id="resolve",
            outlets=[asset],
            multiple_outputs=False,
            trigger_rule="none_failed",  # a connector gone from hub.yaml leaves a skipped task
        )(resolve)()
        if found.push_targets is None:
            pushed = [task(task_id="push", pool=DEFAULT_POOL)(push_every_target)()]
        else:
            pushed = [
                task(task_id=f"push_{name}", pool=pool_name(name), multiple_outputs=False)(push)(
                    target=name
                )
                for name in found.push_targets
            ]
        for sync_task in synced:
            sync_task >> resolved
        analysed = task(task_id="analyse", outlets=[profiles_asset], multiple_outputs=False)(
            analyse
        )()
        for push_task in pushed:
            resolved >> push_task
        resolved >> analysed
        if found.audiences is None:  # hub.yaml unreadable when parsed: one task for all
            synced_audiences = [task(task_id="audiences", pool=DEFAULT_POOL)(every_audience)()]
        else:  # one task per destination, in that destination's pool, after analyse
            synced_audiences = [
                task(
                    task_id=f"audience_{name}_{dest}",
                    pool=pool_name(f"audience_{dest}"),
                    multiple_outputs=False,
                )(audience_sync)(audience=name, destination=dest)
                for name, dest in found.audiences
            ]
        for audience_task in synced_audiences:
            analysed >> audience_task
    return dag


def env_duration(
    name: str, default: timedelta, environ: Mapping[str, str] | None = None
) -> timedelta:
    """A duration in seconds from the environment (e.g. CRMHUB_RETRY_DELAY=60)."""
    value = (os.environ if environ is None else environ).get(name, "").strip()
    return timedelta(seconds=float(value)) if value else default
