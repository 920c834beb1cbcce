"""Test data put into Tryton through proteus' XML-RPC proxies, and the folder's server.

`shared_server()` starts trytond once per test process (the singer-sdk suite needs it when
its test class is built, at collection) and seeds a company, accounts, countries, parties
(persons, companies, an archived one), sales and invoices; it is stopped at exit. Seeding
uses plain ``create`` calls in one session: proteus' Model objects make a call per field
change, which costs minutes here.
"""

from __future__ import annotations

import atexit
import datetime as dt
import shutil
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from connectors.tryton import TrytonSettings
from connectors.tryton.client import TrytonClient
from tests.systems.tryton.server import TrytonServer, start_tryton

__all__ = ["Seeded", "client", "make_party", "seed", "shared_server"]


def client(server: TrytonServer, **overrides: Any) -> TrytonClient:
    """A logged-in client for ``server`` (settings overridable)."""
    return TrytonClient(TrytonSettings.model_validate({**server.config, **overrides}))


def _one(tryton: TrytonClient, model: str, values: dict[str, Any]) -> int:
    return int(tryton.call(model, "create", [values])[0])


def make_party(
    tryton: TrytonClient,
    name: str,
    *,
    email: str | None = None,
    phone: str | None = None,
    mobile: str | None = None,
    street: str | None = None,
    postal_code: str | None = None,
    city: str | None = None,
    country: str | None = None,
    category: str | None = None,
) -> int:
    """Create a party with the given contacts and one address; return its id."""
    mechanisms = [
        {"type": kind, "value": value}
        for kind, value in (("email", email), ("phone", phone), ("mobile", mobile))
        if value
    ]
    address: dict[str, Any] = {"street": street, "postal_code": postal_code, "city": city}
    if country:
        address["country"] = tryton.call("country.country", "search", [("code", "=", country)])[0]
    values: dict[str, Any] = {
        "name": name,
        "contact_mechanisms": [("create", mechanisms)],
        "addresses": [("create", [address])],
    }
    if category:
        found = tryton.call("party.category", "search", [("name", "=", category)])
        category_id = found[0] if found else _one(tryton, "party.category", {"name": category})
        values["categories"] = [("add", [category_id])]
    return _one(tryton, "party.party", values)


@dataclass
class Seeded:
    """What `seed` created."""

    company_party: int
    persons: list[int]
    organizations: list[int]
    archived: int
    sales: list[int]
    invoices: list[int]


def _company(server: TrytonServer) -> tuple[int, TrytonClient]:
    tryton = client(server)
    euro = _one(
        tryton,
        "currency.currency",
        {"name": "Euro", "code": "EUR", "symbol": "€", "rounding": Decimal("0.01"), "digits": 2},
    )
    tryton.call(
        "country.country",
        "create",
        [
            {"name": n, "code": c}
            for c, n in (("HU", "Hungary"), ("DE", "Germany"), ("PL", "Poland"))
        ],
    )
    own = _one(tryton, "party.party", {"name": "Crm Hub Test Kft."})
    company = _one(tryton, "company.company", {"party": own, "currency": euro})
    user = tryton.call("res.user", "search", [("login", "=", server.user)])[0]
    tryton.call(
        "res.user", "write", [user], {"companies": [("add", [company])], "company": company}
    )
    tryton.close()
    return company, client(server)  # a new session whose context names the company


def _document_line(amount: str, **extra: Any) -> dict[str, Any]:
    return {"description": "Services", "quantity": 1.0, "unit_price": Decimal(amount), **extra}


def seed(server: TrytonServer) -> Seeded:
    """The folder's test data (see the module docstring)."""
    company, tryton = _company(server)
    persons = [
        make_party(
            tryton,
            "Kovács Anna",
            email="anna.kovacs@example.com",
            phone="+36 1 234 5678",
            street="Fő utca 1.",
            postal_code="1011",
            city="Budapest",
            country="HU",
            category="Person",
        ),
        make_party(
            tryton,
            "Jan Nowak",
            email="jan.nowak@example.com",
            mobile="+48 601 234 567",
            street="ul. Długa 5",
            postal_code="00-238",
            city="Warszawa",
            country="PL",
            category="Person",
        ),
        make_party(tryton, "Szabó Péter", email="peter@example.com", city="Pécs"),
    ]
    organizations = [
        make_party(
            tryton,
            "Müller GmbH",
            email="info@mueller.example",
            phone="+49 30 1234567",
            street="Hauptstraße 2",
            postal_code="10115",
            city="Berlin",
            country="DE",
            category="Company",
        ),
        make_party(tryton, "Tisza Trade Zrt.", city="Szeged", country="HU", category="Company"),
    ]
    archived = make_party(tryton, "Old Customer", email="old@example.com")
    tryton.call("party.party", "write", [archived], {"active": False})

    sales = [
        _one(
            tryton,
            "sale.sale",
            {
                "party": party,
                "sale_date": dt.date(2026, 3, day),
                "lines": [("create", [_document_line(amount)])],
            },
        )
        for day, (party, amount) in enumerate(
            [(persons[0], "120.00"), (organizations[0], "990.50"), (persons[1], "35.00")], 1
        )
    ]
    sales.append(_one(tryton, "sale.sale", {"party": persons[2]}))  # a draft without a date

    receivable_type, revenue_type = tryton.call(
        "account.account.type",
        "create",
        [
            {"name": "Receivable", "statement": "balance", "assets": True, "receivable": True},
            {"name": "Revenue", "statement": "income", "revenue": True},
        ],
    )
    receivable, revenue = tryton.call(
        "account.account",
        "create",
        [
            {"name": "Receivable", "code": "311", "type": receivable_type, "party_required": True},
            {"name": "Revenue", "code": "911", "type": revenue_type},
        ],
    )
    journal = tryton.call("account.journal", "search", [("type", "=", "revenue")])[0]
    invoices = [
        _one(
            tryton,
            "account.invoice",
            {
                "type": "out",
                "party": party,
                "invoice_address": tryton.call("party.address", "search", [("party", "=", party)])[
                    0
                ],
                "account": receivable,
                "journal": journal,
                "currency": tryton.call("company.company", "read", [company], ["currency"])[0][
                    "currency"
                ],
                "invoice_date": dt.date(2026, 3, 10),
                "lines": [("create", [_document_line(amount, account=revenue)])],
            },
        )
        for party, amount in ((persons[0], "120.00"), (organizations[1], "450.00"))
    ]
    tryton.close()
    return Seeded(company, persons, organizations, archived, sales, invoices)


_SHARED: tuple[TrytonServer, Seeded] | None = None


def shared_server() -> tuple[TrytonServer, Seeded]:
    """The folder's seeded server, started on first use and stopped at exit."""
    global _SHARED
    if _SHARED is None:
        folder = Path(tempfile.mkdtemp(prefix="crmhub-tryton-"))
        stack = ExitStack()
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        atexit.register(stack.close)
        server = stack.enter_context(start_tryton(folder))
        _SHARED = (server, seed(server))
    return _SHARED
