"""One real django-helpdesk per test session, seeded through its REST API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from singer_sdk import Tap

from tests.connectors.conftest import CapturingWriter, Run
from tests.systems.helpdesk.server import HelpdeskServer, start_helpdesk

# (title, submitter e-mail as typed, follow-ups: (comment, new status or None))
SEED: list[tuple[str, str, list[tuple[str, int | None]]]] = [
    ("Invoice shows the wrong address", "Anna.Kovacs@Example.com", []),
    ("Second invoice, same problem", "anna.kovacs@example.com", [("Still wrong", None)]),
    ("Cannot log in", "bela@example.com", [("Reset link sent", None), ("Works now", 3)]),
    ("Refund please", "carol@example.com", []),
    ("Delivery late", "dora@example.com", []),
]
SEED_CONTACTS = [
    "anna.kovacs@example.com",
    "bela@example.com",
    "carol@example.com",
    "dora@example.com",
]


@dataclass
class Seeded:
    """The running helpdesk and the ids of what the session seeded into it."""

    server: HelpdeskServer
    tickets: dict[str, int] = field(default_factory=dict)  # title -> ticket id

    def config(self, **overrides: Any) -> dict[str, Any]:
        return self.server.tap_config(**overrides)


@pytest.fixture(scope="session")
def helpdesk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    with start_helpdesk(tmp_path_factory.mktemp("helpdesk")) as server:
        seeded = Seeded(server)
        for title, email, followups in SEED:
            ticket = server.create_ticket(title, email)
            seeded.tickets[title] = int(ticket["id"])
            for comment, status in followups:
                extra = {"new_status": status} if status is not None else {}
                server.add_followup(ticket["id"], comment, **extra)
        yield seeded


@pytest.fixture
def run_tap() -> Any:
    """Run a tap in-process: ``run_tap(TapX, config, state=None) -> Run``."""

    def run(
        tap_class: type[Tap], config: dict[str, Any], state: dict[str, Any] | None = None
    ) -> Run:
        writer = CapturingWriter()
        tap_class(config=config, state=state, message_writer=writer).sync_all()
        return Run(writer.messages)

    return run
