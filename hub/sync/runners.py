"""Running a connector: a built-in singer-sdk tap in-process, or any Singer tap as a subprocess.

Both feed the same `Ingestor`, so both get the same checkpointing, validation and quarantine.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections import deque
from pathlib import Path
from typing import Any

from singer_sdk import Tap
from singer_sdk.singerlib import RecordMessage, SchemaMessage, StateMessage

from connectors.registry import load_connector
from hub.core.errors import SyncError, is_retriable, one_line
from hub.sync.ingest import Ingestor
from schemas.config import ConnectorConfig

__all__ = ["IngestWriter", "external_command", "install_plugin", "run_builtin", "run_external"]

log = logging.getLogger(__name__)


class IngestWriter:
    """A singer-sdk message writer that hands messages straight to an Ingestor."""

    def __init__(self, ingestor: Ingestor, *, full_refresh: bool) -> None:
        self.ingestor = ingestor
        self.full_refresh = full_refresh

    def write_message(self, message: Any) -> None:
        if isinstance(message, RecordMessage):
            self.ingestor.record(message.stream, message.record)
        elif isinstance(message, StateMessage):
            self.ingestor.set_state(dict(message.value))
        elif isinstance(message, SchemaMessage):
            self.ingestor.schema(
                message.stream,
                message.schema,
                list(message.key_properties or []),
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
    except Exception as exc:  # taps connect while they are built: keep timeouts retriable
        retriable = is_retriable(exc)
        what = "could not reach the source" if retriable else "invalid connector config"
        raise SyncError(connector.name, f"{what}: {one_line(exc)}", retriable=retriable) from exc
    return tap


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
        writer = IngestWriter(ingestor, full_refresh=full_refresh)
        # singer-sdk's SIGINT/SIGTERM handlers write state from inside the handler (re-entering
        # the Ingestor mid-write) and exit 0: keep ours, so Ctrl-C ends the run as an interrupt
        handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        tap = build_tap(connector, config, state, writer)
        for signum, handler in handlers.items():
            if threading.current_thread() is threading.main_thread() and handler is not None:
                signal.signal(signum, handler)
        tap.sync_all()


def external_command(connector: ConnectorConfig, plugin_dir: Path) -> str:
    """The executable of an external tap: on PATH, a path, or installed from `pip_url`."""
    name = connector.executable or connector.name
    found = shutil.which(name)
    if found:
        return found
    installed = plugin_dir / connector.name / "bin" / Path(name).name
    if installed.exists():
        return str(installed)
    if connector.pip_url:
        return str(install_plugin(connector, plugin_dir))
    raise SyncError(
        connector.name,
        f"tap executable {name!r} not found — install it, give its path, or set pip_url",
    )


def install_plugin(connector: ConnectorConfig, plugin_dir: Path) -> Path:
    """Install an external tap into its own virtualenv (as Meltano does) and return its path."""
    venv = plugin_dir / connector.name
    exe = venv / "bin" / Path(connector.executable or connector.name).name
    if exe.exists():
        return exe
    log.info("installing %s (%s) into %s", connector.name, connector.pip_url, venv)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    uv = Path(sys.executable).with_name("uv")
    if uv.exists():
        cmd = [str(uv), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python")]
    else:
        cmd = [str(venv / "bin" / "pip"), "install", "--quiet"]
    result = subprocess.run([*cmd, *(connector.pip_url or "").split()], capture_output=True)
    if result.returncode != 0 or not exe.exists():
        tail = result.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise SyncError(connector.name, f"could not install {connector.pip_url!r}: {tail[0]}")
    return exe


def run_external(
    connector: ConnectorConfig,
    config: dict[str, Any],
    state: dict[str, Any],
    ingestor: Ingestor,
    *,
    executable: str,
    full_refresh: bool,
    cwd: Path,
) -> None:
    """Run a Singer tap as a subprocess and ingest its SCHEMA/RECORD/STATE messages."""
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
        stderr_file = Path(tmp) / "stderr.log"
        with stderr_file.open("wb") as err:
            proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, cwd=cwd)
            try:
                assert proc.stdout is not None
                for line in proc.stdout:
                    _dispatch(line, ingestor, full_refresh)
                code = proc.wait()
            except BaseException:
                proc.kill()
                proc.wait()
                raise
        if code != 0:
            tail: deque[str] = deque(maxlen=1)
            with stderr_file.open(encoding="utf-8", errors="replace") as fh:
                for text in fh:
                    if text.strip():
                        tail.append(text.strip())
            last = tail[0] if tail else "no error output"
            raise SyncError(
                connector.name, f"tap exited with code {code}: {one_line(Exception(last))}"
            )


def _dispatch(line: bytes, ingestor: Ingestor, full_refresh: bool) -> None:
    if not line.strip():
        return
    text = line.decode("utf-8", errors="backslashreplace")
    try:
        message = json.loads(text)
    except json.JSONDecodeError as exc:
        ingestor.protocol_error(f"not a Singer message (invalid JSON: {exc.msg})", text)
        return
    kind = message.get("type") if isinstance(message, dict) else None
    if kind == "RECORD" and isinstance(message.get("record"), dict):
        ingestor.record(str(message.get("stream")), message["record"])
    elif kind == "STATE" and isinstance(message.get("value"), dict):
        ingestor.set_state(message["value"])
    elif kind == "SCHEMA" and isinstance(message.get("schema"), dict):
        ingestor.schema(
            str(message.get("stream")),
            message["schema"],
            message.get("key_properties") or [],
            message.get("bookmark_properties") or [],
            full_refresh=full_refresh,
        )
    elif kind in ("ACTIVATE_VERSION", "BATCH"):
        return
    else:
        ingestor.protocol_error(f"not a Singer message (type {kind!r})", text)
