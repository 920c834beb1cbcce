"""Fixtures for the web source: a hub project, a seeded event store, in-process tap runs."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

import connectors.segment
from connectors.segment import TapSegment
from connectors.segment_store import EVENTS, REJECTS, events_engine
from hub.collector import Accepted, EventWriter, Rejected, WriteResult, accept
from tests.singer import CapturingWriter, Run
from tests.systems.web.server import start_collector

WRITE_KEY = "wk-test-7d1f0c"
WRITE_KEY_ENV = "WEB_WRITE_KEY"


def sample_connector() -> dict[str, Any]:
    """The `web` connector of the sample hub.yaml in connectors/segment.py's docstring."""
    doc = connectors.segment.__doc__ or ""
    block = doc.split("Sample hub.yaml::", 1)[1]
    return dict(yaml.safe_load(textwrap.dedent(block))["connectors"][0])


def write_project(folder: Path, *, events_url: str | None = None) -> Path:
    """A hub.yaml in ``folder`` with the sample `web` connector (store and events there)."""
    folder.mkdir(parents=True, exist_ok=True)
    web = sample_connector()
    if events_url is not None:
        web["config"] = {**web["config"], "events_url": events_url}
    config = {"store": {"url": f"sqlite:///{folder / 'hub.db'}"}, "connectors": [web]}
    path = folder / "hub.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def events_url_of(project: Path) -> str:
    """The project's event store URL (the sample's relative default, made absolute)."""
    return f"sqlite:///{project.parent / '.crmhub' / 'events.db'}"


def stored(url: str) -> list[dict[str, Any]]:
    engine = events_engine(url)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(sa.select(EVENTS).order_by(EVENTS.c.seq)).mappings()]
    engine.dispose()
    return rows


def rejects(url: str) -> list[dict[str, Any]]:
    engine = events_engine(url)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(sa.select(REJECTS).order_by(REJECTS.c.id)).mappings()]
    engine.dispose()
    return rows


T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def seed(url: str, *messages: dict[str, Any]) -> WriteResult:
    """Write messages to the event store in-process, as the collector would."""
    engine = events_engine(url, create=True)
    try:
        results = [accept(m, T0) for m in messages]
        writer = EventWriter(engine)
        good = [r for r in results if isinstance(r, Accepted)]
        bad = [r for r in results if isinstance(r, Rejected)]
        return writer.write(good, bad, endpoint="batch", received_at=T0)
    finally:
        engine.dispose()


def msg(kind: str, mid: str, minute: int, **fields: Any) -> dict[str, Any]:
    """A Segment message of ``kind`` with id ``mid`` at T0 + ``minute`` minutes."""
    when = (T0 + dt.timedelta(minutes=minute)).isoformat()
    return {"type": kind, "messageId": mid, "timestamp": when, **fields}


RunTap = Callable[..., Run]


@pytest.fixture
def run_tap() -> RunTap:
    """``run_tap(config, state=None) -> Run``: TapSegment in-process."""

    def run(config: dict[str, Any], state: dict[str, Any] | None = None) -> Run:
        writer = CapturingWriter()
        TapSegment(config=config, state=state, message_writer=writer).sync_all()
        return Run(writer.messages)

    return run


@pytest.fixture
def events_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'events.db'}"


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """(hub.yaml, base URL) of one real `crmhub collect` shared by a test module."""
    project = write_project(tmp_path_factory.mktemp("web"))
    with start_collector(project, env={WRITE_KEY_ENV: WRITE_KEY}) as base_url:
        yield project, base_url
