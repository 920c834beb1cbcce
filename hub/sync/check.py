"""`crmhub check`: is the config valid, and can every connector reach its system?"""

from __future__ import annotations

import contextlib
import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hub.core.errors import one_line
from hub.sync.discovery import no_stream_selected, prepare_catalog
from hub.sync.run import plugin_dir
from hub.sync.runners import build_tap, external_command
from schemas.config import ConnectorConfig, HubConfig, resolve_connector_config

__all__ = ["CheckResult", "check_connector"]


@dataclass(frozen=True)
class CheckResult:
    """One connector's check: ok, and the streams it offers or what went wrong."""

    connector: str
    ok: bool
    detail: str


def check_connector(config: HubConfig, connector: ConnectorConfig) -> CheckResult:
    """Resolve secrets, build the tap and run its discovery (which connects to the system).

    For an external tap that takes a catalog, discovery is run afresh (and cached for the
    next sync) and the detail says how many streams hub.yaml's `select:` selects; selecting
    none fails the check, as it would fail the sync."""
    selected: list[str] | None = None
    try:
        settings = resolve_connector_config(connector)
        if connector.type == "singer":
            exe = external_command(connector, plugin_dir(config), config.base_dir)
            catalog = prepare_catalog(config, connector, settings, exe, refresh=True)
            if catalog is None:
                streams = _discover_external(config, connector, settings, exe)
            else:
                streams, selected = catalog.streams, catalog.selected
        else:
            with contextlib.chdir(config.base_dir):
                tap = build_tap(connector, settings, {})
                streams = sorted(tap.streams)
    except Exception as exc:
        detail = one_line(exc).removeprefix(f"{connector.name}: ")  # the CLI names it
        return CheckResult(connector.name, False, detail)
    unknown = sorted(set(connector.streams) - set(streams))
    if unknown:
        return CheckResult(
            connector.name,
            False,
            f"hub.yaml maps stream(s) {', '.join(unknown)} the tap does not offer "
            f"(it offers: {', '.join(streams) or 'none'})",
        )
    if selected is None:
        return CheckResult(connector.name, True, f"{len(streams)} stream(s): {', '.join(streams)}")
    if not selected:
        assert catalog is not None  # `selected` comes from it
        return CheckResult(connector.name, False, no_stream_selected(connector, catalog))
    return CheckResult(
        connector.name,
        True,
        f"{len(streams)} stream(s), {len(selected)} selected: {', '.join(selected)}",
    )


def _discover_external(
    config: HubConfig, connector: ConnectorConfig, settings: dict[str, object], exe: str
) -> list[str]:
    with tempfile.NamedTemporaryFile("w", suffix=".json") as fh:
        json.dump(settings, fh)
        fh.flush()
        done = subprocess.run(
            [exe, "--config", fh.name, "--discover"],
            capture_output=True,
            timeout=300,
            cwd=Path(config.base_dir),
        )
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines() or ["no output"]
        raise RuntimeError(f"--discover failed (exit {done.returncode}): {lines[-1]}")
    catalog = json.loads(done.stdout)
    return sorted(s.get("tap_stream_id") or s["stream"] for s in catalog.get("streams", []))
