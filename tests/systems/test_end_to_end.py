"""The islands end: four real systems (Tryton ERP, Stripe via localstripe, django-helpdesk, the
hub's Segment-compatible collector fed by the official client) seeded with the same people
under variants of name, e-mail and phone; sync -> resolve -> push; every system then carries
the right golden id and the agreed corrections, a second push sends nothing, and a second
sync creates no new change."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import segment.analytics as analytics
import sqlalchemy as sa
import stripe
import yaml

from hub.core.retry import RetryPolicy
from hub.push import push
from hub.resolve.run import resolve_store
from hub.store.database import Store
from hub.store.tables import crosswalk, golden_records
from hub.sync.run import sync
from schemas.config import HubConfig, load_config
from tests.systems.helpdesk.server import HelpdeskServer, start_helpdesk
from tests.systems.stripe.server import start_localstripe
from tests.systems.tryton.seed import client as tryton_client
from tests.systems.tryton.seed import make_party
from tests.systems.tryton.server import TrytonServer, start_tryton
from tests.systems.web.server import start_collector

ONCE = RetryPolicy(attempts=1)
WRITE_KEY = "e2e-write-key"

# (name in the ERP, email there, phone there; Stripe name, email, phone; support e-mail;
#  web sign-up e-mail) — one row per real person
PEOPLE = [
    (
        "Anna Kovács",
        "anna.kovacs@citromail.hu",
        "+36 30 123 4567",
        "Kovacs Anna",
        "Anna.Kovacs@citromail.hu",
        "06 30 123 4567",
        "anna.kovacs@citromail.hu",
        "anna.kovacs+shop@citromail.hu",
    ),
    (
        "Nagy István",
        "istvan.nagy@freemail.hu",
        "+36 20 555 1212",
        "István Nagy",
        "istvan.nagy@freemail.hu",
        None,
        "Istvan.Nagy@freemail.hu",
        None,
    ),
    (
        "Katarzyna Wójcik",
        "k.wojcik@onet.pl",
        "+48 601 234 567",
        "Kasia Wojcik",
        "k.wojcik@onet.pl",
        "+48601234567",
        None,
        "k.wojcik@onet.pl",
    ),
    (
        "Avraham Cohen",
        "avi.cohen@walla.co.il",
        "+972 54 321 7654",
        "Avi Cohen",
        "avi.cohen@walla.co.il",
        "054-321-7654",
        "avi.cohen@walla.co.il",
        None,
    ),
]


@dataclass
class Systems:
    tryton: TrytonServer
    stripe_url: str
    stripe_key: str
    helpdesk: HelpdeskServer
    collector: str
    config: HubConfig
    store: Store


def hub_yaml(tmp: Path, tryton: TrytonServer, stripe_url: str, helpdesk: HelpdeskServer) -> Path:
    erp = {
        "name": "erp",
        "type": "tryton",
        "config": {**tryton.config, "password": "${E2E_TRYTON}"},
        "streams": {
            "parties": {
                "entity": "customer",
                "mapping": {
                    "kind": {"const": "person"},
                    "full_name": "person_name",
                    "email": "email",
                    "phone": {"coalesce": ["phone", "mobile"]},
                    "street": "street",
                    "postal_code": "postal_code",
                    "city": "city",
                    "country": "country",
                },
            }
        },
    }
    billing = {
        "name": "billing",
        "type": "stripe",
        "config": {"api_key": "${E2E_STRIPE}", "api_base": stripe_url, "filter_on_server": False},
        "streams": {
            "customers": {
                "entity": "customer",
                "mapping": {
                    "full_name": "name",
                    "country": "address.country",
                    "kind": {"const": "person"},
                },
            }
        },
    }
    support = {
        "name": "support",
        "type": "helpdesk",
        "config": {**helpdesk.tap_config(), "password": "${E2E_HELPDESK}"},
        "streams": {
            "contacts": {
                "entity": "customer",
                "mapping": {"email": "email", "kind": {"const": "person"}},
            },
            "tickets": {
                "entity": "interaction",
                "mapping": {
                    "type": {"const": "ticket"},
                    "occurred_at": "created",
                    "customer_source_id": "contact_id",
                    "subject": "title",
                },
            },
        },
    }
    web = {
        "name": "web",
        "type": "segment",
        "config": {"events_url": "sqlite:///.crmhub/events.db", "write_keys": ["${E2E_WEB}"]},
        "streams": {
            "users": {
                "entity": "customer",
                "mapping": {
                    "given_name": "first_name",
                    "family_name": "last_name",
                    "kind": {"const": "person"},
                },
            },
            "events": {
                "entity": "interaction",
                "mapping": {
                    "customer_source_id": "customer_source_id",
                    "type": "interaction_type",
                    "occurred_at": "timestamp",
                    "subject": "event",
                },
            },
        },
    }
    config = {
        "store": {"url": "sqlite:///.crmhub/hub.db"},
        "connectors": [erp, billing, support, web],
        "identity": {"source_priority": ["erp", "billing", "support", "web"]},
        "pushback": {
            "enabled": True,
            "targets": {
                "erp": {
                    "mode": "update-only",
                    "golden_id_field": "crmhub_golden_id",
                    "fields": {"email": "fill-only", "phone": "fill-only"},
                },
                "billing": {
                    "mode": "update-only",
                    "golden_id_field": "crmhub_golden_id",
                    "fields": {"phone": "fill-only", "full_name": "overwrite"},
                },
                "support": {"mode": "update-only", "golden_id_field": "crm_id"},
            },
        },
    }
    path = tmp / "hub.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    return path


def seed(s: Systems) -> None:
    erp = tryton_client(s.tryton)
    billing = stripe.StripeClient(s.stripe_key, base_addresses={"api": s.stripe_url})
    web = analytics.Client(write_key=WRITE_KEY, host=s.collector, sync_mode=True, max_retries=0)
    for i, (name, email, phone, s_name, s_email, s_phone, support, signup) in enumerate(PEOPLE):
        make_party(erp, name, email=email, phone=phone, city="Budapest", category="Person")
        params: dict[str, Any] = {"name": s_name, "email": s_email}
        if s_phone:
            params["phone"] = s_phone
        billing.v1.customers.create(params=params)  # type: ignore[arg-type]
        if support:
            s.helpdesk.create_ticket(f"Question {i}", support)
        if signup:
            given, _, family = name.partition(" ")
            web.page(anonymous_id=f"visitor-{i}", name="Pricing", message_id=f"v-{i}")
            web.identify(
                f"user-{i}",
                {"email": signup, "firstName": given, "lastName": family},
                anonymous_id=f"visitor-{i}",
                message_id=f"id-{i}",
            )


@pytest.fixture(scope="module")
def systems(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Systems]:
    tmp = tmp_path_factory.mktemp("e2e")
    for folder in ("tryton", "stripe", "helpdesk", "hub"):
        (tmp / folder).mkdir()
    with ExitStack() as stack, pytest.MonkeyPatch.context() as env:
        tryton = stack.enter_context(start_tryton(tmp / "tryton"))
        stripe_url, stripe_key = stack.enter_context(start_localstripe(tmp / "stripe"))
        helpdesk = stack.enter_context(start_helpdesk(tmp / "helpdesk"))
        project = tmp / "hub"
        path = hub_yaml(project, tryton, stripe_url, helpdesk)
        secrets = {
            "E2E_TRYTON": tryton.password,
            "E2E_STRIPE": stripe_key,
            "E2E_HELPDESK": helpdesk.password,
            "E2E_WEB": WRITE_KEY,
        }
        for name, value in secrets.items():
            env.setenv(name, value)
        collector = stack.enter_context(start_collector(path, "web", env=secrets))
        config = load_config(path)
        store = Store.from_config(config)
        store.migrate()
        found = Systems(tryton, stripe_url, stripe_key, helpdesk, collector, config, store)
        seed(found)
        yield found
        store.dispose()


def golden_values(store: Store) -> dict[str, Any]:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(golden_records.c.golden_id, golden_records.c.record))
        return {r.golden_id: r.record for r in rows}


def golden_ids(store: Store) -> dict[tuple[str, str], str]:
    with store.engine.connect() as conn:
        return {(r.source, r.source_id): r.golden_id for r in conn.execute(sa.select(crosswalk))}


def test_sync_resolve_push_ends_the_islands(systems: Systems) -> None:
    s = systems
    first = sync(s.config, s.store, retry=ONCE)
    assert all(r.ok for r in first), [r.error for r in first]
    resolve_store(s.config, s.store, actor="e2e")
    pushed = {r.connector: r for r in push(s.config, s.store, retry=ONCE)}
    assert all(r.failed == 0 for r in pushed.values()), {k: r.errors for k, r in pushed.items()}
    xw = golden_ids(s.store)

    # one golden id per person, whatever the system
    billing = stripe.StripeClient(s.stripe_key, base_addresses={"api": s.stripe_url})
    customers = {c.email.lower(): c for c in billing.v1.customers.list().data}
    erp = tryton_client(s.tryton)
    parties = erp.call("party.party", "search_read", [], 0, None, None, ["name", "identifiers"])
    party_ids = {p["name"]: p["id"] for p in parties}
    for name, email, _, _, s_email, _, support, signup in PEOPLE:
        ids = {xw[("erp", str(party_ids[name]))], xw[("billing", customers[s_email.lower()].id)]}
        if support:
            ids.add(xw[("support", support.lower())])
        assert len(ids) == 1, f"{name} is one customer in every system: {ids}"
        gid = ids.pop()
        # ... and every system now carries it
        assert customers[s_email.lower()].metadata["crmhub_golden_id"] == gid
        codes = [
            i["code"]
            for i in erp.call(
                "party.identifier",
                "search_read",
                [("party", "=", party_ids[name])],
                0,
                None,
                None,
                ["code"],
            )
        ]
        assert f"crmhub:{gid}" in codes
        if support:
            tickets = s.helpdesk.api("GET", "tickets/").json()["results"]
            mine = [t for t in tickets if t["submitter_email"].lower() == support.lower()]
            assert mine and all(t["custom_crm_id"] == gid for t in mine)

    # the agreed corrections: a missing phone filled, a nickname replaced by the ERP's name
    istvan = billing.v1.customers.retrieve(customers["istvan.nagy@freemail.hu"].id)
    assert istvan.phone == "+36 20 555 1212"
    kasia = billing.v1.customers.retrieve(customers["k.wojcik@onet.pl"].id)
    assert kasia.name == "Katarzyna Wójcik"

    again = push(s.config, s.store, retry=ONCE)
    assert [r.sent for r in again] == [0, 0, 0], "a second push sends nothing"

    second = sync(s.config, s.store, retry=ONCE)
    assert all(r.ok for r in second), [r.error for r in second]
    changes = {r.connector: (r.counts.inserted, r.counts.updated) for r in second}
    assert changes == dict.fromkeys(("erp", "billing", "support", "web"), (0, 0)), changes
    values_before = golden_values(s.store)
    summary = resolve_store(s.config, s.store, actor="e2e")
    assert (summary.new, summary.merged, summary.split) == (0, 0, 0)
    # no golden value changes; at most an explanation is refreshed (billing's corrected name
    # now agrees with the ERP's, so "most complete" rather than "source priority" picks it)
    assert golden_values(s.store) == values_before
    assert [r.sent for r in push(s.config, s.store, retry=ONCE)] == [0, 0, 0]
