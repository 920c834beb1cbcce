"""A third CRM data set, written apart from the other two: a utility's customer registry.

    python -m benchmarks.identity.crm_registry --entities 20000 --seed 5 --out DIR [--stats]

writes ``DIR/records.jsonl.gz`` (CustomerRecord JSON Lines) and ``DIR/truth.csv``. Its point is
realistic FREQUENCIES that hold at any size, so that two entities share a name or an identifier
about as often at 1M records as in real data. Assumptions, each a knob of `Config`:

* One country (US). Family names: Faker's 1,000 census-weighted ``en_US`` names are the head,
  carried by 56 % of people (Smith ~1.2 %); the others draw a rank r > 1,000 from a Zipf law
  p(r) ~ r^-s whose s continues the head's last share, and each rank is a synthetic name
  (morphemes and syllables: Thornland, Dalstead, McBellson) made the first time it is drawn.
  The law is fixed, so the shares do not drift with size while new rare names keep appearing.
  Given names the same way by sex, from Faker's weighted lists (tempered, w^0.7: the lists are
  short), each head name most popular around its own birth decade.
* Households of 1-5 people at one address: couples share the family name 75 % of the time (one
  took the other's), a third member is a grown child or a parent; 30 % of households have a
  landline, 5 % of those with 2+ people a family mailbox that only their members use.
* A mailbox is one person's: the natural local part (first.last, flast, ...) at their provider;
  when taken (Gmail ignores dots) the middle initial, birth year or digits, as people do.
  Mobiles are personal, all numbers unique. Organisations' mailboxes (info@, billing@, the
  contact's work address) are at their own domain.
* Changes: 10 % of households move, 10 % of people change e-mail provider, 5 % of people took
  a partner's name during the period. Every record has a time; `contracts` (the live system) is
  mostly recent, the others often older, so they keep the old address, mailbox or name.
* Records per entity: P(n >= k) ~ k^-1.15 up to 20 (mean ~2.5, 57 % singletons, 6 % 8+).
  Account holders start in `contracts`; other members and web leads live in support and web.
* Organisations (10 % of entities): unique names in variants ("Hartley Plumbing LLC", "HARTLEY
  PLUMBING LIMITED LIABILITY COMPANY", "Hartley Plumbing"), an EIN in some records, a contact.
* Systems: `contracts` (split name, birth date, address, e-mail, phone), `billing` (the bank
  account's name: "SMITH JOHN", "J. Smith", "Smith, John"; an address, maybe the old one),
  `support` (a display name and the ticket's e-mail, sometimes a phone), `web` (e-mail, e-mail +
  first name, or phone), `field` (technicians: name, address, phone; typos, swapped house-number
  digits, "St."/"Str." abbreviations).

Faker fills the place pool once; output depends only on the seed (and the Faker version).
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import itertools
import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.identity import TruthRow, write_jsonl, write_truth
from schemas.customer import CUSTOMER_FIELDS

__all__ = ["Config", "Organization", "Person", "Registry", "generate", "main", "stats", "write"]


@dataclass(frozen=True)
class Config:
    """The knobs; the defaults are the assumptions of the module docstring."""

    family_head: float = 0.56  # people carrying one of the 1,000 census family names
    given_head: tuple[float, float] = (0.86, 0.78)  # female, male: the top 100 carry ~50 %
    given_temper: float = 0.7  # Faker's given-name weights to this power
    organizations: float = 0.10
    household_sizes: tuple[float, ...] = (0.42, 0.36, 0.12, 0.07, 0.03)  # 1..5 people
    shared_name: float = 0.75
    landline: float = 0.30
    family_mailbox: float = 0.05
    mobile: float = 0.85
    email: float = 0.90
    leads: float = 0.10  # one-person households that never signed a contract
    move: float = 0.10
    email_change: float = 0.10
    name_change: float = 0.05
    records_exponent: float = 1.15
    max_records: int = 20
    field_typo: float = 0.35


def _words(text: str, sep: str | None = None) -> list[str]:
    return text.split(sep)


def _table(text: str, sep: str | None = None) -> tuple[list[str], list[int]]:
    """``"a:3 b:1"`` -> the keys and their cumulative weights, for `_pick`."""
    pairs = [w.rsplit(":", 1) for w in text.split(sep)]
    return [k for k, _ in pairs], list(itertools.accumulate(int(v) for _, v in pairs))


def _pick(rng: random.Random, table: tuple[list[str], list[int]]) -> str:
    keys, cum = table
    return keys[bisect.bisect(cum, rng.random() * cum[-1])]


_MORPHEMES = _words(
    "Ash Bal Bar Bel Black Brad Bram Brook Cal Car Chad Clay Cor Crom Dal Dar Dun Ed El Fair Fen "
    "Gar Gil Gold Hal Har Hart Hol Kel Ken Lan Lind Mar Mer Mil Mor Nor Os Pen Ral Red Ros Sal "
    "Sel Stan Tal Thorn Wal War Wes Whit Win Wood Ber Kirch Lang Rein Schoen Bianc Ross Cas Vill"
)
_ONSETS = _words("b br c ch d dr f g gr h j k l m n p pr r s sh st t th tr v w z")
_VOWELS = _words("a e i o u a e o ai ea ou")
_CODAS = ["", "", "", *_words("l n r s t m nd ll st ng")]
_SUR_ENDS = _words(
    "son sen ton ley by field ford man mann berg stein er well wood worth more wick ham stead "
    "land ski sky ov ez es ini etti ano elli quist strom ard ett ins ock ridge dale"
)
_GIVEN_ENDS = (
    _words("a ie elle ine ette lyn anna ia ey issa ora"),
    _words("on er an el o us ric ton ias den ard"),
)
_STREET_WORDS = _words(
    "Main Oak Maple Pine Cedar Elm Walnut Park Lake Hill Church Mill River Spring Sunset Ridge "
    "Washington Lincoln Jefferson Madison Franklin Highland Meadow Forest Willow Cherry Center"
)
_SUFFIXES = _table(
    "Street:30 Avenue:15 Road:12 Drive:10 Lane:8 Way:5 Court:5 Place:4 Boulevard:3 Circle:3"
)
_ABBREVIATIONS = {
    k: _words(v, "|")
    for k, v in zip(
        _SUFFIXES[0],
        _words("St|St.|Str. Ave|Ave.|Av. Rd|Rd. Dr|Dr. Ln Way Ct Pl Blvd|Blvd. Cir"),
        strict=True,
    )
}
_PROVIDERS = _table(
    "gmail.com:45 yahoo.com:14 outlook.com:9 hotmail.com:8 icloud.com:8 aol.com:5 comcast.net:5 "
    "att.net:3 verizon.net:3"
)
_LEGAL_SHARES = _table("LLC:45 Inc.:35 Corp.:8 Ltd:7 :5")
_LOCALS = _table("{f}.{s}:30 {f}{s}:20 {i}{s}:15 {f}_{s}:5 {f}{s}{y}:10 {s}{i}:5 {f}{y}:3")
_FAMILY_BOXES = _words("the{s}s {s}family {s}.family {a}and{b} {s}household")
_LEGAL = {  # short form -> its upper-case spelling, the long form
    "LLC": ("L.L.C.", "Limited Liability Company"),
    "Inc.": ("INC", "Incorporated"),
    "Corp.": ("CORP", "Corporation"),
    "Ltd": ("LTD", "Limited"),
    "": ("", ""),
}
_TRADES = _words(
    "Plumbing|Electric|Dental|Bakery|Consulting|Logistics|Auto Repair|Landscaping|Roofing|Cafe|"
    "Design|Realty|Insurance|Construction|Printing|Florist|Pharmacy|Hardware|Marketing|Software|"
    "Accounting|Law Group|Fitness|Salon|Catering|Cleaning|Motors|Farms|Storage|Veterinary Clinic",
    "|",
)
_BRANDS = _words("Summit Pioneer Evergreen Liberty Golden Atlas Northstar Keystone Apex Redwood")
_ORG_NAMES = _table("{a} {t}:40|{a} & {b}:15|{a} & Sons:10|{brand} {t}:20|{city} {t}:15", "|")
_ROLES = _words("info office billing accounts contact hello")
_KEYBOARD = _words("qwertyuiop asdfghjkl zxcvbnm")
_OCR = (("rn", "m"), ("m", "rn"), ("l", "1"), ("o", "0"), ("e", "c"), ("cl", "d"), ("h", "b"))
_STALENESS = {"contracts": 0.25, "billing": 1.0, "support": 0.7, "web": 0.7, "field": 1.0}
_PREFIX = {"contracts": "K", "billing": "B-", "support": "T", "web": "u_", "field": "FV"}
_FIRST = {
    "member": _table("contracts:12 billing:3 support:40 web:45"),
    "lead": _table("web:65 support:35"),
}
_NEXT = {  # sources after the first record
    "holder": _table("billing:25 support:30 web:23 field:12 contracts:10"),
    "member": _table("contracts:8 billing:5 support:35 web:42 field:10"),
    "lead": _FIRST["lead"],
    "org": _table("billing:30 support:35 web:15 field:20"),
}
_EPOCH = dt.datetime(2016, 1, 1)
_ADDRESS = ("street", "house_number", "postal_code", "city", "country")
Address = tuple[str, str, str, str]  # street, house number, postal code, city


def _fold(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())


def mailbox_key(email: str) -> str:
    """The mailbox an address reaches: lower case, no +tag, Gmail without dots."""
    local, _, domain = email.lower().partition("@")
    local = local.split("+", 1)[0]
    return f"{local.replace('.', '') if domain == 'gmail.com' else local}@{domain}"


def _syllable(rng: random.Random, codas: int = len(_CODAS)) -> str:
    return rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS[:codas])


def _surname(rng: random.Random) -> str:
    root = rng.choice(_MORPHEMES) if rng.random() < 0.5 else _syllable(rng).capitalize()
    if rng.random() < 0.25:
        root += rng.choice("aeio") + rng.choice(_CODAS[:8])
    name = root + rng.choice(_SUR_ENDS)
    return "Mc" + name if rng.random() < 0.04 else name


def _given(sex: int) -> Callable[[random.Random], str]:
    return lambda rng: (_syllable(rng, 8) + rng.choice(_GIVEN_ENDS[sex])).capitalize()


# Draws of a new tail name before it gets a second part (a third after twice as many…).
# The given names' space (~26,000 a sex) fills up in the millions of people; before, the
# draw then never ended. At 100, no draw of a data set up to 1M records reaches it: the 1M
# registry is byte-identical.
_TRIES = 100


class _Names:
    """A census head (a weighted list) plus a Zipf tail of synthetic names made on first use."""

    def __init__(
        self,
        head: dict[str, float],
        share: float,
        make: Callable[[random.Random], str],
        rng: random.Random,
        decades: int = 1,
    ) -> None:
        self.head, weights = list(head), list(head.values())
        peaks = [rng.uniform(-1.0, decades) for _ in weights]  # each name's fashionable decade
        self.cum = [
            list(
                itertools.accumulate(
                    w * (0.3 + math.exp(-(((d - p) / 1.5) ** 2))) if decades > 1 else w
                    for w, p in zip(weights, peaks, strict=True)
                )
            )
            for d in range(decades)
        ]
        self.share, self.make = share, make
        # p(r) = c r^-s for r >= first with p(first) = the head's smallest share and mass
        # 1 - share: s - 1 = first * p(first) / (1 - share); drawn as a Pareto variate.
        self.first = len(weights) + 1
        self.exponent = -(1 - share) / (self.first * share * min(weights) / sum(weights))
        self.taken = set(self.head)
        self.tail: dict[int, str] = {}

    def draw(self, rng: random.Random, decade: int = 0) -> str:
        if rng.random() < self.share:
            cum = self.cum[decade]
            return self.head[bisect.bisect(cum, rng.random() * cum[-1])]
        rank = int(self.first * (1.0 - rng.random()) ** self.exponent)
        name = self.tail.get(rank)
        if name is None:
            made, tries = self.make(rng), 1
            while made in self.taken:
                made, tries = self.make(rng), tries + 1
                for _ in range(tries // _TRIES):  # the short names are nearly all taken
                    made += self.make(rng).lower()  # a longer one, longer the more tries
            self.taken.add(made)
            self.tail[rank] = name = made
        return name


@dataclass(eq=False)
class Home:
    """A household's address (the old one before `move_t`), landline and family mailbox."""

    hid: str
    address: Address
    old_address: Address | None = None
    move_t: float = 0.0
    landline: str = ""
    family_box: str = ""


