"""A second CRM data set, written apart from `crm_generator.py`: a web shop's customers.

    python -m benchmarks.identity.crm_webshop --entities 20000 --seed 3 --out DIR

writes ``DIR/records.jsonl.gz`` (CustomerRecord JSON Lines) and ``DIR/truth.csv``. It exists
so that the engine is not only ever measured on the data its authors tuned it for: other
countries (US, DE, FR, ES, NL, IT), other systems, other assumptions about what each system
knows of a customer:

* ``shop`` — the account: given and family name, e-mail, often a phone and a delivery
  address, seldom a birth date; companies with their VAT id;
* ``payments`` — the name as embossed on the card (``J SMITH``, ``JOHN A SMITH``), the postal
  code the card checks, an e-mail most of the time;
* ``helpdesk`` — a requester: a display name (``john``, ``John S.``, ``jsmith``, or the full
  name) and the e-mail the ticket came from, now and then a phone;
* ``tracking`` — identify calls from the website and the app: an e-mail only, a phone only,
  an e-mail with a first name (newsletter sign-up), or only a user id (nothing to match on);
* ``marketing`` — list imports: a name, an e-mail, a postal code, some fields left out.

People change e-mail provider (the new address in later records, the old one in earlier
ones), households share an address, a landline and a family mailbox (``thesmiths@``,
``familie.weber@``) that several members use, and common names recur in one city. Values are
drawn from small per-country pools that Faker fills once per seed, so the output depends only
on the seed and the Faker version.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.identity import TruthRow, write_jsonl, write_truth

__all__ = ["Webshop", "generate", "write"]

_COUNTRIES = {  # locale, country, calling code, mobile prefixes, digits after the prefix
    "US": ("en_US", "1", ("201", "312", "415", "646", "917"), 7),
    "DE": ("de_DE", "49", ("151", "160", "171", "176"), 8),
    "FR": ("fr_FR", "33", ("6", "7"), 8),
    "ES": ("es_ES", "34", ("6", "7"), 8),
    "NL": ("nl_NL", "31", ("6",), 8),
    "IT": ("it_IT", "39", ("320", "333", "347"), 7),
}
_WEIGHTS = {"US": 0.3, "DE": 0.2, "FR": 0.15, "ES": 0.12, "NL": 0.1, "IT": 0.13}
_PROVIDERS = {
    "US": ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "aol.com"),
    "DE": ("gmail.com", "web.de", "gmx.de", "t-online.de", "outlook.de"),
    "FR": ("gmail.com", "orange.fr", "free.fr", "laposte.net", "hotmail.fr"),
    "ES": ("gmail.com", "hotmail.es", "yahoo.es", "telefonica.net"),
    "NL": ("gmail.com", "ziggo.nl", "kpnmail.nl", "hotmail.nl"),
    "IT": ("gmail.com", "libero.it", "virgilio.it", "tiscali.it"),
}
_FAMILY_BOX = {
    "US": "the{f}s",
    "DE": "familie.{f}",
    "FR": "famille.{f}",
    "ES": "familia.{f}",
    "NL": "fam.{f}",
    "IT": "famiglia.{f}",
}
_LEGAL = {
    "US": ("Inc.", "LLC", "Corp."),
    "DE": ("GmbH", "AG", "KG"),
    "FR": ("SARL", "SAS", "SA"),
    "ES": ("S.L.", "S.A."),
    "NL": ("B.V.", "N.V."),
    "IT": ("S.r.l.", "S.p.A."),
}


@dataclass
class _Pool:
    male: list[str]
    female: list[str]
    last: list[str]
    streets: list[str]
    places: list[tuple[str, str]]  # (postal code, city)
    companies: list[str]


def _pools(seed: int) -> dict[str, _Pool]:
    from faker import Faker  # the bench extra

    pools: dict[str, _Pool] = {}
    for country, (locale, *_rest) in _COUNTRIES.items():
        fake = Faker(locale)
        fake.seed_instance(seed * 31 + len(pools))
        towns = [fake.city() for _ in range(40)]
        pools[country] = _Pool(
            male=sorted({fake.first_name_male() for _ in range(400)}),
            female=sorted({fake.first_name_female() for _ in range(400)}),
            last=sorted({fake.last_name() for _ in range(1500)}),
            streets=sorted({fake.street_name() for _ in range(600)}),
            places=[(fake.postcode(), towns[i % len(towns)]) for i in range(400)],
            companies=sorted({fake.last_name() for _ in range(800)}),
        )
    return pools


def hash_rank(name: str, salt: int) -> int:
    """A fixed pseudo-random rank for a name (not alphabetical: A-names are not commoner)."""
    import zlib

    return zlib.crc32(f"{salt}:{name}".encode())


def _ascii(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _slug(text: str) -> str:
    return "".join(c for c in _ascii(text).lower() if c.isalnum())


@dataclass
class _Customer:
    key: str
    country: str
    is_company: bool
    given: str = ""
    family: str = ""
    company: str = ""
    legal: str = ""
    vat: str = ""
    birth: dt.date | None = None
    emails: list[str] = field(default_factory=list)  # oldest first
    mobile: str = ""  # national significant number
    landline: str = ""
    street: str = ""
    number: str = ""
    postal: str = ""
    city: str = ""
    family_box: str = ""


class Webshop:
    """Customers and their records in five systems; `records` and `truth` when built."""

    def __init__(self, entities: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.pools = _pools(seed)
        self.customers: list[_Customer] = []
        self.records: list[dict[str, Any]] = []
        self.truth: list[TruthRow] = []
        self._ids: dict[str, int] = {}
        self._cum: dict[tuple[int, int], tuple[list[str], list[float]]] = {}
        countries = list(_WEIGHTS)
        weights = list(_WEIGHTS.values())
        while len(self.customers) < entities:
            country = self.rng.choices(countries, weights)[0]
            if self.rng.random() < 0.1:
                self.customers.append(self._company(country))
            elif self.rng.random() < 0.12:
                self.customers += self._household(country)[: entities - len(self.customers)]
            else:
                self.customers.append(self._person(country))
        for customer in self.customers:
            self._emit(customer)

    # -- people and companies ------------------------------------------------------------

    def _zipf(self, names: list[str], flat: int) -> str:
        """A few names far more common than the rest (Zipf-like, weight 1/(rank+flat))."""
        key = (id(names), flat)
        if key not in self._cum:
            order = sorted(names, key=lambda n: hash_rank(n, flat))
            total, cum = 0.0, []
            for rank in range(len(order)):
                total += 1.0 / (rank + flat)
                cum.append(total)
            self._cum[key] = (order, cum)
        order, cum = self._cum[key]
        return self.rng.choices(order, cum_weights=cum)[0]

    def _name(self, pool: _Pool) -> str:
        return self._zipf(pool.male if self.rng.random() < 0.5 else pool.female, 5)

    def _address(self, c: _Customer, pool: _Pool) -> None:
        c.street = self.rng.choice(pool.streets)
        c.number = str(self.rng.randint(1, 180))
        c.postal, c.city = self.rng.choice(pool.places)

    def _phone(self, country: str) -> str:
        _, _, prefixes, digits = _COUNTRIES[country]
        rest = "".join(self.rng.choice(string.digits) for _ in range(digits))
        return self.rng.choice(prefixes) + rest

    def _mailbox(self, c: _Customer, provider: str) -> str:
        g, f = _slug(c.given), _slug(c.family)
        style = self.rng.randrange(6)
        year = str(c.birth.year) if c.birth else str(self.rng.randint(60, 99))
        user = (
            f"{g}.{f}",
            f"{g[:1]}{f}",
            f"{g}{f}{year[-2:]}",
            f"{g}_{f}",
            f"{f}.{g}",
            f"{g}{self.rng.randint(1, 999)}",
        )[style]
        return f"{user}@{provider}"

    def _person(self, country: str, family: str | None = None) -> _Customer:
        pool = self.pools[country]
        c = _Customer(
            key=f"P{len(self.customers) + len(self._ids)}", country=country, is_company=False
        )
        self._ids[c.key] = 1
        c.given = self._name(pool)
        c.family = family or self._zipf(pool.last, 20)
        c.birth = dt.date(1940, 1, 1) + dt.timedelta(days=self.rng.randrange(365 * 65))
        providers = _PROVIDERS[country]
        c.emails = [self._mailbox(c, self.rng.choice(providers))]
        if self.rng.random() < 0.2:  # moved to another provider, maybe another user name
            other = [p for p in providers if not c.emails[0].endswith("@" + p)]
            if self.rng.random() < 0.5:
                user = c.emails[0].split("@")[0]
                c.emails.append(f"{user}@{self.rng.choice(other)}")
            else:
                c.emails.append(self._mailbox(c, self.rng.choice(other)))
        c.mobile = self._phone(country) if self.rng.random() < 0.8 else ""
        self._address(c, pool)
        return c

    def _household(self, country: str) -> list[_Customer]:
        first = self._person(country)
        members = [first]
        for _ in range(self.rng.choice((1, 1, 2, 3))):
            keep = self.rng.random() < 0.8  # a partner may keep their own family name
            member = self._person(country, family=first.family if keep else None)
            member.street, member.number = first.street, first.number
            member.postal, member.city = first.postal, first.city
            members.append(member)
        box = _FAMILY_BOX[country].format(f=_slug(first.family))
        box += f"{self.rng.randint(1, 99)}@{self.rng.choice(_PROVIDERS[country])}"
        landline = self._phone(country)
        for member in members:
            member.landline = landline
            if self.rng.random() < 0.6:
                member.family_box = box
        return members

    def _company(self, country: str) -> _Customer:
        pool = self.pools[country]
        c = _Customer(
            key=f"C{len(self.customers) + len(self._ids)}", country=country, is_company=True
        )
        self._ids[c.key] = 1
        base = self.rng.choice(pool.companies)
        if self.rng.random() < 0.5:
            base += " " + self.rng.choice(("Trading", "Logistics", "Consulting", "Foods", "Tech"))
        c.company = base
        c.legal = self.rng.choice(_LEGAL[country])
        c.vat = country.replace("US", "EIN") + "".join(
            self.rng.choice(string.digits) for _ in range(9)
        )
        domain = _slug(base) + {"US": ".com"}.get(country, "." + country.lower())
        c.emails = [f"{self.rng.choice(('info', 'office', 'billing', 'accounts'))}@{domain}"]
        c.landline = self._phone(country)
        self._address(c, pool)
        return c

    # -- how systems write them down ----------------------------------------------------

    def _typo(self, text: str) -> str:
        if len(text) < 4:
            return text
        i = self.rng.randrange(1, len(text) - 1)
        op = self.rng.randrange(3)
        if op == 0:
            return text[:i] + text[i + 1 :]
        if op == 1:
            return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        return text[:i] + self.rng.choice(string.ascii_lowercase) + text[i + 1 :]

    def _maybe_typo(self, text: str, p: float = 0.06) -> str:
        return self._typo(text) if text and self.rng.random() < p else text

    def _written_email(self, email: str) -> str:
        user, domain = email.split("@")
        roll = self.rng.random()
        if roll < 0.1:
            return email.upper()
        if roll < 0.18 and domain == "gmail.com" and "." in user:
            return user.replace(".", "") + "@" + domain
        if roll < 0.24:
            return f"{user}+shop@{domain}"
        if roll < 0.27:
            return f" {email.title()} "
        return email

    def _written_phone(self, country: str, nsn: str) -> str:
        code = _COUNTRIES[country][1]
        roll = self.rng.random()
        if country == "US":
            us = (
                f"({nsn[:3]}) {nsn[3:6]}-{nsn[6:]}",
                f"+1 {nsn}",
                f"1-{nsn[:3]}-{nsn[3:6]}-{nsn[6:]}",
            )
            return us[int(roll * 3)]
        trunk = "" if country == "IT" else "0"
        forms = (f"+{code} {nsn[:3]} {nsn[3:]}", f"{trunk}{nsn}", f"00{code}{nsn}", f"+{code}{nsn}")
        return forms[int(roll * 4)]

    def _email_at(self, c: _Customer, when: float) -> str:
        """The address a customer used at time `when` in [0, 1): the newer one later on."""
        if c.family_box and self.rng.random() < 0.35:
            return c.family_box
        if len(c.emails) > 1 and when >= 0.5:
            return c.emails[-1]
        return c.emails[0]

    def _add(self, c: _Customer, source: str, record: dict[str, Any]) -> None:
        source_id = f"{source[:2]}-{len(self.records):07d}"
        record = {k: v for k, v in record.items() if v not in (None, "")}
        record.update(source=source, source_id=source_id)
        if c.country and "country" not in record and self.rng.random() < 0.7:
            record["country"] = c.country
        self.records.append(record)
        self.truth.append(TruthRow(source, source_id, c.key))

    def _emit(self, c: _Customer) -> None:
        r = self.rng.random
        if c.is_company:
            self._emit_company(c)
            return
        # every customer has a shop account or a payment; the rest is chance
        if r() < 0.75:
            self._add(
                c,
                "shop",
                {
                    "kind": "person",
                    "given_name": self._maybe_typo(c.given),
                    "family_name": self._maybe_typo(c.family),
                    "email": self._written_email(self._email_at(c, r() * 0.6)),
                    "phone": self._written_phone(c.country, c.mobile)
                    if c.mobile and r() < 0.7
                    else (
                        self._written_phone(c.country, c.landline)
                        if c.landline and r() < 0.5
                        else None
                    ),
                    "birth_date": c.birth.isoformat() if c.birth and r() < 0.25 else None,
                    "street": c.street if r() < 0.85 else None,
                    "house_number": c.number,
                    "postal_code": c.postal,
                    "city": c.city if r() < 0.9 else None,
                },
            )
        else:
            self._payment(c)
        for _ in range(self.rng.choice((0, 0, 1, 1, 2))):
            self._payment(c)
        if r() < 0.45:
            self._ticket(c)
        for _ in range(self.rng.choice((0, 0, 1, 1, 1, 2))):
            self._identify(c)
        if r() < 0.2:
            self._add(
                c,
                "marketing",
                {
                    "full_name": f"{c.given} {c.family}" if r() < 0.7 else None,
                    "email": self._written_email(self._email_at(c, r())),
                    "postal_code": c.postal if r() < 0.5 else None,
                },
            )

    def _payment(self, c: _Customer) -> None:
        r = self.rng.random
        given, family = _ascii(c.given).upper(), _ascii(c.family).upper()
        style = self.rng.randrange(4)
        card = (
            f"{given} {family}",
            f"{given[:1]} {family}",
            f"{given} {self.rng.choice(string.ascii_uppercase)} {family}",
            f"{given[:1]}. {family}",
        )[style]
        self._add(
            c,
            "payments",
            {
                "kind": "person",
                "full_name": card,
                "postal_code": c.postal if r() < 0.8 else None,
                "email": self._written_email(self._email_at(c, r())) if r() < 0.7 else None,
                "country": c.country,
            },
        )

    def _ticket(self, c: _Customer) -> None:
        r = self.rng.random
        style = self.rng.randrange(5)
        display = (
            f"{c.given} {c.family}",
            c.given.lower(),
            f"{c.given} {c.family[:1]}.",
            _slug(c.given[:1] + c.family),
            None,
        )[style]
        self._add(
            c,
            "helpdesk",
            {
                "full_name": display,
                "email": self._written_email(self._email_at(c, 0.3 + 0.7 * r())),
                "phone": self._written_phone(c.country, c.mobile)
                if c.mobile and r() < 0.3
                else None,
            },
        )

    def _identify(self, c: _Customer) -> None:
        roll = self.rng.random()
        if roll < 0.55:
            record = {"email": self._written_email(self._email_at(c, self.rng.random()))}
        elif roll < 0.7 and c.mobile:
            record = {"phone": self._written_phone(c.country, c.mobile)}
        elif roll < 0.88:
            record = {
                "given_name": c.given,
                "email": self._written_email(self._email_at(c, self.rng.random())),
            }
        else:
            record = {}  # only the user id: nobody can place it
        self._add(c, "tracking", record)

    def _emit_company(self, c: _Customer) -> None:
        r = self.rng.random
        name = f"{c.company} {c.legal}"
        vat = c.vat if r() < 0.5 else f"{c.vat[:2]} {c.vat[2:5]} {c.vat[5:]}"
        self._add(
            c,
            "shop",
            {
                "kind": "organization",
                "organization_name": name,
                "tax_id": vat if r() < 0.8 else None,
                "email": self._written_email(c.emails[0]),
                "phone": self._written_phone(c.country, c.landline) if r() < 0.7 else None,
                "street": c.street,
                "house_number": c.number,
                "postal_code": c.postal,
                "city": c.city,
            },
        )
        for _ in range(self.rng.choice((0, 1, 1, 2))):
            self._add(
                c,
                "payments",
                {
                    "kind": "organization",
                    "organization_name": self._maybe_typo(
                        name.upper() if r() < 0.5 else c.company, 0.1
                    ),
                    "tax_id": c.vat if r() < 0.6 else None,
                    "postal_code": c.postal if r() < 0.7 else None,
                    "email": self._written_email(c.emails[0]) if r() < 0.5 else None,
                },
            )
        if r() < 0.4:
            self._add(
                c, "helpdesk", {"full_name": c.company, "email": self._written_email(c.emails[0])}
            )


def generate(entities: int, seed: int = 3) -> Webshop:
    """`entities` customers (people, households, companies) and their records."""
    return Webshop(entities, seed)


def write(data: Webshop, out_dir: Path, *, limit: int | None = None) -> Path:
    """Write ``records.jsonl.gz`` and ``truth.csv`` under `out_dir`; the records' path.
    ``limit`` keeps the first N records (those of the first customers)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "records.jsonl.gz"
    write_jsonl(path, data.records[:limit])
    write_truth(out_dir / "truth.csv", data.truth[:limit])
    return path


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: write a web-shop data set."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    data = generate(args.entities, args.seed)
    path = write(data, args.out)
    print(f"{len(data.records):,} records of {len(data.customers):,} customers -> {path}")


if __name__ == "__main__":
    main()
