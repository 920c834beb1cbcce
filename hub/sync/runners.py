"""Running a connector: a built-in singer-sdk tap in-process, or any Singer tap as a subprocess.

Both feed the same `Ingestor`, so both get the same checkpointing, validation and quarantine.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from singer_sdk import Tap
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.singerlib import RecordMessage, SchemaMessage, StateMessage

from connectors.registry import load_connector
from hub.core.errors import SyncError, is_retriable, one_line
from hub.sync.catalog import LOG_POSITION, bookmarked_streams, deselected_properties
from hub.sync.discovery import TapCatalog, tap_error_line
from hub.sync.ingest import Ingestor
from hub.sync.prepare import DELETED_AT
from schemas.config import ConnectorConfig

__all__ = [
    "IngestWriter",
    "TapReport",
    "external_command",
    "install_plugin",
    "parse_message",
    "run_builtin",
    "run_external",
]

_DECIMAL_JSON = json.JSONDecoder(parse_float=Decimal)
_LOG_LEVEL = re.compile(rb"\b(WARNING|WARN|ERROR|CRITICAL|FATAL)\b")


@dataclass
class TapReport:
    """What an external tap did besides its messages: records per stream, its stderr log
    (kept under .crmhub/logs/) and how many WARNING / ERROR lines that log holds."""

    records: Counter[str] = field(default_factory=Counter)
    log_file: Path | None = None
    warning_lines: int = 0
    error_lines: int = 0
    keyless: set[str] = field(default_factory=set)  # streams whose SCHEMA names no key


def key_override(connector: ConnectorConfig, stream: str) -> list[str] | None:
    """hub.yaml's `streams.<name>.key_properties`, which replaces the tap's key."""
    conf = connector.streams.get(stream)
    return list(conf.key_properties) if conf and conf.key_properties else None


log = logging.getLogger(__name__)


class IngestWriter:
    """A singer-sdk message writer that hands messages straight to an Ingestor."""

    def __init__(
        self,
        ingestor: Ingestor,
        *,
        full_refresh: bool,
        connector: ConnectorConfig | None = None,
    ) -> None:
        self.ingestor = ingestor
        self.full_refresh = full_refresh
        self.connector = connector

    def write_message(self, message: Any) -> None:
        if isinstance(message, RecordMessage):
            self.ingestor.record(message.stream, message.record)
        elif isinstance(message, StateMessage):
            self.ingestor.set_state(dict(message.value))
        elif isinstance(message, SchemaMessage):
            keys = self.connector and key_override(self.connector, message.stream)
            self.ingestor.schema(
                message.stream,
                message.schema,
                keys or list(message.key_properties or []),
                list(message.bookmark_properties or []),
                full_refresh=self.full_refresh,
            )


def build_tap(
    connector: ConnectorConfig, config: dict[str, Any], state: dict[str, Any], writer: Any = None
) -> Tap:
    """Instantiate a built-in connector's tap with resolved config."""
    tap_class = load_connector(connector.type)
    try:
        tap: Tap = tap_class(
            config=config, state=state, message_writer=writer, parse_env_config=False
        )
    except ConfigValidationError as exc:
        raise SyncError(connector.name, config_problems(connector, exc)) from exc
    except Exception as exc:  # taps connect while they are built: keep timeouts retriable
        retriable = is_retriable(exc)
        what = "could not reach the source" if retriable else "invalid connector config"
        raise SyncError(connector.name, f"{what}: {one_line(exc)}", retriable=retriable) from exc
    return tap


_REQUIRED = re.compile(r"^'(?P<key>[^']+)' is a required property(?: in config(?P<at>\[.*\]))?$")
_AT = re.compile(r"^(?P<message>.*) in config(?P<at>\[.*\])$")


def _key_path(at: str | None) -> str:
    """`['streams'][0]` as `streams[0]`."""
    parts = re.findall(r"\[('(?:[^']*)'|\d+)\]", at or "")
    path = ""
    for part in parts:
        path += f"[{part}]" if part.isdigit() else f"{'.' if path else ''}{part.strip(chr(39))}"
    return path


def config_problems(connector: ConnectorConfig, error: ConfigValidationError) -> str:
    """singer-sdk's config errors as key paths under the connector in hub.yaml:
    `connectors[shop].config.streams[0].path: required, add it`."""
    where = f"connectors[{connector.name}].config"
    problems = []
    for text in error.errors or [str(error)]:
        required, located = _REQUIRED.match(text), _AT.match(text)
        if required:
            key = ".".join(p for p in (_key_path(required["at"]), required["key"]) if p)
            problems.append(f"{where}.{key}: required, add it")
        elif located:
            problems.append(f"{where}.{_key_path(located['at'])}: {located['message']}")
        else:
            problems.append(f"{where}: {text}")
    return "invalid connector config: " + "; ".join(problems)


