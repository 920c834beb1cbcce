"""The example project `crmhub init` writes: a hub.yaml and sample exports of four systems.

The same people and companies appear in the ERP database, the billing CSV export, the
support desk's JSON Lines and the website's JSON export, under different ids, spellings,
emails and phone formats — and a few rows are broken on purpose, to show quarantine.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import sqlite3
import unicodedata
from pathlib import Path

__all__ = ["HUB_YAML", "write_example"]

HUB_YAML = """\
# crm-hub configuration — see README.md. Secrets: write ${ENV_VAR}, never the value.
version: 1
store:
  url: sqlite:///.crmhub/hub.db        # any SQLAlchemy URL, e.g. postgresql+psycopg://...
connectors:
  - name: erp                          # ERP database: customers and orders
    type: sql
    config:
      url: sqlite:///data/erp.sqlite
      streams:
        - {name: customers, table: customers, primary_keys: [id], replication_key: updated_at}
        - {name: orders, table: orders, primary_keys: [id], replication_key: ordered_at}
    streams:
      customers:
        entity: customer
        mapping:
          source_id: id
          given_name: first_name
          family_name: last_name
          organization_name: company
          kind: {const: person}
          postal_code: zip
      orders:
        entity: interaction
        mapping:
          customer_source_id: customer_id
          type: {const: order}
          occurred_at: ordered_at
          amount: total
          channel: {const: erp}
  - name: billing                      # billing system's nightly CSV export
    type: files
    config:
      streams:
        - name: customers
          path: data/billing_customers.csv
          primary_keys: [customer_id]
          schema:
            customer_id: {type: [string]}
            display_name: {type: [string, "null"]}
            email: {type: [string, "null"]}
            phone: {type: [string, "null"]}
            address: {type: [string, "null"]}
            postcode: {type: [string, "null"]}
            city: {type: [string, "null"]}
            country: {type: [string, "null"]}
            balance: {type: [number, "null"]}
    streams:
      customers:
        entity: customer
        mapping:
          given_name: {split: display_name, part: first}
          family_name: {split: display_name, part: rest}
          full_name: display_name
          kind: {const: person}
          street: address
          postal_code: postcode
          balance: balance                 # not a canonical field: kept as an extra
  - name: support                      # help desk export: contacts and tickets
    type: files
    config:
      streams:
        - {name: contacts, path: data/support_contacts.jsonl, primary_keys: [contact_id]}
        - {name: tickets, path: data/support_tickets.jsonl, primary_keys: [ticket_id],
           replication_key: created_at}
    streams:
      contacts:
        entity: customer
        mapping: {full_name: name, email: mail, phone: tel, kind: {const: person}}
      tickets:
        entity: interaction
        mapping:
          customer_source_id: contact_id
          type: {const: ticket}
          occurred_at: created_at
          channel: {const: support}
  - name: web                          # website sign-ups (JSON export)
    type: files
    config:
      streams:
        - {name: signups, path: data/web_signups.json, records_path: data.signups,
           primary_keys: [visitor_id]}
    streams:
      signups:
        entity: customer
        mapping:
          full_name: {concat: [first, last]}
          given_name: first
          family_name: last
          kind: {const: person}
identity:
  auto_merge_threshold: 0.95
  review_threshold: 0.70
  source_priority: [erp, billing, support, web]
  # engine: spark                      # full resolves on Apache Spark (the spark extra:
  # spark:                             # pip install 'crm-hub[spark]'); incremental: in process
  #   master: local[2]                 # or spark://host:7077, yarn, k8s://...
  #   run_dir: .crmhub/spark           # stage checkpoints; a failed run resumes from them
  #   conf: {spark.driver.memory: 4g}  # any spark.* setting
pushback:                              # write golden ids and contact data back
  enabled: true
  targets:
    erp:
      mode: update-only                # or upsert: also create customers the ERP lacks
      golden_id_field: crmhub_golden_id
      fields: {email: fill-only, phone: fill-only, postal_code: never}
