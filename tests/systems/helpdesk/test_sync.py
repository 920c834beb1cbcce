"""The hub syncing the live helpdesk with the hub.yaml of the connector's docstring."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

import connectors.helpdesk
from hub.core.retry import RetryPolicy
from hub.store.database import Store
from hub.store.tables import customer_records, interactions
from hub.sync.run import SyncResult, sync
from schemas.config import HubConfig, load_config
from tests.hub.helpers import snapshot
from tests.systems.helpdesk.conftest import SEED_CONTACTS, Seeded
from tests.systems.servers import free_port

FAST_RETRY = RetryPolicy(attempts=3, initial_delay=0.01)


def docstring_yaml() -> dict[str, Any]:
    """The sample hub.yaml of `connectors.helpdesk`, as documented."""
    doc = connectors.helpdesk.__doc__ or ""
    block = doc.split("A ``hub.yaml`` for it::\n", 1)[1]
    parsed: dict[str, Any] = yaml.safe_load(block)
    return parsed


class Project:
    """A hub.yaml for the live helpdesk; `settings(...)` rewrites the connector's config."""

    def __init__(self, folder: Path, helpdesk: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
        self.folder = folder
        self.monkeypatch = monkeypatch
        self.data = docstring_yaml()
        self.data["store"] = {"url": f"sqlite:///{folder / 'hub.db'}"}
        self.settings(base_url=helpdesk.server.base_url, username=helpdesk.server.username)
        monkeypatch.setenv("HELPDESK_PASSWORD", helpdesk.server.password)
        self.store = Store.open(self.data["store"]["url"])

    def settings(self, **values: Any) -> None:
        self.data["connectors"][0]["config"].update(values)

    def config(self) -> HubConfig:
        path = self.folder / "hub.yaml"
        path.write_text(yaml.safe_dump(self.data))
        return load_config(path)

    def sync(self, retry: RetryPolicy = FAST_RETRY) -> SyncResult:
        (result,) = sync(self.config(), self.store, retry=retry)
        return result


@pytest.fixture
def project(tmp_path: Path, helpdesk: Seeded, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    p = Project(tmp_path, helpdesk, monkeypatch)
    yield p
    p.store.dispose()


def test_the_sample_mapping_lands_customers_and_interactions(project: Project) -> None:
    assert project.config().pushback.targets["support"].golden_id_field == "crm_id"
    first = project.sync()
    assert first.ok, first.error
    assert first.counts.read == first.counts.inserted > 0
    assert first.counts.quarantined == 0
    with project.store.engine.connect() as conn:
        c, i = customer_records.c, interactions.c
        customers = dict(
            conn.execute(sa.select(c.source_id, c.email).where(c.source == "support")).all()
        )
        rows = conn.execute(
            sa.select(i.source_id, i.customer_source_id, i.type, i.status, i.subject)
        ).all()
    for email in SEED_CONTACTS:
        assert customers[email] == email
    tickets = {r.source_id: r for r in rows if "|" not in r.source_id}
    followups = [r for r in rows if "|" in r.source_id]  # keyed ticket|followup
    assert {r.type for r in rows} == {"ticket"}
    assert {r.customer_source_id for r in rows} <= set(customers)
    login = next(r for r in tickets.values() if r.subject == "Cannot log in")
    assert (login.customer_source_id, login.status) == ("bela@example.com", "Resolved")
    assert any(r.status == "Resolved" for r in followups)


def test_a_second_sync_finds_everything_unchanged(project: Project, helpdesk: Seeded) -> None:
    ticket = helpdesk.server.create_ticket("Sync me twice", "eve@example.com")
    first = project.sync()
    assert first.ok, first.error
    again = project.sync()
    assert again.ok, again.error
    assert (again.counts.inserted, again.counts.updated, again.counts.deleted) == (0, 0, 0)
    assert again.counts.unchanged == again.counts.read == first.counts.read

    helpdesk.server.add_followup(ticket["id"], "Any news?")
    third = project.sync()
    assert third.ok, third.error
    # The ticket (one more follow-up, a later `modified`) and the new follow-up; Eve herself
    # and every other record are unchanged.
    assert (third.counts.inserted, third.counts.updated) == (1, 1)
    assert third.counts.unchanged == third.counts.read - 2


def test_refused_connection_and_bad_credentials_lose_nothing(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert project.sync().ok
    before = snapshot(project.store)
    state = project.store.load_state("support")

    monkeypatch.setenv("HELPDESK_PASSWORD", "not-the-password")
    denied = project.sync()
    assert not denied.ok
    assert denied.attempts == 1  # fatal: not retried
    assert denied.error is not None and "\n" not in denied.error
    assert "401 Unauthorized" in denied.error and "check username and password" in denied.error
    assert "not-the-password" not in denied.error

    project.settings(base_url=f"http://127.0.0.1:{free_port()}")
    refused = project.sync()
    assert not refused.ok
    assert refused.attempts == 1
    assert refused.error is not None and "Connection refused" in refused.error

    assert snapshot(project.store) == before  # nothing deleted, nothing overwritten
    assert project.store.load_state("support") == state