def run_builtin(
    connector: ConnectorConfig,
    config: dict[str, Any],
    state: dict[str, Any],
    ingestor: Ingestor,
    *,
    full_refresh: bool,
    cwd: Path,
) -> None:
    """Run a registered singer-sdk tap in this process (relative paths resolve from `cwd`)."""
    with contextlib.chdir(cwd):
        writer = IngestWriter(ingestor, full_refresh=full_refresh, connector=connector)
        # singer-sdk's SIGINT/SIGTERM handlers write state from inside the handler (re-entering
        # the Ingestor mid-write) and exit 0: keep ours, so Ctrl-C ends the run as an interrupt
        handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        tap = build_tap(connector, config, state, writer)
        for signum, handler in handlers.items():
            if threading.current_thread() is threading.main_thread() and handler is not None:
                signal.signal(signum, handler)
        tap.sync_all()


def external_command(
    connector: ConnectorConfig, plugin_dir: Path, base_dir: Path | None = None
) -> str:
    """The executable of an external tap: a path (a relative one is relative to hub.yaml's
    folder `base_dir`, not to the shell's), a command on PATH, or installed from `pip_url`."""
    name = connector.executable or connector.name
    looked: list[str] = []
    if "/" in name or os.sep in name:
        path = Path(name).expanduser()
        if not path.is_absolute():
            path = Path(base_dir or ".").resolve() / path
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        looked.append(str(path) + (" (not executable)" if path.is_file() else ""))
    else:
        found = shutil.which(name)
        if found:
            return found
        looked.append(f"{name!r} on PATH")
    installed = plugin_dir / connector.name / "bin" / Path(name).name
    if connector.pip_url:  # installed already unless pip_url changed (a new version pin)
        return str(install_plugin(connector, plugin_dir))
    if installed.exists():
        return str(installed)
    looked.append(str(installed))
    raise SyncError(
        connector.name,
        f"tap executable {name!r} not found (looked at {'; '.join(looked)}) — install it, "
        "give its path (relative paths are relative to hub.yaml's folder), or set pip_url",
    )


