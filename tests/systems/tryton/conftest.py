"""Fixtures: the folder's seeded trytond server and in-process tap runs against it."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.tryton import TapTryton
from tests.connectors.conftest import CapturingWriter, Run
from tests.systems.tryton.seed import Seeded, shared_server
from tests.systems.tryton.server import TrytonServer


@pytest.fixture(scope="session")
def tryton() -> TrytonServer:
    return shared_server()[0]


@pytest.fixture(scope="session")
def seeded() -> Seeded:
    return shared_server()[1]


@pytest.fixture
def run_tryton(tryton: TrytonServer) -> Any:
    """``run_tryton(state=None, **settings) -> Run`` of TapTryton against the server."""

    def run(state: dict[str, Any] | None = None, **settings: Any) -> Run:
        writer = CapturingWriter()
        tap = TapTryton(config={**tryton.config, **settings}, state=state, message_writer=writer)
        tap.sync_all()
        return Run(writer.messages)

    return run
