"""`crmhub check`: is the config valid, and can every connector reach its system?"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.core.errors import one_line
from hub.sync.catalog import stream_ids
from hub.sync.discovery import (
    config_problems,
    discover,
    no_stream_selected,
    prepare_catalog,
    tap_about,
)
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
    undeclared: list[str] = []
    try:
        settings = resolve_connector_config(connector)
        if connector.type == "singer":
            exe = external_command(connector, plugin_dir(config), config.base_dir)
            about = tap_about(exe, settings, Path(config.base_dir))
            problems, undeclared = config_problems(about, settings)
            if problems:
                return CheckResult(connector.name, False, _bad_config(problems, undeclared, about))
            catalog = prepare_catalog(config, connector, settings, exe, refresh=True)
            if catalog is None:
                streams = stream_ids(discover(config, connector, settings, exe, refresh=True))
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
    note = f" — the tap declares no setting {', '.join(undeclared)}: ignored" if undeclared else ""
    if selected is None:
        detail = f"{len(streams)} stream(s): {', '.join(streams)}{note}"
        return CheckResult(connector.name, True, detail)
    if not selected:
        assert catalog is not None  # `selected` comes from it
        return CheckResult(connector.name, False, no_stream_selected(connector, catalog))
    return CheckResult(
        connector.name,
        True,
        f"{len(streams)} stream(s), {len(selected)} selected: {', '.join(selected)}{note}",
    )


def _bad_config(problems: list[str], undeclared: list[str], about: dict[str, Any]) -> str:
    """Why the tap would refuse its config, by its own settings schema, and what to do."""
    said = "; ".join(problems)
    if undeclared:
        known = ", ".join(sorted(about["settings"]["properties"]))
        said += f"; not settings of this tap: {', '.join(undeclared)} (it has: {known})"
    return (
        f"config: {said} — by the tap's own settings (`--about`); fix `config:` in hub.yaml "
        "or set the setting in the environment"
    )