def install_plugin(connector: ConnectorConfig, plugin_dir: Path) -> Path:
    """Install an external tap into its own virtualenv (as Meltano does) and return its path.

    The venv remembers the `pip_url` it was installed from (`.crmhub-pip-url`): a changed
    `pip_url` (a new version pin) installs again into the same venv instead of running the
    old tap."""
    venv = plugin_dir / connector.name
    exe = venv / "bin" / Path(connector.executable or connector.name).name
    stamp = venv / ".crmhub-pip-url"
    wanted = connector.pip_url or ""
    if exe.exists() and (not wanted or _read(stamp) == wanted):
        return exe
    plugin_dir.mkdir(parents=True, exist_ok=True)
    # one installer at a time per plugin (two syncs, or test workers, may ask at once);
    # the one that waited finds it installed
    with (plugin_dir / f".{connector.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if exe.exists() and (not wanted or _read(stamp) == wanted):
            return exe
        return _install(connector, venv, exe, stamp, plugin_dir)


def _install(
    connector: ConnectorConfig, venv: Path, exe: Path, stamp: Path, plugin_dir: Path
) -> Path:
    """`install_plugin`'s work, under its lock."""
    wanted = connector.pip_url or ""
    log.info("installing %s (%s) into %s", connector.name, connector.pip_url, venv)
    if not (venv / "bin" / "python").exists():
        python = sys.executable
        if connector.python:  # Meltano's per-plugin interpreter
            chosen = shutil.which(connector.python)
            if chosen is None:
                raise SyncError(
                    connector.name,
                    f"python: {connector.python!r} is not installed here — install it or "
                    "drop `python:` to use the hub's own",
                )
            python = chosen
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
    uv = Path(sys.executable).with_name("uv")
    if uv.exists():
        cmd = [str(uv), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python")]
    else:
        cmd = [str(venv / "bin" / "pip"), "install", "--quiet"]
    result = subprocess.run([*cmd, *(connector.pip_url or "").split()], capture_output=True)
    if result.returncode != 0:
        output = result.stderr.decode(errors="replace")
        log_file = plugin_dir / f"{connector.name}.install.log"
        log_file.write_text(output, encoding="utf-8")
        raise SyncError(
            connector.name,
            f"could not install {connector.pip_url!r}: {install_error(output)} (installer "
            f"output: {log_file}) — pin a version that supports Python "
            f"{sys.version_info.major}.{sys.version_info.minor}, or point `executable:` at "
            "the tap installed elsewhere",
        )
    if not exe.exists():
        commands = sorted(p.name for p in (venv / "bin").glob("tap*"))
        raise SyncError(
            connector.name,
            f"{connector.pip_url!r} installed no command {exe.name!r} (it has: "
            f"{', '.join(commands) or 'no tap-* command'}) — set `executable:` in hub.yaml",
        )
    stamp.write_text(wanted, encoding="utf-8")
    return exe


def install_error(output: str) -> str:
    """The line of an installer's output that says what failed — uv's or pip's `error:`
    line with the cause uv gives on the next — else its last line that is not a hint."""
    lines = [x.strip() for x in output.splitlines() if x.strip()]
    at = next((i for i, x in enumerate(lines) if x.lower().startswith(("error:", "\u00d7 "))), None)
    if at is None:
        return next((x for x in reversed(lines) if not x.startswith("hint:")), "no output")
    said = lines[at].removeprefix("\u00d7 ").removeprefix("error: ").removeprefix("ERROR: ")
    cause = lines[at + 1] if at + 1 < len(lines) else ""
    if cause.startswith(("cause:", "\u2570\u2500\u25b6")):
        said = (
            said.rstrip(":")
            + ": "
            + cause.removeprefix("cause:").removeprefix("\u2570\u2500\u25b6").strip()
        )
    return said


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def run_external(
    connector: ConnectorConfig,
    config: dict[str, Any],
    state: dict[str, Any],
    ingestor: Ingestor,
    *,
    executable: str,
    full_refresh: bool,
    cwd: Path,
    catalog: TapCatalog | None = None,
    log_file: Path | None = None,
) -> TapReport:
    """Run a Singer tap as a subprocess and ingest its SCHEMA/RECORD/STATE messages.

    With `catalog`, the tap gets it as `--catalog` or `--properties`. Its stderr goes to
    `log_file` (kept), whose WARNING/ERROR lines are counted into the report.
    """
    report = TapReport(log_file=log_file)
    with tempfile.TemporaryDirectory(prefix="crmhub-tap-") as tmp:
        config_file = Path(tmp) / "config.json"
        fd = os.open(config_file, os.O_WRONLY | os.O_CREAT, 0o600)  # holds resolved secrets
        with os.fdopen(fd, "w") as fh:
            json.dump(config, fh)
        args = [executable, "--config", str(config_file)]
        if state:
            state_file = Path(tmp) / "state.json"
            state_file.write_text(json.dumps(state))
            args += ["--state", str(state_file)]
        if catalog is not None and catalog.passed:
            catalog_file = Path(tmp) / "catalog.json"
            catalog_file.write_text(json.dumps(catalog.catalog))
            args += [catalog.flag, str(catalog_file)]
        stderr_file = log_file or Path(tmp) / "stderr.log"
        stderr_file.parent.mkdir(parents=True, exist_ok=True)
        overrides = {name: key_override(connector, name) for name in connector.streams}
        dropped = deselected_properties(catalog.catalog) if catalog is not None else {}
        bookmarked = bookmarked_streams(catalog.catalog) if catalog is not None else {}
        renamed = _mapped_ids(connector, catalog) if catalog is not None else {}
        with stderr_file.open("wb") as err:
            proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, cwd=cwd)
            try:
                assert proc.stdout is not None
                for line in proc.stdout:
                    _dispatch(
                        line,
                        ingestor,
                        full_refresh,
                        overrides,
                        report.records,
                        dropped,
                        bookmarked,
                        renamed,
                        report.keyless,
                    )
                code = proc.wait()
            except BaseException:
                proc.kill()
                proc.wait()
                raise
        tail: deque[str] = deque(maxlen=40)  # enough for a traceback's last frames
        with stderr_file.open("rb") as fh:
            for raw in fh:
                level = _LOG_LEVEL.search(raw[:200])
                if level:
                    if level.group(1) in (b"WARNING", b"WARN"):
                        report.warning_lines += 1
                    else:
                        report.error_lines += 1
                if raw.strip():
                    tail.append(raw.decode("utf-8", errors="replace").strip())
        if code != 0:
            last = tap_error_line(tail)
            where = f" (tap log: {log_file})" if log_file else ""
            raise SyncError(
                connector.name,
                f"tap exited with code {code}: {one_line(Exception(last))}{where}",
            )
    return report


def _mapped_ids(connector: ConnectorConfig, catalog: TapCatalog) -> dict[str, str]:
    """`stream` name -> `tap_stream_id` for the selected streams whose messages carry the
    name (singer-io taps send `customers` for `erp-customers`) while hub.yaml maps the id;
    a name two selected streams share stays as it is (it cannot say which one it is)."""
    names = Counter(catalog.aliases[s] for s in catalog.selected if s in catalog.aliases)
    return {
        name: sid
        for sid in catalog.selected
        if (name := catalog.aliases.get(sid))
        and names[name] == 1
        and sid in connector.streams
        and name not in connector.streams
    }


def parse_message(line: bytes) -> Any:
    """One Singer message; JSON numbers with a fraction become `Decimal` so that amounts such
    as 12345678901234.5678 reach the hub exact. orjson parses first (fast); only a record
    holding a float (or a line orjson refuses: NaN, >64-bit ints) is parsed again by the
    standard library with `parse_float=Decimal` — about 2x faster than always doing that."""
    try:
        message = orjson.loads(line)
    except orjson.JSONDecodeError:
        return _DECIMAL_JSON.decode(line.decode("utf-8", errors="backslashreplace"))
    if isinstance(message, dict) and _has_float(message.get("record")):
        return _DECIMAL_JSON.decode(line.decode("utf-8", errors="backslashreplace"))
    return message


def _has_float(value: Any) -> bool:
    kind = type(value)
    if kind is float:
        return True
    if kind is dict:
        return any(_has_float(v) for v in value.values())
    if kind is list:
        return any(_has_float(v) for v in value)
    return False


def _dispatch(
    line: bytes,
    ingestor: Ingestor,
    full_refresh: bool,
    key_overrides: dict[str, list[str] | None] | None = None,
    records: Counter[str] | None = None,
    dropped: dict[str, frozenset[str]] | None = None,
    bookmarked: dict[str, list[str]] | None = None,
    renamed: dict[str, str] | None = None,
    keyless: set[str] | None = None,
) -> None:
    """One line of a tap's stdout into the ingestor; properties that hub.yaml deselects
    (`dropped`, per stream) are removed from SCHEMA and RECORD messages, for the taps that
    send them anyway. A SCHEMA without `bookmark_properties` of a stream the catalog
    replicates INCREMENTAL or LOG_BASED gets the catalog's (`bookmarked`): the ingestor
    takes a stream without them for a full-table read, after which it flags every record
    the run did not send as deleted. A stream whose messages carry its `stream` name where
    hub.yaml maps its `tap_stream_id` is taken under the id (`renamed`)."""
    if not line.strip():
        return
    try:
        message = parse_message(line)
    except json.JSONDecodeError as exc:
        text = line.decode("utf-8", errors="backslashreplace")
        ingestor.protocol_error(f"not a Singer message (invalid JSON: {exc.msg})", text)
        return
    kind = message.get("type") if isinstance(message, dict) else None
    if kind == "RECORD" and isinstance(message.get("record"), dict):
        stream = str(message.get("stream"))
        stream = renamed.get(stream, stream) if renamed else stream
        if records is not None:
            records[stream] += 1
        record = message["record"]
        drop = dropped.get(stream) if dropped else None
        if drop:
            record = {k: v for k, v in record.items() if k not in drop}
        ingestor.record(stream, record)
    elif kind == "STATE" and isinstance(message.get("value"), dict):
        ingestor.set_state(message["value"])
    elif kind == "SCHEMA" and isinstance(message.get("schema"), dict):
        stream = str(message.get("stream"))
        stream = renamed.get(stream, stream) if renamed else stream
        schema = message["schema"]
        drop = dropped.get(stream) if dropped else None
        if drop:
            schema = _without(schema, drop)
        if LOG_POSITION in ((bookmarked or {}).get(stream) or ()):
            schema = _with_deletions(schema)
        keys = (key_overrides or {}).get(stream) or message.get("key_properties") or []
        if not keys and keyless is not None:
            keyless.add(stream)
        ingestor.schema(
            stream,
            schema,
            keys,
            message.get("bookmark_properties") or (bookmarked or {}).get(stream) or [],
            full_refresh=full_refresh,
        )
    elif kind in ("ACTIVATE_VERSION", "BATCH"):
        return
    else:
        text = line.decode("utf-8", errors="backslashreplace")
        ingestor.protocol_error(f"not a Singer message (type {kind!r})", text)


def _with_deletions(schema: dict[str, Any]) -> dict[str, Any]:
    """A log-based stream's schema with Singer's `_sdc_deleted_at`: such taps mark the rows
    the source deleted with it, and some (singer-io's tap-mysql) without declaring it."""
    props = schema.get("properties")
    if not isinstance(props, dict) or DELETED_AT in props:
        return schema
    stamp = {"type": ["null", "string"], "format": "date-time"}
    return {**schema, "properties": {**props, DELETED_AT: stamp}}


def _without(schema: dict[str, Any], names: frozenset[str]) -> dict[str, Any]:
    """`schema` without the top-level properties `names` (nor their `required` entries)."""
    trimmed = dict(schema)
    props = schema.get("properties")
    if isinstance(props, dict):
        trimmed["properties"] = {k: v for k, v in props.items() if k not in names}
    required = schema.get("required")
    if isinstance(required, list):
        trimmed["required"] = [r for r in required if r not in names]
    return trimmed
