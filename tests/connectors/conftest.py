"""Fixtures for connector tests: sample files in tmp dirs and in-process tap runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from singer_sdk import Tap

from connectors import ERROR_PROPERTY
from tests import singer
from tests.singer import CapturingWriter


@dataclass
class Run(singer.Run):
    """The messages of one in-process tap run, with its quarantined and clean records."""

    def good(self, stream: str) -> list[dict[str, Any]]:
        return [r for r in self.records(stream) if ERROR_PROPERTY not in r]

    def bad(self, stream: str) -> list[dict[str, Any]]:
        return [r for r in self.records(stream) if ERROR_PROPERTY in r]

    def schema(self, stream: str) -> dict[str, Any]:
        return next(
            m["schema"] for m in self.messages if m["type"] == "SCHEMA" and m["stream"] == stream
        )

    @property
    def state(self) -> dict[str, Any]:
        states: list[dict[str, Any]] = [m["value"] for m in self.messages if m["type"] == "STATE"]
        return states[-1]


RunTap = Callable[..., Run]


@pytest.fixture
def run_tap() -> RunTap:
    """Run a tap in-process: ``run_tap(TapX, config, state=None) -> Run``."""

    def run(
        tap_class: type[Tap], config: dict[str, Any], state: dict[str, Any] | None = None
    ) -> Run:
        writer = CapturingWriter()
        tap = tap_class(config=config, state=state, message_writer=writer)
        tap.sync_all()
        return Run(writer.messages)

    return run


WriteFile = Callable[[str, "str | bytes"], Path]


@pytest.fixture
def write_file(tmp_path: Path) -> WriteFile:
    """Write text (UTF-8) or raw bytes to ``tmp_path / name`` and return the path."""

    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        path.write_bytes(data)
        return path

    return write
