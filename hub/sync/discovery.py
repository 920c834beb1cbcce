"""An external tap's capabilities and catalog: `--about`, `--discover` (cached), the rules.

The discovered catalog is cached per connector in `.crmhub/catalogs/<name>.json`, keyed by a
hash of the tap command and of the non-secret config, so a changed config rediscovers;
`crmhub discover` refreshes it. The select/metadata/schema rules of hub.yaml are applied to
it (`hub.sync.catalog`) each time, so editing `select:` needs no rediscovery.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastjsonschema

from hub.core.errors import SyncError
from hub.sync.catalog import apply_catalog_rules, selected_streams, stream_id, stream_ids
from schemas.config import ConnectorConfig, HubConfig, is_secret_key

__all__ = [
    "TapCatalog",
    "capabilities",
    "catalog_path",
    "config_problems",
    "discover",
    "no_stream_selected",
    "prepare_catalog",
    "tap_about",
    "tap_error_line",
]

CATALOG_FLAGS = (("catalog", "--catalog"), ("properties", "--properties"))
# the line of a tap's stderr that says what went wrong: an exception's `Type: message`
# (`sqlalchemy.exc.OperationalError: ...`, `psycopg2.errors.UndefinedTable: ...`,
# `ValueError: ...`) or a log line at ERROR level and above
_ERROR_LINE = re.compile(
    r"^(?:(?:[A-Za-z_]\w*\.)+[A-Z]\w*|[A-Z]\w*(?:Error|Exception|Exit|Failure|Fault))(?::|$)"
    r"|.*\b(?:ERROR|CRITICAL|FATAL)\b"
)
_LOG_ERROR = re.compile(r".*\b(?:ERROR|CRITICAL|FATAL)\b")
_NOISE = ("(Background on this error at:", "The above exception was", "During handling of")


@dataclass(frozen=True)
class TapCatalog:
    """What the hub hands an external tap: the catalog with hub.yaml's rules applied, the flag
    that passes it (`--catalog` or `--properties`), and which streams exist / are selected."""

    catalog: dict[str, Any]
    flag: str
    streams: list[str]
    selected: list[str] = field(default_factory=list)
    # tap_stream_id -> the `stream` name its messages may carry instead (singer-io taps:
    # `erp-public-customers` is sent as `customers`), where the two differ
    aliases: dict[str, str] = field(default_factory=dict)
    # False when the tap's own defaults select the same streams and hub.yaml has no
    # metadata/schema rules: the tap then runs without a catalog (see `prepare_catalog`)
    passed: bool = True

    def sent(self, records: Mapping[str, int], sid: str) -> int:
        """How many records stream `sid` sent, under its id or its `stream` name."""
        alias = self.aliases.get(sid)
        return records.get(sid, 0) + (records.get(alias, 0) if alias else 0)


def catalog_path(config: HubConfig, connector: ConnectorConfig) -> Path:
    return Path(config.base_dir) / ".crmhub" / "catalogs" / f"{connector.name}.json"


def _public(value: Any, secret: set[str], path: str = "") -> Any:
    """`value` without the secrets at any depth: keys named like one (`ftp.password`) or
    declared so in `settings` (dotted names for nested ones)."""
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if not (is_secret_key(str(key)) or where in secret):
                kept[key] = _public(item, secret, where)
        return kept
    if isinstance(value, list):
        return [_public(item, secret, path) for item in value]
    return value


def _cache_key(connector: ConnectorConfig, settings: dict[str, Any], executable: str) -> str:
    public = _public(settings, connector.secret_keys())
    text = json.dumps(
        [Path(executable).name, connector.pip_url, connector.variant, public],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _run_tap(executable: str, args: list[str], settings: dict[str, Any], cwd: Path) -> Any:
    with tempfile.TemporaryDirectory(prefix="crmhub-tap-") as tmp:
        config_file = Path(tmp) / "config.json"
        fd = os.open(config_file, os.O_WRONLY | os.O_CREAT, 0o600)  # holds resolved secrets
        with os.fdopen(fd, "w") as fh:
            json.dump(settings, fh)
        return subprocess.run(
            [executable, "--config", str(config_file), *args],
            capture_output=True,
            timeout=600,
            cwd=cwd,
        )


def tap_error_line(lines: Iterable[str]) -> str:
    """The line of a failed tap's stderr that says why: the last exception (`Type: message`)
    or ERROR-level log line, else the last line that is not a pointer such as SQLAlchemy's
    "(Background on this error at: ...)"."""
    text = [x.strip() for x in lines if x.strip()]
    at = next((i for i in range(len(text) - 1, -1, -1) if _ERROR_LINE.match(text[i])), None)
    if at is None:
        found = next((x for x in reversed(text) if not x.startswith(_NOISE)), None)
        return found or "no error output"
    # a log line's reason is often logged just before it at the same level (singer-sdk:
    # "'path' is a required property", then "Config validation failed"): keep up to 3
    before: list[str] = []
    for line in reversed(text[max(at - 3, 0) : at]):
        if not _LOG_ERROR.match(line):
            break
        before.insert(0, line.rsplit(" | ", 1)[-1])
    return text[at] + (f" ({'; '.join(before)})" if _LOG_ERROR.match(text[at]) and before else "")


def _last_line(stderr: bytes) -> str:
    return tap_error_line(stderr.decode(errors="replace").splitlines())


def _examples(streams: list[str], limit: int = 6) -> str:
    """A few stream ids, one per `schema-` prefix when there are many (a database tap's
    `information_schema-*` would otherwise hide the user's own tables)."""
    if len(streams) <= limit:
        return ", ".join(streams) or "none"
    groups: dict[str, list[str]] = {}
    for sid in streams:
        groups.setdefault(sid.split("-", 1)[0] if "-" in sid else sid, []).append(sid)
    if len(groups) > limit:
        return ", ".join(streams[:limit]) + f", ... ({len(streams) - limit} more)"
    shown = []
    for members in groups.values():
        more = f" (+{len(members) - 1} more like it)" if len(members) > 1 else ""
        shown.append(members[0] + more)
    return ", ".join(shown)


def no_stream_selected(connector: ConnectorConfig, catalog: TapCatalog) -> str:
    """Why a sync of `catalog` would read nothing, naming hub.yaml's patterns and some of
    the streams the tap offers, and what to do."""
    chosen = ["*.* (the default)"] if connector.select is None else connector.select
    patterns = [*chosen, *(f"select_filter {f}" for f in connector.select_filter)]
    said = ", ".join(patterns) if patterns else "[] (nothing)"
    return (
        f"the catalog selects no stream: select: {said} matches none of the tap's "
        f"{len(catalog.streams)} stream(s) ({_examples(catalog.streams)}) — fix `select:` "
        "in hub.yaml; `crmhub discover` lists every stream and what is selected"
    )


def capabilities(
    connector: ConnectorConfig, executable: str, settings: dict[str, Any], cwd: Path
) -> list[str]:
    """`capabilities:` from hub.yaml, else the tap's `--about --format json` (singer-sdk taps);
    a tap that has no `--about` (most singer-python taps) declares none."""
    if connector.capabilities is not None:
        return list(connector.capabilities)
    caps = tap_about(executable, settings, cwd).get("capabilities")
    return [str(c) for c in caps] if isinstance(caps, list) else []


def tap_about(executable: str, settings: dict[str, Any], cwd: Path) -> dict[str, Any]:
    """The tap's `--about --format json` (singer-sdk taps: name, capabilities, the settings'
    JSON Schema), or {} for a tap that has none (most singer-python taps)."""
    done = _run_tap(executable, ["--about", "--format", "json"], settings, cwd)
    if done.returncode != 0:
        return {}
    try:
        about = json.loads(done.stdout)
    except json.JSONDecodeError:
        return {}
    return about if isinstance(about, dict) else {}


def config_problems(
    about: Mapping[str, Any], settings: Mapping[str, Any]
) -> tuple[list[str], list[str]]:
    """What the tap's own settings schema (from `--about`) says is wrong with `settings`,
    naming the setting but never its value (it may be a secret), and the keys it does not
    declare (singer-sdk taps ignore them, so a misspelt optional setting passes unnoticed);
    nothing when the tap declares no schema."""
    schema = about.get("settings")
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return [], []
    problems = []
    try:
        fastjsonschema.compile(schema)(dict(settings))
    except fastjsonschema.JsonSchemaValueException as exc:
        if exc.rule == "required" and isinstance(exc.rule_definition, list):
            missing = [str(k) for k in exc.rule_definition if k not in settings]
            problems.append(f"missing required setting(s): {', '.join(missing)}")
        else:
            problems.append(exc.message.removeprefix("data.").removeprefix("data "))
    except fastjsonschema.JsonSchemaDefinitionException:
        return [], []  # the tap's schema is not ours to judge
    return problems, sorted(set(settings) - set(schema["properties"]))


def discover(
    config: HubConfig,
    connector: ConnectorConfig,
    settings: dict[str, Any],
    executable: str,
    *,
    refresh: bool = False,
) -> dict[str, Any]:
    """The tap's `--discover` catalog, from the cache unless stale or `refresh`."""
    path = catalog_path(config, connector)
    key = _cache_key(connector, settings, executable)
    if not refresh and path.is_file():
        try:
            cached = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            cached = {}
        if cached.get("key") == key and isinstance(cached.get("catalog"), dict):
            return dict(cached["catalog"])
    done = _run_tap(executable, ["--discover"], settings, Path(config.base_dir))
    if done.returncode != 0:
        raise SyncError(
            connector.name,
            f"--discover failed (exit {done.returncode}): {_last_line(done.stderr)}",
            retriable=False,
        )
    try:
        catalog = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise SyncError(
            connector.name, f"--discover printed no JSON catalog ({exc.msg})", retriable=False
        ) from None
    if not isinstance(catalog, dict) or not isinstance(catalog.get("streams"), list):
        raise SyncError(connector.name, "--discover printed no `streams` list", retriable=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"key": key, "catalog": catalog}, indent=1), encoding="utf-8")
    return catalog