analytics:                             # crmhub analyse: customer intelligence
  horizon_days: 90                     # churn risk = no purchase in the next 90 days
  default_margin_rate: 0.30            # operating margin where an order carries none
  unit_costs: {ticket: 8, call: 5, visit: 40}   # cost to serve, per interaction
  traits:                              # computed traits beside the built-in ones
    - name: tickets_last_year
      aggregation: count
      kinds: [ticket]
      window_days: 365
      description: Support tickets in the last 12 months
# worklists:                           # proactive items after each analyse (see the README)
#   rules:                             # owner: a steward's user name, or group: a named list
#     - {name: birthdays, kind: birthday, days: 14, owner: anna}
#     - {name: renewals, kind: service, trait: next_renewal, days: 30, lead_days: 7, owner: anna}
#     - {name: risk_rising, kind: churn_rise, min_value: 500, min_rise: 0.2, owner: anna}
#     - {name: welcome, kind: welcome, days: 14, after_days: 3, owner: anna}
"""

_PEOPLE = [
    ("Anna", "Kovács", "HU", "Budapest", "1051", "Váci utca", "+36 30 123 4567"),
    ("István", "Nagy", "HU", "Debrecen", "4025", "Piac utca", "+36 20 555 1212"),
    ("László", "Szabó", "HU", "Szeged", "6720", "Kárász utca", "+36 70 987 6543"),
    ("Katarzyna", "Wójcik", "PL", "Kraków", "31-001", "ulica Floriańska", "+48 601 234 567"),
    ("Łukasz", "Nowak", "PL", "Warszawa", "00-001", "ulica Marszałkowska", "+48 502 111 222"),
    ("Avraham", "Cohen", "IL", "Tel Aviv", "6100001", "Dizengoff Street", "+972 52 123 4567"),
    ("Yael", "Levi", "IL", "Haifa", "3100001", "Herzl Street", "+972 54 765 4321"),
    ("William", "Smith", "GB", "London", "SW1A 1AA", "Baker Street", "+44 20 7946 0958"),
    ("Emily", "Johnson", "US", "Boston", "02108", "Beacon Street", "+1 617 555 0100"),
    ("David", "Cohen", "IL", "Tel Aviv", "6100002", "Allenby Street", "+972 50 222 3333"),
]
_NICK = {"István": "Pista", "Katarzyna": "Kasia", "Avraham": "Avi", "William": "Bill"}


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.replace("Ł", "L").replace("ł", "l"))
    return "".join(c for c in folded if not unicodedata.combining(c))


def _email(given: str, family: str, domain: str) -> str:
    return f"{_ascii(given).lower()}.{_ascii(family).lower()}@{domain}"


def write_example(target: Path, *, force: bool = False) -> list[Path]:
    """Write hub.yaml and the sample data under `target`; returns the files written."""
    target.mkdir(parents=True, exist_ok=True)
    config = target / "hub.yaml"
    if config.exists() and not force:
        raise FileExistsError(f"{config} exists — pass --force to overwrite it")
    data = target / "data"
    data.mkdir(exist_ok=True)
    config.write_text(HUB_YAML, encoding="utf-8")
    rng = random.Random(20261123)  # noqa: S311 — reproducible sample data, not crypto
    base = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    return [config, _erp(data, rng, base), _billing(data), *_support(data, base), _web(data)]


def _erp(data: Path, rng: random.Random, base: dt.datetime) -> Path:
    path = data / "erp.sqlite"
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT,"
        " company TEXT, email TEXT, phone TEXT, street TEXT, zip TEXT, city TEXT,"
        " country TEXT, birth_date TEXT, updated_at TEXT, crmhub_golden_id TEXT);"
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, ordered_at TEXT,"
        " total REAL, currency TEXT, status TEXT);"
    )
    for i, (given, family, country, city, zip_, street, phone) in enumerate(_PEOPLE, 1):
        birth = dt.date(1960 + 3 * i, 1 + i % 12, 1 + (7 * i) % 28).isoformat()
        db.execute(
            "INSERT INTO customers (id, first_name, last_name, company, email, phone, street,"
            " zip, city, country, birth_date, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                1000 + i,
                given,
                family,
                None,
                _email(given, family, "citromail.hu"),
                phone,
                street,
                zip_,
                city,
                country,
                birth,
                (base + dt.timedelta(days=i)).isoformat(),
            ),
        )
        for n in range(rng.randint(1, 4)):
            db.execute(
                "INSERT INTO orders (customer_id, ordered_at, total, currency, status)"
                " VALUES (?,?,?,?,?)",
                (
                    1000 + i,
                    (base + dt.timedelta(days=10 * n + i)).isoformat(),
                    round(rng.uniform(20, 900), 2),
                    "EUR",
                    rng.choice(["paid", "shipped", "cancelled"]),
                ),
            )
    db.commit()
    db.close()
    return path


def _billing(data: Path) -> Path:
    path = data / "billing_customers.csv"
    header = ["customer_id", "display_name", "email", "phone", "address", "postcode"]
    header += ["city", "country", "balance"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        for i, (given, family, country, city, zip_, street, phone) in enumerate(_PEOPLE, 1):
            name = f"{_NICK.get(given, given)} {family}"
            email = _email(given, family, "gmail.com").upper() if i % 2 else None
            out.writerow(
                [
                    f"B-{i:04d}",
                    name,
                    email,
                    phone.replace(" ", ""),
                    street,
                    zip_,
                    city,
                    country,
                    f"{i * 12.5:.2f}",
                ]
            )
        fh.write("B-9001,Broken Row,only-three-columns\n")  # wrong column count
        fh.write("B-9002,Jan Kowalski,jan@example.pl,,,,,PL,not-a-number\n")  # wrong type
    return path


def _support(data: Path, base: dt.datetime) -> list[Path]:
    contacts, tickets = data / "support_contacts.jsonl", data / "support_tickets.jsonl"
    with contacts.open("w", encoding="utf-8") as c, tickets.open("w", encoding="utf-8") as t:
        for i, (given, family, country, _c, _z, _s, phone) in enumerate(_PEOPLE, 1):
            name = f"{family} {given}" if country == "HU" else f"{given} {family}"
            national = "06" + phone[4:].replace(" ", "") if country == "HU" else phone
            c.write(
                json.dumps(
                    {
                        "contact_id": f"S{i}",
                        "name": name,
                        "tel": national,
                        "mail": _email(given, family, "citromail.hu"),
                    }
                )
                + "\n"
            )
            for n in range(i % 3):
                t.write(
                    json.dumps(
                        {
                            "ticket_id": f"T{i}-{n}",
                            "contact_id": f"S{i}",
                            "subject": ["Invoice question", "Delivery late", "Complaint"][n],
                            "status": "open" if n else "closed",
                            "created_at": (base + dt.timedelta(days=20 + i + n)).isoformat(),
                        }
                    )
                    + "\n"
                )
        c.write('{"contact_id": "S99", "name": "Truncated\n')  # malformed JSON line
        c.write(json.dumps({"contact_id": None, "name": "No Id", "mail": "noid@x.io"}) + "\n")
    return [contacts, tickets]


def _web(data: Path) -> Path:
    path = data / "web_signups.json"
    signups = [
        {
            "visitor_id": f"w-{i}",
            "first": _ascii(given),
            "last": _ascii(family),
            "email": _email(given, family, "citromail.hu") if i % 3 else None,
            "newsletter": bool(i % 2),
        }
        for i, (given, family, *_rest) in enumerate(_PEOPLE, 1)
        if i % 2 == 0 or i > 6
    ]
    path.write_text(json.dumps({"data": {"signups": signups}}, indent=1), encoding="utf-8")
    return path
