"""Audiences synced into Stripe (destination kind `system`) against a real localstripe:
customer metadata written per change, a second sync sends nothing, a killed sync re-run
writes each change once, a refused customer lands in push_failures with Stripe's message,
and the next Stripe sync recognises the marks as the hub's own writes (echoes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.stripe import StripeWriter
from connectors.writers import Writer
from hub.analyse import analyse_store
from hub.core.retry import RetryPolicy
from hub.push import system_destinations
from hub.push.audiences import connector_name, sync_audiences
from hub.push.destinations import DestinationDown
from hub.push.system_destinations import SystemSender
from hub.resolve.run import resolve_store
from hub.store.database import Store
from hub.store.tables import audience_cursors, crosswalk, push_failures
from hub.sync.run import sync
from schemas.audiences import AudienceConfig, SystemDestination
from schemas.config import ConfigError, HubConfig
from tests.hub.test_steward_cli import crmhub
from tests.systems.dying_writer import DiesAfter, Killed
from tests.systems.servers import free_port
from tests.systems.stripe.conftest import LocalStripe, Seeder, next_second
from tests.systems.stripe.test_sync import project

NO_RETRY = RetryPolicy(attempts=1)
DEST = {"kind": "system", "name": "billing", "connector": "billing"}


def hub(
    tmp_path: Path, localstripe: LocalStripe, monkeypatch: pytest.MonkeyPatch
) -> tuple[HubConfig, Store]:
    monkeypatch.setenv("STRIPE_API_KEY", localstripe.api_key)
    config, store = project(tmp_path, localstripe, "STRIPE_API_KEY")
    [result] = sync(config, store, retry=NO_RETRY)
    assert result.ok, result.error
    resolve_store(config, store, actor="test")
    analyse_store(config, store)
    return config, store


def with_audience(config: HubConfig, rule: dict[str, Any], **dest: Any) -> HubConfig:
    audience = AudienceConfig.model_validate(
        {"name": "vip", "rule": rule, "fields": ["frequency"], "destinations": [{**DEST, **dest}]}
    )
    return config.model_copy(update={"audiences": [audience]})


def metadata(localstripe: LocalStripe, customer: str) -> dict[str, str]:
    found: dict[str, str] = (
        localstripe.client().v1.customers.retrieve(customer).to_dict()["metadata"]
    )
    return found


def writes(localstripe: LocalStripe, customer: str) -> int:
    """Customer updates localstripe answered for this customer."""
    return localstripe.logged(f"POST /v1/customers/{customer} HTTP", timeout=2.0)


ALL = {"trait": "golden_id", "is_null": False}


def golden_id(store: Store, customer: str) -> str:
    with store.engine.connect() as conn:
        found: str = conn.execute(
            sa.select(crosswalk.c.golden_id).where(crosswalk.c.source_id == customer)
        ).scalar_one()
    return found


def test_members_marked_second_sync_sends_nothing_and_exits_clear(
    tmp_path: Path, localstripe: LocalStripe, seeder: Seeder, monkeypatch: pytest.MonkeyPatch
) -> None:
    customers = [seeder.customer(n) for n in (1, 2)]
    next_second()  # as on a loaded machine: the customers' `created` spans two seconds
    customers.append(seeder.customer(3))
    base, store = hub(tmp_path, localstripe, monkeypatch)
    config = with_audience(base, ALL)

    [first] = sync_audiences(config, store)
    assert (first.entered, first.exited, first.failed) == (3, 0, 0)
    for n, customer in enumerate(customers, start=1):
        assert metadata(localstripe, customer) == {
            "erp_id": f"E-{n}",
            "crmhub_audience_vip": "1",
            "crmhub_vip_frequency": "0",
        }
        assert writes(localstripe, customer) == 1

    [second] = sync_audiences(config, store)
    assert (second.sent, second.retried, second.failed) == (0, 0, 0)
    assert [writes(localstripe, c) for c in customers] == [1, 1, 1]  # no request at all

    # the next Stripe sync reads the marks back: echoes of our write, not news. Incremental:
    # the customers' `created` spans two seconds, so listing by `created` finds only the
    # newest; the other two come from the customer.updated events our writes caused
    [read] = sync(config, store, retry=NO_RETRY)
    assert read.ok, read.error
    assert (read.counts.updated, read.counts.echoed) == (0, 3)

    narrowed = with_audience(base, {"trait": "golden_id", "in": [golden_id(store, customers[0])]})
    [third] = sync_audiences(narrowed, store)
    assert (third.entered, third.exited) == (0, 2)
    assert metadata(localstripe, customers[0])["crmhub_audience_vip"] == "1"
    for customer in customers[1:]:  # Stripe drops a key set to ""; localstripe keeps it empty
        marks = metadata(localstripe, customer)
        assert marks.get("crmhub_audience_vip", "") == marks.get("crmhub_vip_frequency", "") == ""
        assert writes(localstripe, customer) == 2


def test_killed_sync_rerun_writes_each_change_once(
    tmp_path: Path, localstripe: LocalStripe, seeder: Seeder, monkeypatch: pytest.MonkeyPatch
) -> None:
    customers = [seeder.customer(n) for n in range(1, 6)]
    base, store = hub(tmp_path, localstripe, monkeypatch)
    config = with_audience(base, ALL)
    [dest] = config.audiences[0].destinations
    assert isinstance(dest, SystemDestination)
    dying = SystemSender(config, store, "vip", dest, retry=NO_RETRY)
    dying.writer = DiesAfter(dying.writer, left=2)
    with pytest.raises(Killed):
        sync_audiences(config, store, senders={("vip", "billing"): dying})
    assert sorted(writes(localstripe, c) for c in customers) == [0, 0, 0, 1, 1]

    [rerun] = sync_audiences(config, store)
    assert (rerun.entered, rerun.failed) == (3, 0)
    assert [writes(localstripe, c) for c in customers] == [1, 1, 1, 1, 1]
    assert all(metadata(localstripe, c)["crmhub_audience_vip"] == "1" for c in customers)


def test_refused_customer_kept_in_push_failures_with_stripes_message(
    tmp_path: Path, localstripe: LocalStripe, seeder: Seeder, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept, gone = seeder.customer(1), seeder.customer(2)
    base, store = hub(tmp_path, localstripe, monkeypatch)
    localstripe.client().v1.customers.delete(gone)  # deleted in Stripe after the last sync
    config = with_audience(base, ALL)

    [result] = sync_audiences(config, store)
    assert (result.entered, result.failed) == (1, 1)
    assert metadata(localstripe, kept)["crmhub_audience_vip"] == "1"
    golden = golden_id(store, gone)
    with store.engine.connect() as conn:
        [failure] = conn.execute(
            sa.select(push_failures).where(
                push_failures.c.connector == connector_name("vip", "billing")
            )
        ).all()
    assert failure.golden_id == golden
    assert failure.error.startswith(f"stripe: customer {gone}: 404 from ")

    [again] = sync_audiences(config, store)  # retried first on the next sync, refused again
    assert (again.sent, again.failed) == (0, 1)


def test_connector_without_writer_is_a_key_path_error(
    tmp_path: Path, localstripe: LocalStripe, seeder: Seeder, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeder.customer(1)
    base, store = hub(tmp_path, localstripe, monkeypatch)
    with pytest.raises(ConfigError, match=r"audiences\[0\]\.destinations\[0\]\.connector: no "):
        sync_audiences(with_audience(base, ALL, connector="crm"), store)


class ReadOnly(Writer):
    """A writer without `apply_audience` (as the helpdesk and sql writers still are)."""

    def update(self, item: Any) -> None:
        raise AssertionError("not called")


def test_writer_without_audience_hook_is_a_key_path_error(
    tmp_path: Path, localstripe: LocalStripe, seeder: Seeder, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeder.customer(1)
    base, store = hub(tmp_path, localstripe, monkeypatch)
    monkeypatch.setattr(system_destinations, "load_writer", lambda kind: ReadOnly)
    with pytest.raises(
        ConfigError, match=r"destinations\[0\]\.connector: the stripe writer .* cannot"
    ):
        sync_audiences(with_audience(base, ALL), store)


def test_crmhub_check_names_the_key_path(
    tmp_path: Path, localstripe: LocalStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(tmp_path, localstripe, "STRIPE_API_KEY")
    hub_yaml = tmp_path / "hub.yaml"
    hub_yaml.write_text(
        hub_yaml.read_text()
        + "audiences:\n"
        + "  - name: vip\n"
        + "    rule: {trait: frequency, gte: 1}\n"
        + "    destinations: [{kind: system, name: desk, connector: crm}]\n"
    )
    checked = crmhub("check", cwd=tmp_path, env={"STRIPE_API_KEY": localstripe.api_key})
    assert checked.returncode == 2
    assert "audiences[0].destinations[0].connector: no connector named 'crm'" in checked.stderr


def test_stripe_down_keeps_the_cursor_and_the_next_sync_sends_everything(
    tmp_path: Path, localstripe: LocalStripe, seeder: Seeder, monkeypatch: pytest.MonkeyPatch
) -> None:
    customers = [seeder.customer(n) for n in (1, 2)]
    base, store = hub(tmp_path, localstripe, monkeypatch)
    config = with_audience(base, ALL)
    [dest] = config.audiences[0].destinations
    assert isinstance(dest, SystemDestination)
    down = SystemSender(config, store, "vip", dest, retry=RetryPolicy(attempts=2, initial_delay=0))
    down.writer = StripeWriter(localstripe.config(api_base=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(DestinationDown, match="vip/billing: billing did not answer after 2 "):
        sync_audiences(config, store, senders={("vip", "billing"): down})
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(audience_cursors)).all() == []
        assert conn.execute(sa.select(push_failures)).all() == []

    [result] = sync_audiences(config, store)
    assert (result.entered, result.failed) == (2, 0)
    assert [writes(localstripe, c) for c in customers] == [1, 1]