def prepare_catalog(
    config: HubConfig,
    connector: ConnectorConfig,
    settings: dict[str, Any],
    executable: str,
    *,
    refresh: bool = False,
) -> TapCatalog | None:
    """The catalog to run the tap with, or None for a tap that takes none (no `catalog` or
    `properties` capability: it is run with `--config`/`--state` only, as before).

    The catalog is not handed over (`passed=False`) when it would change nothing the tap
    does by itself: hub.yaml sets no `metadata:` or `schema:` and the tap's discovered
    defaults select exactly the streams hub.yaml selects (properties deselected by `!` are
    dropped by the hub either way). Some taps break on any catalog (tap-csv-folder 0.0.1a1
    cannot take its own `key_properties` back); those run as they do by themselves."""
    caps = capabilities(connector, executable, settings, Path(config.base_dir))
    flag = next((f for cap, f in CATALOG_FLAGS if cap in caps), None)
    if flag is None:
        return None
    raw = discover(config, connector, settings, executable, refresh=refresh)
    try:
        catalog = apply_catalog_rules(
            raw,
            select=connector.select,
            metadata=connector.metadata,
            schema=connector.schema_,
            select_filter=connector.select_filter,
        )
    except ValueError as exc:
        raise SyncError(connector.name, f"hub.yaml: {exc}", retriable=False) from None
    aliases = {
        stream_id(e): str(e["stream"])
        for e in catalog.get("streams", [])
        if e.get("stream") and str(e["stream"]) != stream_id(e)
    }
    selected = selected_streams(catalog)
    rules = bool(connector.metadata or connector.schema_)
    passed = rules or selected != selected_streams(raw)
    return TapCatalog(catalog, flag, stream_ids(catalog), selected, aliases, passed)
