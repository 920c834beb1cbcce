"""Test data put into Tryton through proteus, and the one server the folder shares.

`shared_server()` starts trytond once per test process (the singer-sdk suite needs it when
its test class is built, at collection) and seeds a company, accounts, countries, parties
(persons, companies, an archived one), sales and invoices; it is stopped at exit.
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

from proteus import Model
from proteus.config import XmlrpcConfig

from tests.systems.tryton.server import TrytonServer, start_tryton

__all__ = ["Seeded", "connect", "make_party", "seed", "shared_server"]


def connect(server: TrytonServer, **overrides: str) -> XmlrpcConfig:
    """A proteus configuration for ``server`` (user and password as given)."""
    user = overrides.get("user", server.user)
    password = overrides.get("password", server.password)
    host = server.url.removeprefix("http://")
    return XmlrpcConfig(f"http://{user}:{password}@{host}/{server.database}/rpc/")


def make_party(
    config: XmlrpcConfig,
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
    Party = Model.get("party.party", config=config)
    party = Party(name=name)
    for kind, value in (("email", email), ("phone", phone), ("mobile", mobile)):
        if value:
            party.contact_mechanisms.new(type=kind, value=value)
    address = party.addresses[0] if party.addresses else party.addresses.new()
    address.street = street
    address.postal_code = postal_code
    address.city = city
    if country:
        Country = Model.get("country.country", config=config)
        (address.country,) = Country.find([("code", "=", country)])
    if category:
        Category = Model.get("party.category", config=config)
        found = Category.find([("name", "=", category)])
        if not found:
            created = Category(name=category)
            created.save()
            found = [created]
        party.categories.append(Category(found[0].id))
    party.save()
    return int(party.id)


@dataclass
class Seeded:
    """What `seed` created."""

    company_party: int
    persons: list[int]
    organizations: list[int]
    archived: int
    sales: list[int]
    invoices: list[int]

    @property
    def customers(self) -> list[int]:
        return [*self.persons, *self.organizations, self.archived]


def _company(config: XmlrpcConfig) -> tuple[Any, XmlrpcConfig]:
    Currency = Model.get("currency.currency", config=config)
    euro = Currency(name="Euro", code="EUR", symbol="€", rounding=Decimal("0.01"), digits=2)
    euro.save()
    Country = Model.get("country.country", config=config)
    for code, name in (("HU", "Hungary"), ("DE", "Germany"), ("PL", "Poland")):
        Country(name=name, code=code).save()
    Party = Model.get("party.party", config=config)
    own = Party(name="Crm Hub Test Kft.")
    own.save()
    Company = Model.get("company.company", config=config)
    company = Company(party=own, currency=euro)
    company.save()
    User = Model.get("res.user", config=config)
    admin = User(config.context.get("user") or 1)
    admin.companies.append(Company(company.id))
    admin.company = Company(company.id)
    admin.save()
    return company, XmlrpcConfig(config.url)  # a new context naming the company


def seed(server: TrytonServer) -> Seeded:
    """The folder's test data (see the module docstring)."""
    company, config = _company(connect(server))
    persons = [
        make_party(
            config,
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
            config,
            "Jan Nowak",
            email="jan.nowak@example.com",
            mobile="+48 601 234 567",
            street="ul. Długa 5",
            postal_code="00-238",
            city="Warszawa",
            country="PL",
            category="Person",
        ),
        make_party(config, "Szabó Péter", email="peter@example.com", city="Pécs"),
    ]
    organizations = [
        make_party(
            config,
            "Müller GmbH",
            email="info@mueller.example",
            phone="+49 30 1234567",
            street="Hauptstraße 2",
            postal_code="10115",
            city="Berlin",
            country="DE",
            category="Company",
        ),
        make_party(config, "Tisza Trade Zrt.", city="Szeged", country="HU", category="Company"),
    ]
    archived = make_party(config, "Old Customer", email="old@example.com")
    Party = Model.get("party.party", config=config)
    old = Party(archived)
    old.active = False
    old.save()

    Sale = Model.get("sale.sale", config=config)
    sales = []
    for number, (party, amount) in enumerate(
        [(persons[0], "120.00"), (organizations[0], "990.50"), (persons[1], "35.00")], start=1
    ):
        sale = Sale(party=Party(party), sale_date=dt.date(2026, 3, number))
        line = sale.lines.new()
        line.description = "Consulting"
        line.quantity = 1
        line.unit_price = Decimal(amount)
        sale.save()
        sales.append(int(sale.id))
    draft = Sale(party=Party(persons[2]))  # no sale date yet: occurred_at is its creation
    draft.save()
    sales.append(int(draft.id))

    AccountType = Model.get("account.account.type", config=config)
    receivable_type = AccountType(
        name="Receivable", statement="balance", assets=True, receivable=True, company=company
    )
    receivable_type.save()
    revenue_type = AccountType(name="Revenue", statement="income", revenue=True, company=company)
    revenue_type.save()
    Account = Model.get("account.account", config=config)
    receivable = Account(
        name="Receivable", code="311", type=receivable_type, party_required=True, company=company
    )
    receivable.save()
    revenue = Account(name="Revenue", code="911", type=revenue_type, company=company)
    revenue.save()
    Journal = Model.get("account.journal", config=config)
    (journal,) = Journal.find([("type", "=", "revenue")])
    Invoice = Model.get("account.invoice", config=config)
    invoices = []
    for party, amount in ((persons[0], "120.00"), (organizations[1], "450.00")):
        invoice = Invoice(
            type="out",
            party=Party(party),
            account=receivable,
            journal=journal,
            invoice_date=dt.date(2026, 3, 10),
        )
        line = invoice.lines.new()
        line.description = "Services"
        line.quantity = 1
        line.unit_price = Decimal(amount)
        line.account = revenue
        invoice.save()
        invoices.append(int(invoice.id))
    return Seeded(int(company.party.id), persons, organizations, archived, sales, invoices)


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