@dataclass(eq=False)
class Person:
    """One natural person; values that changed hold the old one before their time (0..1)."""

    eid: str
    sex: int  # 0 female, 1 male
    given: str
    middle: str
    family: str
    birth: dt.date
    home: Home
    role: str  # holder, member or lead
    maiden: str = ""  # the family name before `name_t`
    name_t: float = 0.0
    mobile: str = ""
    emails: list[str] = field(default_factory=list)  # oldest first
    email_t: float = 0.0

    def family_at(self, t: float) -> str:
        return self.maiden if t < self.name_t else self.family

    def address_at(self, t: float) -> Address:
        old = self.home.old_address
        return old if old is not None and t < self.home.move_t else self.home.address


@dataclass(eq=False)
class Organization:
    """One organisation: name without legal form, legal form, EIN, domain, office, contact."""

    eid: str
    base: str
    legal: str
    tax_id: str
    domain: str
    phone: str
    address: Address
    contact: tuple[str, str]
    contact_email: str


@dataclass
class Registry:
    """Records, their truth, and the population behind them (for `stats` and tests)."""

    records: list[dict[str, Any]]
    truth: list[TruthRow]
    people: list[Person]
    orgs: list[Organization]
    mailboxes: dict[str, str]  # mailbox_key -> personal, family, role or work


class _Builder:
    def __init__(self, entities: int, seed: int, cfg: Config) -> None:
        from faker import Faker
        from faker.providers.person.en_US import Provider as US

        self.rng = rng = random.Random(seed)
        self.cfg = cfg
        faker = Faker("en_US")
        faker.seed_instance(seed)
        self.places = list({faker.postcode(): faker.city() for _ in range(1500)}.items())
        self.place_cum = list(
            itertools.accumulate(1 / i**0.7 for i in range(1, len(self.places) + 1))
        )
        self.areas = sorted({str(rng.randint(201, 989)) for _ in range(150)})
        self.area_of = {postal: rng.choice(self.areas) for postal, _ in self.places}
        self.family = _Names(dict(US.last_names), cfg.family_head, _surname, rng)
        heads = (US.first_names_female, US.first_names_male)
        self.given = [
            _Names(
                {k: w**cfg.given_temper for k, w in heads[sex].items()},
                cfg.given_head[sex],
                _given(sex),
                rng,
                8,
            )
            for sex in (0, 1)
        ]
        self.streets = [*US.last_names, *_STREET_WORDS]
        self.mailboxes: dict[str, str] = {}
        self.numbers: set[str] = set()
        self.tax_ids: set[str] = set()
        self.org_names: set[str] = set()
        self.people: list[Person] = []
        self.orgs: list[Organization] = []
        self.records: list[dict[str, Any]] = []
        self.truth: list[TruthRow] = []
        self.counters = dict.fromkeys(_PREFIX, 0)
        sizes = cfg.household_sizes
        mean = sum(k * w for k, w in enumerate(sizes, 1)) / sum(sizes)
        p_org = cfg.organizations * mean / (1 - cfg.organizations + cfg.organizations * mean)
        order: list[Person | Organization] = []
        while len(order) < entities:
            if rng.random() < p_org:
                self.orgs.append(self._org(f"e{len(order):07d}"))
                order.append(self.orgs[-1])
            else:
                order += self._household(len(order), entities - len(order))
        self._name_changes()
        for entity in order:
            if isinstance(entity, Person):
                self._person_records(entity)
            else:
                self._org_records(entity)

    # --- population ---------------------------------------------------------------------

    def _address(self) -> Address:
        rng = self.rng
        postal, city = self.places[bisect.bisect(self.place_cum, rng.random() * self.place_cum[-1])]
        street = f"{rng.choice(self.streets)} {_pick(rng, _SUFFIXES)}"
        number = rng.randint(1, 10 ** rng.choice((2, 3, 3, 4)) - 1)
        return street, str(number), postal, city

    def _number(self, area: str) -> str:
        while (
            number := f"{area}{self.rng.randint(200, 999)}{self.rng.randrange(10_000):04d}"
        ) in self.numbers:
            pass
        self.numbers.add(number)
        return number

    def _claim(self, local: str, domain: str, kind: str) -> str | None:
        key = mailbox_key(f"{local}@{domain}")
        if key in self.mailboxes:
            return None
        self.mailboxes[key] = kind
        return f"{local}@{domain}"

    def _mailbox(self, p: Person, avoid: str = "") -> str:
        rng = self.rng
        f, last, m = _fold(p.given), _fold(p.family), p.middle.lower()
        y, yyyy = f"{p.birth.year % 100:02d}", str(p.birth.year)
        while (domain := _pick(rng, _PROVIDERS)) == avoid:
            pass
        natural = _pick(rng, _LOCALS).format(f=f, s=last, i=f[0], y=y)
        fallbacks = [f"{f}.{m}.{last}", f"{f}{m}{last}"] if m else []
        fallbacks += [f"{f}.{last}{y}", f"{f}{last}{yyyy}", f"{f[0]}{last}{y}"]
        for local in [natural, *fallbacks]:
            if (email := self._claim(local, domain, "personal")) is not None:
                return email
        for tries in itertools.count():
            local = f"{f}{rng.choice(('', '.', '_'))}{last}{rng.randrange(10 ** (2 + tries // 5))}"
            if (email := self._claim(local, domain, "personal")) is not None:
                return email
        raise AssertionError("unreachable")

    def _person(self, eid: str, home: Home, role: str, year: int, sex: int, family: str) -> Person:
        rng = self.rng
        birth = dt.date(year, rng.randint(1, 12), rng.randint(1, 28))
        given = self.given[sex].draw(rng, min(7, max(0, (year - 1930) // 10)))
        middle = rng.choice("AAJJMMLLRRSSEEDCKTBW") if rng.random() < 0.6 else ""
        p = Person(eid, sex, given, middle, family, birth, home, role)
        if rng.random() < self.cfg.mobile:
            p.mobile = self._number(rng.choice(self.areas))
        if role == "lead" or rng.random() < self.cfg.email:
            p.emails.append(self._mailbox(p))
            if rng.random() < self.cfg.email_change:  # a new provider
                p.emails.append(self._mailbox(p, avoid=p.emails[0].partition("@")[2]))
                p.email_t = rng.uniform(0.1, 0.9)
        self.people.append(p)
        return p

    def _household(self, n: int, room: int) -> list[Person]:
        rng, cfg = self.rng, self.cfg
        size = min(room, rng.choices(range(1, 6), cfg.household_sizes)[0])
        home = Home(f"h{n:07d}", self._address())
        if rng.random() < cfg.move:
            home.old_address, home.move_t = self._address(), rng.uniform(0.1, 0.9)
        if rng.random() < cfg.landline * (1.4 if size > 1 else 0.6):
            home.landline = self._number(self.area_of[home.address[2]])
        year, sex, family = rng.randint(1938, 2003), rng.randrange(2), self.family.draw(rng)
        role = "lead" if size == 1 and rng.random() < cfg.leads else "holder"
        members = [self._person(f"e{n:07d}", home, role, year, sex, family)]
        if size >= 2:
            shared = rng.random() < cfg.shared_name
            partner = self._person(
                f"e{n + 1:07d}",
                home,
                "member",
                min(2004, year + rng.randint(-6, 6)),
                1 - sex if rng.random() < 0.95 else sex,
                family if shared else self.family.draw(rng),
            )
            if shared:  # one of them took the other's name, the woman more often (`maiden`)
                taker = partner if (partner.sex == 0) != (rng.random() < 0.2) else members[0]
                taker.maiden = "?"
            members.append(partner)
        for k in range(2, size):  # a grown child, else a parent of the holder
            kin_year = year + rng.randint(22, 36)
            kin_year = kin_year if kin_year <= 2005 else year - rng.randint(22, 34)
            members.append(
                self._person(f"e{n + k:07d}", home, "member", kin_year, rng.randrange(2), family)
            )
        if size > 1 and rng.random() < cfg.family_mailbox:
            a, b = (_fold(m.given) for m in members[:2])
            local = rng.choice(_FAMILY_BOXES).format(s=_fold(family), a=a, b=b)
            domain = _pick(rng, _PROVIDERS)
            while (box := self._claim(local, domain, "family")) is None:
                local += str(rng.randrange(10))
            home.family_box = box
        return members

    def _name_changes(self) -> None:
        """Name changes inside the period: a share of all people, among those who took a name."""
        takers = [p for p in self.people if p.maiden]
        for p in takers:  # by default they married before the period: the old name is unseen
            p.maiden = ""
        for p in self.rng.sample(
            takers, min(round(self.cfg.name_change * len(self.people)), len(takers))
        ):
            p.maiden, p.name_t = self.family.draw(self.rng), self.rng.uniform(0.1, 0.9)

    def _org_name(self) -> str:
        rng, family = self.rng, self.family
        return _pick(rng, _ORG_NAMES).format(
            a=family.draw(rng),
            b=family.draw(rng),
            t=rng.choice(_TRADES),
            brand=rng.choice(_BRANDS),
            city=rng.choice(self.places)[1],
        )

    def _org(self, eid: str) -> Organization:
        rng = self.rng
        while (base := self._org_name()) in self.org_names:
            pass
        self.org_names.add(base)
        slug, domain = _fold(base.replace("&", "and")), ""
        for suffix in itertools.chain(("", "co", "inc"), map(str, itertools.count(2))):
            if self._claim("info", domain := f"{slug}{suffix}.com", "role") is not None:
                break
        for role in _ROLES[1:]:
            self._claim(role, domain, "role")
        while (
            tax_id := f"{rng.randint(10, 99)}-{rng.randint(1_000_000, 9_999_999)}"
        ) in self.tax_ids:
            pass
        self.tax_ids.add(tax_id)
        address = self._address()
        given = self.given[rng.randrange(2)].draw(rng, rng.randrange(8))
        contact = (given, self.family.draw(rng))
        local = rng.choice(("{f}.{s}", "{i}{s}", "{f}")).format(
            f=_fold(given), s=_fold(contact[1]), i=_fold(given)[0]
        )
        email = self._claim(local, domain, "work") or f"{local}@{domain}"
        phone = self._number(self.area_of[address[2]])
        return Organization(
            eid, base, _pick(rng, _LEGAL_SHARES), tax_id, domain, phone, address, contact, email
        )

    # --- records ------------------------------------------------------------------------

    def _add(self, eid: str, source: str, t: float, values: dict[str, Any]) -> None:
        self.counters[source] += 1  # a bijection of the count: ids unique, not in entity order
        n = self.counters[source] * 7_368_787 + list(_PREFIX).index(source) * 12_345_679
        sid = f"{_PREFIX[source]}{n % 10**8:08d}"
        record = dict.fromkeys(CUSTOMER_FIELDS)
        stamp = _EPOCH + dt.timedelta(seconds=int(t * 252_000_000))  # 2016 .. 2023
        record.update(values, source=source, source_id=sid, updated_at=stamp.isoformat())
        self.records.append(record)
        self.truth.append(TruthRow(source, sid, eid))

    def _count(self) -> int:
        """P(n >= k) ~ k^-a, truncated at max_records (inverse CDF: no pile-up at the cap)."""
        a, low = self.cfg.records_exponent, (self.cfg.max_records + 1) ** -self.cfg.records_exponent
        return int((low + (1.0 - low) * (1.0 - self.rng.random())) ** (-1 / a))

    def _place(self, address: Address, *, upper: bool = False) -> dict[str, Any]:
        street, number, postal, city = address
        if upper:
            street, city = street.upper(), city.upper()
        return dict(zip(_ADDRESS, (street, number, postal, city, "US"), strict=True))

    def _phone(self, number: str, *styles: str) -> str:
        return self.rng.choice(styles).format(a=number[:3], b=number[3:6], c=number[6:])

    def _email(self, p: Person, t: float, family_share: float) -> str | None:
        box = p.home.family_box
        if box and (not p.emails or self.rng.random() < family_share):
            return box
        if not p.emails:
            return None
        return p.emails[0] if len(p.emails) > 1 and t < p.email_t else p.emails[-1]

    def _person_records(self, p: Person) -> None:
        for i in range(self._count()):
            if i == 0:
                source = "contracts" if p.role == "holder" else _pick(self.rng, _FIRST[p.role])
            else:
                source = _pick(self.rng, _NEXT[p.role])
            t = self.rng.random() ** _STALENESS[source]
            if not getattr(self, f"_{source}")(p, t):
                self._field(p, t)

    def _contracts(self, p: Person, t: float) -> bool:
        rng = self.rng
        values: dict[str, Any] = {"kind": "person", "given_name": p.given}
        values |= {"family_name": p.family_at(t)} | self._place(p.address_at(t))
        if rng.random() < 0.75:
            values["birth_date"] = p.birth.isoformat()
        if rng.random() < 0.92:
            values["email"] = self._email(p, t, 0.3)
        r = rng.random()
        phone = p.mobile if p.mobile and r < 0.65 else p.home.landline if r < 0.9 else ""
        if phone:
            values["phone"] = self._phone(phone, "+1{a}{b}{c}", "({a}) {b}-{c}")
        self._add(p.eid, "contracts", t, values)
        return True

    def _billing(self, p: Person, t: float) -> bool:
        rng = self.rng
        g, m, f = p.given, p.middle, p.family_at(t)
        name = rng.choice(
            (f"{f} {g}", f"{f} {g} {m}", f"{g[0]}. {f}", f"{f}, {g}", f"{g} {m} {f}", f"{g} {f}")
        )
        name = " ".join((name.upper() if rng.random() < 0.6 else name).split())
        values = {
            "kind": "person",
            "full_name": name,
            **self._place(p.address_at(t), upper=rng.random() < 0.3),
        }
        if rng.random() < 0.4:
            values["email"] = self._email(p, t, 0.3)
        self._add(p.eid, "billing", t, values)
        return True

    def _support(self, p: Person, t: float) -> bool:
        rng = self.rng
        email, phone = self._email(p, t, 0.2), p.mobile or p.home.landline
        if email is None and not phone:
            return False
        g, f = p.given, p.family_at(t)
        names = (g, f"{g} {f[0]}.", f"{g[0]}{f[0]}", f"{g} {f}", None)
        display = rng.choices(names, (20, 20, 8, 40, 12))[0] if email else f"{g} {f}"
        if email and rng.random() < 0.1:  # typed by hand: John.Smith@gmail.com
            local, _, domain = email.partition("@")
            email = f"{local.title()}@{domain}"
        values = {"full_name": display, "email": email}
        if phone and (email is None or rng.random() < 0.25):
            values["phone"] = self._phone(phone, "({a}) {b}-{c}", "{a}-{b}-{c}", "{a}.{b}.{c}")
        self._add(p.eid, "support", t, values)
        return True

    def _web(self, p: Person, t: float) -> bool:
        rng = self.rng
        email, r = self._email(p, t, 0.15), rng.random()
        values: dict[str, Any]
        if p.mobile and (email is None or r < 0.15):
            values = {"phone": self._phone(p.mobile, "+1{a}{b}{c}", "{a}{b}{c}")}
        elif email is None:
            return False
        else:
            if email.endswith("@gmail.com") and rng.random() < 0.08:
                email = email.replace("@", f"+{rng.choice(('power', 'bills', 'news'))}@")
            values = {"email": email, "given_name": p.given if r < 0.45 else None}
        self._add(p.eid, "web", t, values)
        return True

    def _field(self, p: Person, t: float) -> bool:
        rng = self.rng
        f = p.family_at(t)
        name = f"{f}, {p.given}" if rng.random() < 0.1 else f"{p.given} {f}"
        street, number, postal, city = p.address_at(t)
        phone = p.mobile if rng.random() < 0.6 else p.home.landline
        typo = rng.choices(("name", "number", "street", "phone"), (40, 25, 20, 15))[0]
        if rng.random() >= self.cfg.field_typo:
            pass
        elif typo == "name":
            name = _typo(rng, name)
        elif typo == "number" and len(number) > 1:  # swapped digits
            i = rng.randrange(len(number) - 1)
            number = number[:i] + number[i + 1] + number[i] + number[i + 2 :]
        elif typo == "street":
            street = _typo(rng, street)
        elif typo == "phone" and phone:
            i = rng.randrange(3, 9)
            phone = phone[:i] + phone[i + 1] + phone[i] + phone[i + 2 :]
        head, _, suffix = street.rpartition(" ")
        if suffix in _ABBREVIATIONS and rng.random() < 0.5:
            street = f"{head} {rng.choice(_ABBREVIATIONS[suffix])}"
        values = {"kind": "person", "full_name": name} | self._place((street, number, postal, city))
        if phone:
            values["phone"] = self._phone(phone, "{a}-{b}-{c}", "{a} {b} {c}", "{a}{b}{c}")
        self._add(p.eid, "field", t, values)
        return True

    def _org_records(self, o: Organization) -> None:
        rng = self.rng
        official = f"{o.base}, {o.legal}" if o.legal == "Inc." and rng.random() < 0.3 else ""
        official = official or f"{o.base} {o.legal}".strip()
        contact = " ".join(o.contact)
        for i in range(self._count()):
            source = "contracts" if i == 0 else _pick(rng, _NEXT["org"])
            t = rng.random() ** _STALENESS[source]
            email = o.contact_email if rng.random() < 0.5 else f"{rng.choice(_ROLES)}@{o.domain}"
            values: dict[str, Any] = {"kind": "organization"}
            if source in ("contracts", "billing", "field"):
                values |= self._place(o.address, upper=source == "billing" and rng.random() < 0.5)
                values["phone"] = self._phone(o.phone, "({a}) {b}-{c}", "+1{a}{b}{c}")
            if source == "contracts":
                values |= {"organization_name": official, "email": email}
                values["tax_id"] = o.tax_id if rng.random() < 0.8 else None
                if rng.random() < 0.6:
                    values |= {"given_name": o.contact[0], "family_name": o.contact[1]}
            elif source == "billing":
                legal = rng.choice(_LEGAL[o.legal])
                values["organization_name"] = f"{o.base} {legal}".upper().strip()
                values["email"] = f"billing@{o.domain}" if rng.random() < 0.5 else None
                values["tax_id"] = o.tax_id.replace("-", "") if rng.random() < 0.5 else None
            elif source == "field":
                name = o.base if rng.random() < 0.6 else official
                values["organization_name"] = (
                    _typo(rng, name) if rng.random() < self.cfg.field_typo else name
                )
                values["full_name"] = contact if rng.random() < 0.4 else None
            elif source == "support":
                values = {"email": email, "full_name": contact if rng.random() < 0.6 else None}
                values["organization_name"] = o.base if rng.random() < 0.5 else None
            else:  # web: a sign-up with the contact's or a role address
                values = {"email": email}
            self._add(o.eid, source, t, values)


def _typo(rng: random.Random, text: str) -> str:
    """One keyboard or OCR slip inside `text` (never its first or last character)."""
    if len(text) < 4:
        return text
    i, op = rng.randrange(1, len(text) - 2), rng.randrange(5)
    if op == 0:  # a neighbouring key
        for row in _KEYBOARD:
            if (j := row.find(text[i].lower())) >= 0:
                near = row[j - 1] if j == len(row) - 1 or (j and rng.random() < 0.5) else row[j + 1]
                return text[:i] + near + text[i + 1 :]
    if op == 2:
        return text[:i] + text[i] + text[i:]
    if op == 3:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if op == 4:
        for wrong, right in rng.sample(_OCR, len(_OCR)):
            if wrong in text[1:]:
                return text[0] + text[1:].replace(wrong, right, 1)
    return text[:i] + text[i + 1 :]


def generate(entities: int, seed: int = 5, config: Config | None = None) -> Registry:
    """`entities` people and organisations (each household member counts) and their records."""
    b = _Builder(entities, seed, config or Config())
    return Registry(b.records, b.truth, b.people, b.orgs, b.mailboxes)


def write(data: Registry, out_dir: Path, *, limit: int | None = None) -> Path:
    """Write ``records.jsonl.gz`` and ``truth.csv`` under `out_dir`; the records' path.
    ``limit`` keeps the first N records (those of the first entities)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "records.jsonl.gz"
    write_jsonl(path, data.records[:limit])
    write_truth(out_dir / "truth.csv", data.truth[:limit])
    return path


def shares(counts: Counter[str], tops: Sequence[int]) -> list[float]:
    """The share of the total held by the `tops` most common keys."""
    total, ranked = sum(counts.values()), [n for _, n in counts.most_common()]
    return [sum(ranked[:k]) / total for k in tops]


def _name_pairs(data: Registry) -> int:
    """Record pairs of different entities with the same person's name (case-folded tokens)."""
    names: Counter[tuple[str, ...]] = Counter()
    own: Counter[tuple[tuple[str, ...], str]] = Counter()
    for r, truth in zip(data.records, data.truth, strict=True):
        text = " ".join(filter(None, (r["given_name"], r["family_name"]))) or r["full_name"] or ""
        tokens = tuple(sorted(_fold(w) for w in text.split()))
        if len(tokens) >= 2 and r["kind"] != "organization":
            names[tokens] += 1
            own[tokens, truth.entity_id] += 1
    return sum(k * (k - 1) // 2 for k in names.values()) - sum(
        k * (k - 1) // 2 for k in own.values()
    )


def stats(data: Registry) -> list[str]:
    """Frequencies that matter for matching, one line each."""
    n, entities, people = len(data.records), Counter(t.entity_id for t in data.truth), data.people
    sizes = Counter(min(k, 8) for k in entities.values())
    families = Counter(p.family for p in people)
    head = shares(families, (1, 100, 1000))
    lines = [
        f"records {n:,}, entities {len(entities):,} ({len(data.orgs):,} organisations), "
        f"{n / len(entities):.2f} records per entity",
        "records per entity: " + " ".join(f"{k}{'+' * (k == 8)}:{sizes[k]:,}" for k in range(1, 9)),
        f"family names of {len(people):,} people: top 1 {head[0]:.1%}, top 100 {head[1]:.1%}, "
        f"top 1,000 {head[2]:.1%}; {len(families):,} distinct, "
        f"{sum(v == 1 for v in families.values()):,} held by one person",
    ]
    for sex, label in enumerate(("female", "male")):
        given = Counter(p.given for p in people if p.sex == sex)
        one, hundred = shares(given, (1, 100))
        lines.append(
            f"{label} given names: top 1 {one:.1%}, top 100 {hundred:.1%}; {len(given):,} distinct"
        )
    cross, full = _name_pairs(data), Counter(f"{p.given} {p.family}" for p in people)
    lines.append(
        f"record pairs of different entities with the same name: {cross:,}, "
        f"{cross / (n / 1000):.2f} per 1,000 records; people whose full name another has: "
        f"{sum(k for k in full.values() if k > 1) / len(people):.2%}"
    )
    owners: dict[str, set[str]] = {}
    for record, truth in zip(data.records, data.truth, strict=True):
        if record["email"]:
            owners.setdefault(mailbox_key(record["email"]), set()).add(truth.entity_id)
    shared = Counter(data.mailboxes[k] for k, ids in owners.items() if len(ids) > 1)
    lines.append(
        f"mailboxes held by more than one entity: personal {shared['personal']}, family "
        f"{shared['family']} (of {len({p.home.family_box for p in people} - {''}):,}), "
        f"role/work {shared['role'] + shared['work']}"
    )
    changes = [
        sum(map(bool, c)) / len(people)
        for c in zip(*((p.home.old_address, p.emails[1:], p.maiden) for p in people), strict=True)
    ]
    lines.append(
        "people who moved {:.1%}, changed mailbox {:.1%}, changed name {:.1%}".format(*changes)
    )
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: write a registry data set (and print its frequencies with --stats)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--stats", action="store_true", help="print name and identifier shares")
    args = parser.parse_args(argv)
    data = generate(args.entities, args.seed)
    path = write(data, args.out)
    print(f"{len(data.records):,} records of {args.entities:,} entities -> {path}")
    if args.stats:
        print("\n".join(stats(data)))


if __name__ == "__main__":
    main()
