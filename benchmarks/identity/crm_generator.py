"""Synthetic CRM data with ground truth: the same people and companies as ERP, billing, support
and web systems record them, with realistic corruptions and known hard negatives.

    python -m benchmarks.identity.crm_generator --entities 50000 --seed 1 --out DIR

writes ``DIR/records.jsonl.gz`` (CustomerRecord JSON Lines), ``DIR/truth.csv``
(``source,source_id,entity_id``) and ``DIR/entities.csv`` (``entity_id,kind,locale,tags``: which
entities are hard negatives, for error analysis).

People and companies are Hungarian, Polish, Israeli (names transliterated to Latin letters),
American and British. Faker is called only to fill per-locale pools of names, streets, cities
and postcodes once per seed; records are then sampled from the pools with ``random.Random(seed)``
(a million records take well under a minute). The output depends only on the seed and the
Faker version.

Each entity appears in 1-4 sources (erp: split names, birth date, tax id; billing: display name,
email, phone, address; support: full name, email, phone; web: given/family name, email), with
typos, dropped diacritics, Hungarian family-name-first names, nicknames, initials, email and
phone format variants, street abbreviations, moves, maiden→married names and missing fields.

Hard negatives (distinct entities that look alike), each a configured fraction, tagged in
``entities.csv``: ``common_name`` (same common name in the same city), ``household`` (shared
address, landline and household email), ``twin`` (same family, address and birth date),
``org_contact`` (a company whose records carry its contact person's email, and that person),
``placeholder`` (records with test@test.com, 0000000000, n/a and the like).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import functools
import itertools
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.identity import TruthRow, write_jsonl, write_truth
from schemas.customer import CUSTOMER_FIELDS

__all__ = [
    "HARD_NEGATIVE_TAGS",
    "LOCALES",
    "SOURCES",
    "EntityInfo",
    "GeneratedData",
    "GeneratorConfig",
    "fold",
    "generate",
    "generate_data",
    "write_dataset",
]

SOURCES: tuple[str, ...] = ("erp", "billing", "support", "web")
LOCALES: tuple[str, ...] = ("hu_HU", "pl_PL", "he_IL", "en_US", "en_GB")
HARD_NEGATIVE_TAGS: tuple[str, ...] = (
    "common_name",
    "household",
    "twin",
    "org_contact",
    "placeholder",
)
_FIELDS: tuple[str, ...] = CUSTOMER_FIELDS  # the public CustomerRecord contract


@dataclass(frozen=True, kw_only=True)
class GeneratorConfig:
    """Mix of entities and hard negatives; fractions are of all entities unless noted."""

    locale_weights: tuple[float, ...] = (0.3, 0.2, 0.15, 0.2, 0.15)  # in LOCALES order
    organization_fraction: float = 0.12
    org_contact_fraction: float = 0.4  # of organisations: records carry the contact's email
    common_name_fraction: float = 0.02
    household_fraction: float = 0.06
    twin_fraction: float = 0.01
    placeholder_fraction: float = 0.01  # of records
    source_count_weights: tuple[float, ...] = (0.3, 0.35, 0.22, 0.13)  # 1, 2, 3, 4 sources
    within_source_duplicate: float = 0.05  # a second record in one of the entity's sources


@dataclass(frozen=True, kw_only=True)
class EntityInfo:
    """What the generator knows about one true entity."""

    entity_id: str
    kind: str
    locale: str
    tags: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class GeneratedData:
    """Records, their truth (same order) and the entities behind them."""

    records: list[dict[str, Any]]
    truth: list[TruthRow]
    entities: dict[str, EntityInfo]

    def tag_counts(self) -> dict[str, int]:
        """How many entities carry each hard-negative tag."""
        counts = Counter(t for e in self.entities.values() for t in e.tags)
        return {tag: counts.get(tag, 0) for tag in HARD_NEGATIVE_TAGS}


# ----------------------------------------------------------------------------------------------
# Locale tables (small, hand-made; Faker fills the large pools)

_COUNTRY = {"hu_HU": "HU", "pl_PL": "PL", "he_IL": "IL", "en_US": "US", "en_GB": "GB"}

# The hard negative "same common name in the same city": (given, family, city, sex).
_COMMON_NAME = {
    "hu_HU": ("László", "Nagy", "Budapest", "m"),
    "pl_PL": ("Anna", "Nowak", "Warszawa", "f"),
    "he_IL": ("David", "Cohen", "Tel Aviv", "m"),
    "en_US": ("Michael", "Smith", "New York", "m"),
    "en_GB": ("John", "Smith", "London", "m"),
}

# Big cities with their share of the locale's addresses; the rest are Faker towns.
_BIG_CITIES: dict[str, tuple[tuple[str, float], ...]] = {
    "hu_HU": (("Budapest", 0.3), ("Debrecen", 0.04), ("Szeged", 0.04), ("Pécs", 0.03)),
    "pl_PL": (("Warszawa", 0.15), ("Kraków", 0.07), ("Łódź", 0.05), ("Wrocław", 0.05)),
    "he_IL": (("Tel Aviv", 0.2), ("Jerusalem", 0.15), ("Haifa", 0.08), ("Beer Sheva", 0.05)),
    "en_US": (("New York", 0.1), ("Los Angeles", 0.05), ("Chicago", 0.04), ("Houston", 0.03)),
    "en_GB": (("London", 0.2), ("Manchester", 0.05), ("Birmingham", 0.05), ("Leeds", 0.03)),
}
_CITY_ALIASES = {
    "Budapest": ("Bp.", "Budapest XIII.", "BUDAPEST"),
    "Warszawa": ("Warsaw", "W-wa"),
    "Kraków": ("Krakow", "Cracow"),
    "Tel Aviv": ("Tel Aviv-Yafo", "Tel-Aviv"),
    "Jerusalem": ("Yerushalayim",),
    "Beer Sheva": ("Be'er Sheva", "Beersheba"),
    "New York": ("NYC", "New York City"),
    "London": ("London, UK",),
}
_HE_CITIES = (
    "Tel Aviv", "Jerusalem", "Haifa", "Rishon LeZion", "Petah Tikva", "Ashdod", "Netanya",
    "Beer Sheva", "Holon", "Bnei Brak", "Ramat Gan", "Rehovot", "Ashkelon", "Bat Yam",
    "Herzliya", "Kfar Saba", "Hadera", "Modiin", "Raanana", "Nazareth", "Eilat",
)  # fmt: skip
_HE_STREETS = (
    "Herzl", "Ben Yehuda", "Dizengoff", "Allenby", "Rothschild", "Jabotinsky", "Weizmann",
    "Ibn Gabirol", "King George", "Bialik", "HaNasi", "Sokolov", "Ahad Ha'am", "Arlozorov",
    "HaYarkon", "Begin", "Ben Gurion", "Hillel", "Jaffa", "Agripas", "Emek Refaim", "HaPalmach",
    "Golomb", "Herzog", "Nordau", "Balfour", "Bograshov", "Frishman", "Gordon", "Shenkin",
)  # fmt: skip
_EN_SUFFIXES = ("Street", "Road", "Avenue", "Lane", "Drive", "Court", "Place", "Close")

# Faker's he_IL names are Hebrew script. anyascii gives a consonant skeleton ("dvd" for דוד);
# this table maps skeletons of common names to their usual Latin spelling. Names outside the
# table are left out of the pools.
_HE_MALE = {
    "'vrhm": "Avraham", "dvd": "David", "yvsf": "Yosef", "msh": "Moshe", "ytshk": "Yitzhak",
    "y'kv": "Yaakov", "dny'l": "Daniel", "mykh'l": "Michael", "'ry'l": "Ariel", "'yty": "Itai",
    "nv'm": "Noam", "yvntn": "Yonatan", "'ytn": "Eitan", "vnymyn": "Binyamin", "smv'l": "Shmuel",
    "'lyhv": "Eliyahu", "yhvdh": "Yehuda", "'hrvn": "Aharon", "ntn": "Natan", "gl": "Gal",
    "'vmry": "Omri", "'dm": "Adam", "'yln": "Ilan", "'lvn": "Alon", "'vhd": "Ohad", "rvn": "Ron",
    "'ydn": "Idan", "'ytmr": "Itamar", "mtn": "Matan", "nyr": "Nir", "dvr": "Dor", "tl": "Tal",
    "'vyv": "Aviv", "yhvntn": "Yehonatan", "rz": "Raz", "'vry": "Uri", "'myt": "Amit",
    "'mry": "Amir", "shr": "Sahar",
}  # fmt: skip
_HE_FEMALE = {
    "y'l": "Yael", "nv'h": "Noa", "tmr": "Tamar", "mykhl": "Michal", "srh": "Sarah",
    "rhl": "Rachel", "l'h": "Leah", "rvt": "Rut", "'str": "Ester", "mrym": "Miriam", "hnh": "Hana",
    "dvvrh": "Dvora", "'vygyl": "Avigail", "'ylt": "Ayelet", "tly": "Tali", "mytl": "Meital",
    "m'yh": "Maya", "rvny": "Roni", "yrdn": "Yarden", "'vrtl": "Ortal", "hdr": "Hadar",
    "lyhy": "Lihi", "rvkh": "Rivka", "shr": "Shir", "nvy": "Noy", "dnh": "Dana", "'dy": "Adi",
    "gyly": "Gili", "sny": "Shani", "'nh": "Anna",
}  # fmt: skip
_HE_FAMILY = {
    "khhn": "Cohen", "lvy": "Levi", "mzrhy": "Mizrahi", "frydmn": "Friedman", "'vrhm": "Avraham",
    "dhn": "Dahan", "'vhyvn": "Ohayon", "'zvl'y": "Azulai", "'vytvvl": "Abitbol",
    "vytvn": "Biton", "'skhnzy": "Ashkenazi", "'hrvny": "Aharoni", "gvldstyyn": "Goldstein",
    "gvldmn": "Goldman", "khts": "Katz", "kfln": "Kaplan", "rvzn": "Rosen",
    "rvznvrg": "Rosenberg", "svvrts": "Schwartz", "vysmn": "Weissman", "vynr": "Weiner",
    "dvd": "David", "yvsf": "Yosef", "ytshk": "Yitzhak", "'mr": "Amar", "'ty's": "Attias",
    "mlkhh": "Malka", "sgl": "Segal", "vrgr": "Berger", "klyyn": "Klein", "grvs": "Gross",
    "lvyn": "Levin", "drvr": "Dror", "srvn": "Sharon", "tl": "Tal", "hdd": "Hadad",
    "'vyv": "Aviv", "'dlr": "Adler", "mymvn": "Maimon", "vn dvd": "Ben David",
    "vn hyym": "Ben Haim", "vrvkh": "Baruch", "'hrvn": "Aharon", "fysr": "Fisher",
    "mykh'ly": "Michaeli", "mlmd": "Melamed", "nhmny": "Nahmani", "ysr'ly": "Israeli",
    "'lvn": "Alon", "gl": "Gal",
}  # fmt: skip

_NICKNAMES: dict[str, tuple[str, ...]] = {
    # hu
    "István": ("Pista", "Pisti"), "József": ("Józsi",), "János": ("Jani",), "László": ("Laci",),
    "Ferenc": ("Feri",), "Sándor": ("Sanyi",), "Zoltán": ("Zoli",), "Péter": ("Peti",),
    "György": ("Gyuri",), "Mihály": ("Misi",), "Tamás": ("Tomi",), "Gábor": ("Gabi",),
    "Katalin": ("Kati",), "Erzsébet": ("Erzsi", "Böske"), "Mária": ("Mari", "Marika"),
    "Zsuzsanna": ("Zsuzsa", "Zsuzsi"), "Ágnes": ("Ági",), "Éva": ("Évi",), "Judit": ("Juci",),
    "Krisztina": ("Kriszti",), "Andrea": ("Andi",),
    # pl
    "Katarzyna": ("Kasia",), "Małgorzata": ("Gosia",), "Aleksandra": ("Ola",),
    "Agnieszka": ("Aga",), "Joanna": ("Asia",), "Magdalena": ("Magda",), "Elżbieta": ("Ela",),
    "Barbara": ("Basia",), "Krzysztof": ("Krzysiek",), "Tomasz": ("Tomek",),
    "Wojciech": ("Wojtek",), "Jakub": ("Kuba",), "Aleksander": ("Olek",),
    "Stanisław": ("Staszek",), "Zbigniew": ("Zbyszek",), "Józef": ("Józek",), "Piotr": ("Piotrek",),
    # he
    "Avraham": ("Avi",), "Yosef": ("Yossi",), "Yitzhak": ("Itzik",), "Yaakov": ("Kobi",),
    "Binyamin": ("Benny",), "Shmuel": ("Shmulik",), "Eliyahu": ("Eli",), "Michael": ("Mike",),
    "Daniel": ("Dani",), "David": ("Dudi",), "Rivka": ("Rivki",), "Yehonatan": ("Yoni",),
    "Tamar": ("Tami",),
    # en
    "William": ("Bill", "Will"), "Robert": ("Bob", "Rob"), "Richard": ("Rick", "Dick"),
    "James": ("Jim", "Jimmy"), "John": ("Jack", "Johnny"), "Thomas": ("Tom",),
    "Elizabeth": ("Liz", "Beth"), "Margaret": ("Maggie", "Peggy"), "Katherine": ("Kate",),
    "Christopher": ("Chris",), "Jennifer": ("Jen",), "Joseph": ("Joe",), "Matthew": ("Matt",),
    "Anthony": ("Tony",), "Charles": ("Charlie",), "Edward": ("Ed", "Ted"), "Susan": ("Sue",),
    "Patricia": ("Pat", "Trish"), "Rebecca": ("Becky",), "Andrew": ("Andy",),
    "Benjamin": ("Ben",), "Nicholas": ("Nick",), "Stephen": ("Steve",), "Alexander": ("Alex",),
}  # fmt: skip
_MALE_EXTRA = {
    "hu_HU": ("István", "László", "József", "János", "Ferenc", "Sándor", "Zoltán", "Péter"),
    "pl_PL": ("Krzysztof", "Tomasz", "Wojciech", "Jakub", "Piotr", "Stanisław", "Józef"),
    "he_IL": (),
    "en_US": ("William", "Robert", "Richard", "James", "Michael", "Joseph", "Charles"),
    "en_GB": ("William", "John", "Thomas", "Edward", "Stephen", "Andrew", "Christopher"),
}
_FEMALE_EXTRA = {
    "hu_HU": ("Katalin", "Erzsébet", "Mária", "Zsuzsanna", "Ágnes", "Éva", "Judit"),
    "pl_PL": ("Katarzyna", "Małgorzata", "Aleksandra", "Agnieszka", "Joanna", "Anna"),
    "he_IL": (),
    "en_US": ("Elizabeth", "Margaret", "Jennifer", "Patricia", "Susan", "Rebecca"),
    "en_GB": ("Elizabeth", "Margaret", "Katherine", "Rebecca", "Susan"),
}

_STREET_ABBREVIATIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "hu_HU": ((" utca", " u."), (" körút", " krt."), (" sétány", " stny.")),
    "pl_PL": (("ul. ", "ulica "), ("ul. ", ""), ("al. ", "aleja ")),
    "he_IL": ((" St", " Street"), (" St", ""), (" St", " St.")),
    "en_US": (
        (" Street", " St"), (" Road", " Rd"), (" Avenue", " Ave"), (" Lane", " Ln"),
        (" Drive", " Dr"), (" Court", " Ct"), (" Place", " Pl"), (" Close", " Cl"),
    ),
}  # fmt: skip
_STREET_ABBREVIATIONS["en_GB"] = _STREET_ABBREVIATIONS["en_US"]

_EMAIL_PROVIDERS = {
    "hu_HU": ("gmail.com", "freemail.hu", "citromail.hu", "t-online.hu", "yahoo.com"),
    "pl_PL": ("gmail.com", "wp.pl", "onet.pl", "o2.pl", "interia.pl"),
    "he_IL": ("gmail.com", "walla.co.il", "hotmail.com", "bezeqint.net", "yahoo.com"),
    "en_US": ("gmail.com", "yahoo.com", "outlook.com", "aol.com", "icloud.com"),
    "en_GB": ("gmail.com", "hotmail.co.uk", "btinternet.com", "outlook.com", "yahoo.co.uk"),
}
_COMPANY_WORDS = {
    "hu_HU": ("Építőipari", "Kereskedelmi", "Informatikai", "Szolgáltató", "Logisztikai", "Pékség"),
    "pl_PL": ("Budownictwo", "Handel", "Transport", "Usługi", "Informatyka", "Piekarnia"),
    "he_IL": ("Logistics", "Technologies", "Trading", "Systems", "Investments", "Foods"),
    "en_US": ("Logistics", "Consulting", "Builders", "Trading", "Software", "Motors"),
    "en_GB": ("Logistics", "Consulting", "Builders", "Trading", "Software", "Joinery"),
}
# Legal forms: canonical, then variants seen in other systems ("" drops it).
_LEGAL_FORMS = {
    "hu_HU": (("Kft.", "Kft", "kft.", "Korlátolt Felelősségű Társaság", ""), ("Zrt.", "ZRT", "")),
    "pl_PL": (("Sp. z o.o.", "sp. z o.o.", "Sp.z o.o.", "spółka z o.o.", ""), ("S.A.", "SA", "")),
    "he_IL": (("Ltd.", "Ltd", "Limited", ""),),
    "en_US": (("Inc.", "Inc", "Incorporated", ""), ("LLC", "L.L.C.", "")),
    "en_GB": (("Ltd", "Ltd.", "Limited", ""), ("PLC", "plc", "")),
}
_TLD = {"hu_HU": "hu", "pl_PL": "pl", "he_IL": "co.il", "en_US": "com", "en_GB": "co.uk"}
_HOUSEHOLD_EMAIL = {
    "hu_HU": "{f}.csalad",
    "pl_PL": "rodzina.{f}",
    "he_IL": "{f}.family",
    "en_US": "the{f}s",
    "en_GB": "{f}.family",
}
_PLACEHOLDER_EMAILS = ("test@test.com", "noemail@example.com", "n/a", "none@none.com", "x@x.com")
_PLACEHOLDER_PHONES = ("0000000000", "n/a", "123456789", "1111111111", "-")
_PLACEHOLDER_NAMES = ("n/a", "Test", "Unknown", "xxx")

_SOURCE_PREFIX = {"erp": "", "billing": "CUST-", "support": "ZD", "web": "u-"}
# Per source: chance a changed person's record is stale, has its accents dropped, a nickname.
_SOURCE_STALENESS = {"erp": 0.5, "billing": 0.3, "support": 0.2, "web": 0.4}
_SOURCE_ASCII = {"erp": 0.05, "billing": 0.15, "support": 0.25, "web": 0.35}
_SOURCE_NICKNAME = {"erp": 0.02, "billing": 0.05, "support": 0.2, "web": 0.2}

# ----------------------------------------------------------------------------------------------
# Small pure helpers


class _Fold(dict[int, str]):
    """str.translate table that ASCII-folds any non-ASCII character on first sight."""

    def __missing__(self, key: int) -> str:
        from anyascii import anyascii

        folded = anyascii(chr(key))
        self[key] = folded
        return folded


_FOLD = _Fold()


def fold(text: str) -> str:
    """Drop diacritics and transliterate to ASCII: ``Kovács Łukasz`` → ``Kovacs Lukasz``."""
    return text if text.isascii() else text.translate(_FOLD)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", fold(text).lower())


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _typo(rng: random.Random, text: str) -> str:
    """One keyboard slip: swap two neighbours, drop, insert or replace one letter."""
    if len(text) < 3:
        return text
    i = rng.randrange(1, len(text) - 1)
    op = rng.random()
    if op < 0.3:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if op < 0.55:
        return text[:i] + text[i + 1 :]
    letter = rng.choice(_LETTERS)
    if op < 0.8:
        return text[:i] + letter + text[i:]
    return text[:i] + letter + text[i + 1 :]


def _digits(rng: random.Random, n: int) -> str:
    return str(rng.randrange(10**n)).zfill(n)


# Phone numbers: the national significant number (no trunk prefix) and its written forms.
def _phone_forms(locale: str, nsn: str) -> tuple[str, ...]:
    """Ways people write one phone number, per locale (international, trunk, spacing)."""
    if locale == "hu_HU":
        a, r = (nsn[:1], nsn[1:]) if nsn[0] == "1" else (nsn[:2], nsn[2:])
        r1, r2 = r[:3], r[3:]
        return (
            f"+36 {a} {r1} {r2}", f"06 {a} {r1} {r2}", f"0036 {a} {r1} {r2}", f"+36-{a}-{r1}-{r2}",
            f"06-{a}/{r1}-{r2}", f"06{a}{r}", f"+36{a}{r}", f"{a}/{r1}-{r2}",
        )  # fmt: skip
    if locale == "pl_PL":
        p = (nsn[:3], nsn[3:6], nsn[6:])
        return (
            f"+48 {p[0]} {p[1]} {p[2]}", f"{p[0]} {p[1]} {p[2]}", f"{p[0]}-{p[1]}-{p[2]}",
            f"0048{nsn}", f"+48{nsn}", f"(+48) {p[0]} {p[1]} {p[2]}",
        )  # fmt: skip
    if locale == "he_IL":
        a, r = nsn[:2], nsn[2:]
        return (
            f"+972 {a}-{r[:3]}-{r[3:]}", f"0{a}-{r}", f"0{a}-{r[:3]}-{r[3:]}", f"0{nsn}",
            f"00972 {a} {r[:3]} {r[3:]}", f"+972{nsn}",
        )  # fmt: skip
    if locale == "en_US":
        a, b, c = nsn[:3], nsn[3:6], nsn[6:]
        return (
            f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"+1 {a} {b} {c}", f"1-{a}-{b}-{c}",
            nsn,
        )  # fmt: skip
    a, r = nsn[:4], nsn[4:]
    return (
        f"0{a} {r}", f"+44 {a} {r}", f"+44 (0){a} {r}", f"0044 {a} {r[:3]} {r[3:]}", f"0{nsn}",
    )  # fmt: skip


def _mobile(rng: random.Random, locale: str) -> str:
    if locale == "hu_HU":
        return rng.choice(("20", "30", "31", "70")) + _digits(rng, 7)
    if locale == "pl_PL":
        return rng.choice("5678") + _digits(rng, 8)
    if locale == "he_IL":
        return "5" + rng.choice("023458") + _digits(rng, 7)
    if locale == "en_US":
        return str(rng.randrange(201, 990)) + str(rng.randrange(2, 10)) + _digits(rng, 6)
    return "7" + _digits(rng, 9)


def _landline(rng: random.Random, locale: str) -> str:
    if locale == "hu_HU":
        return "1" + _digits(rng, 7)
    if locale == "pl_PL":
        return rng.choice(("22", "12", "42", "71")) + _digits(rng, 7)
    if locale == "he_IL":
        return rng.choice("2348") + _digits(rng, 7)
    if locale == "en_US":
        return str(rng.randrange(201, 990)) + str(rng.randrange(2, 10)) + _digits(rng, 6)
    return "20" + _digits(rng, 8)


def _person_tax_id(rng: random.Random, locale: str, birth: dt.date) -> tuple[str, ...]:
    """A national person id and its written variants."""
    if locale == "hu_HU":
        v = "8" + _digits(rng, 9)
        return (v, f"{v[:5]} {v[5:]}")
    if locale == "pl_PL":  # PESEL starts with the birth date
        v = birth.strftime("%y%m%d") + _digits(rng, 5)
        return (v,)
    if locale == "he_IL":
        v = _digits(rng, 9)
        return (v, v.lstrip("0") or "0")
    if locale == "en_US":
        v = _digits(rng, 9)
        return (f"{v[:3]}-{v[3:5]}-{v[5:]}", v)
    v = "".join(rng.choice("ABCEGHJKLMNPRSTWXYZ") for _ in range(2)) + _digits(rng, 6)
    v += rng.choice("ABCD")
    return (f"{v[:2]} {v[2:4]} {v[4:6]} {v[6:8]} {v[8]}", v)


def _org_tax_id(rng: random.Random, locale: str) -> tuple[str, ...]:
    """A company registration / VAT id and its written variants."""
    if locale == "hu_HU":
        base, vat, county = _digits(rng, 8), rng.choice("2345"), _digits(rng, 2)
        return (f"{base}-{vat}-{county}", f"{base}{vat}{county}", f"HU{base}")
    if locale == "pl_PL":
        v = _digits(rng, 10)
        return (f"{v[:3]}-{v[3:6]}-{v[6:8]}-{v[8:]}", v, f"PL{v}")
    if locale == "he_IL":
        v = "51" + _digits(rng, 7)
        return (f"{v[:2]}-{v[2:8]}-{v[8]}", v)
    if locale == "en_US":
        v = _digits(rng, 9)
        return (f"{v[:2]}-{v[2:]}", v)
    v = _digits(rng, 9)
    return (f"GB{v}", f"GB {v[:3]} {v[3:7]} {v[7:]}", v)


# ----------------------------------------------------------------------------------------------
# Pools: Faker is called here only, once per seed


@dataclass(frozen=True, kw_only=True)
class _Pools:
    male: tuple[str, ...]
    female: tuple[str, ...]
    family: tuple[str, ...]
    streets: tuple[str, ...]
    cities: tuple[str, ...]
    city_cum_weights: tuple[float, ...]
    postcodes: dict[str, tuple[str, ...]]
    company_bases: tuple[str, ...]


def _faker_pool(call: Callable[[], str], n: int) -> tuple[str, ...]:
    return tuple(call() for _ in range(n))


def _he_pool(names: Any, table: dict[str, str], faker: Any, n: int) -> tuple[str, ...]:
    from anyascii import anyascii

    latin = []
    for _ in range(n):
        key = anyascii(faker.random_element(names))
        if key in table:
            latin.append(table[key])
    return tuple(latin) or tuple(table.values())


def _locale_pools(locale: str, seed: int) -> _Pools:
    from faker import Faker

    faker = Faker(locale)
    faker.seed_instance(seed)
    n = 600
    if locale == "he_IL":
        from faker.providers.person.he_IL import Provider as HePerson

        male = _he_pool(HePerson.first_names_male, _HE_MALE, faker, n)
        female = _he_pool(HePerson.first_names_female, _HE_FEMALE, faker, n)
        family = _he_pool(HePerson.last_names, _HE_FAMILY, faker, n)
        streets = tuple(f"{s} St" for s in _HE_STREETS)
        towns: tuple[str, ...] = tuple(_HE_CITIES)
        postcode: Callable[[], str] = lambda: _digits(faker.random, 7)  # noqa: E731
    else:
        male = _faker_pool(faker.first_name_male, n) + _MALE_EXTRA[locale]
        female = _faker_pool(faker.first_name_female, n) + _FEMALE_EXTRA[locale]
        family = _faker_pool(faker.last_name, n)
        if locale == "pl_PL":
            streets = tuple(
                ("al. " if i % 9 == 0 else "ul. ") + s
                for i, s in enumerate(_faker_pool(faker.street_name, n // 2))
            )
        elif locale == "hu_HU":
            streets = _faker_pool(faker.street_name, n // 2)
        else:
            streets = tuple(
                f"{faker.last_name()} {faker.random_element(_EN_SUFFIXES)}" for _ in range(n // 2)
            )
        towns = tuple(dict.fromkeys(_faker_pool(faker.city, 200)))
        postcode = faker.postcode
    big = _BIG_CITIES[locale]
    big_names = tuple(c for c, _ in big)
    towns = tuple(t for t in towns if t not in big_names)
    rest = 1.0 - sum(w for _, w in big)
    cities = big_names + towns
    weights = tuple(w for _, w in big) + (rest / len(towns),) * len(towns)
    postcodes: dict[str, tuple[str, ...]] = {}
    for city in cities:
        k = 25 if city in big_names else faker.random_int(1, 3)
        codes = tuple(postcode().removeprefix("H-") for _ in range(k))
        postcodes[city] = codes
    words = _COMPANY_WORDS[locale]
    company_bases = tuple(
        f"{faker.random_element(family)} {faker.random_element(words)}" for _ in range(n // 2)
    )
    return _Pools(
        male=male,
        female=female,
        family=family,
        streets=streets,
        cities=cities,
        city_cum_weights=tuple(itertools.accumulate(weights)),
        postcodes=postcodes,
        company_bases=company_bases,
    )


@functools.lru_cache(maxsize=4)
def _pools(seed: int) -> dict[str, _Pools]:
    """Per-locale pools for one seed (cached: building them is the only slow Faker work)."""
    return {locale: _locale_pools(locale, seed) for locale in LOCALES}


# ----------------------------------------------------------------------------------------------
# Entities


@dataclass(slots=True)
class _Address:
    street: str
    house_number: str
    postal_code: str
    city: str


@dataclass(slots=True)
class _Person:
    entity_id: str
    locale: str
    sex: str
    given: str
    family: str
    birth: dt.date
    email: str
    mobile: str
    address: _Address
    tax_ids: tuple[str, ...]
    maiden: str | None = None
    old_address: _Address | None = None
    second_email: str | None = None
    landline: str | None = None
    household_email: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Organization:
    entity_id: str
    locale: str
    base: str
    legal_forms: tuple[str, ...]
    tax_ids: tuple[str, ...]
    email: str
    phone: str
    address: _Address
    contact: _Person | None = None
    tags: list[str] = field(default_factory=list)


_DAYS = tuple((dt.date(2018, 1, 1) + dt.timedelta(days=d)).isoformat() for d in range(8 * 365))
_EMAIL_LOCAL_PATTERNS = ("{g}.{f}", "{g}{f}", "{i}{f}", "{f}.{g}", "{g}_{f}")
_TODAY = dt.date(2026, 1, 1)


class _Builder:
    """Creates entities and renders them as source records, all from one Random."""

    def __init__(self, seed: int, config: GeneratorConfig) -> None:
        self.rng = random.Random(seed)
        self.cfg = config
        self.pools = _pools(seed)
        self.emails_used: set[str] = set()
        self.entities: list[_Person | _Organization] = []
        self._locale_cum = tuple(itertools.accumulate(config.locale_weights))
        self._count_cum = tuple(itertools.accumulate(config.source_count_weights))

    # --- entity creation ------------------------------------------------------------------
    def _next_id(self) -> str:
        return f"E{len(self.entities) + 1:07d}"

    def _locale(self) -> str:
        return self.rng.choices(LOCALES, cum_weights=self._locale_cum)[0]

    def _address(self, locale: str, city: str | None = None) -> _Address:
        rng, pools = self.rng, self.pools[locale]
        if city is None:
            city = rng.choices(pools.cities, cum_weights=pools.city_cum_weights)[0]
        number = str(rng.choice((rng.randrange(1, 40), rng.randrange(1, 200))))
        if locale in ("hu_HU", "pl_PL") and rng.random() < 0.08:
            number += rng.choice("ABC")
        return _Address(rng.choice(pools.streets), number, rng.choice(pools.postcodes[city]), city)

    def _unique_email(self, local: str, domain: str) -> str:
        # One mailbox, one person: Gmail ignores dots, so with anna.nowak@ taken annanowak@
        # is taken too (and the next Anna Nowak gets anna.nowak2@)
        def mailbox(user: str) -> str:
            return f"{user.replace('.', '') if domain == 'gmail.com' else user}@{domain}"

        user, n = local, 1
        while mailbox(user) in self.emails_used:
            n += 1
            user = f"{local}{n}"
        self.emails_used.add(mailbox(user))
        return f"{user}@{domain}"

    def _personal_email(self, locale: str, given: str, family: str, birth: dt.date) -> str:
        rng = self.rng
        g, f = _slug(given), _slug(family)
        pattern = rng.randrange(7)
        if pattern == 5:
            local = f"{g}.{f}{birth:%y}"
        elif pattern == 6:
            local = f"{f}{g[:1]}{rng.randrange(1, 100)}"
        else:
            local = _EMAIL_LOCAL_PATTERNS[pattern].format(g=g, f=f, i=g[:1])
        return self._unique_email(local, rng.choice(_EMAIL_PROVIDERS[locale]))

    def person(
        self,
        locale: str,
        *,
        sex: str | None = None,
        given: str | None = None,
        family: str | None = None,
        birth: dt.date | None = None,
        address: _Address | None = None,
        tags: Sequence[str] = (),
    ) -> _Person:
        """A new person entity; unset attributes are drawn at random."""
        rng, pools = self.rng, self.pools[locale]
        sex = sex or rng.choice("mf")
        if given is None:
            given = rng.choice(pools.male if sex == "m" else pools.female)
        family = family or rng.choice(pools.family)
        if birth is None:
            birth = _TODAY - dt.timedelta(days=rng.randrange(18 * 365, 90 * 365))
        p = _Person(
            entity_id=self._next_id(),
            locale=locale,
            sex=sex,
            given=given,
            family=family,
            birth=birth,
            email=self._personal_email(locale, given, family, birth),
            mobile=_mobile(rng, locale),
            address=address or self._address(locale),
            tax_ids=_person_tax_id(rng, locale, birth),
            tags=list(tags),
        )
        if sex == "f" and rng.random() < 0.12:
            p.maiden = rng.choice(pools.family)
        if rng.random() < 0.1:
            p.old_address = self._address(locale)
        if rng.random() < 0.12:  # same local part at another provider, or a work address
            local = p.email.split("@")[0]
            p.second_email = self._unique_email(local, rng.choice(_EMAIL_PROVIDERS[locale]))
        if rng.random() < 0.15:
            p.landline = _landline(rng, locale)
        self.entities.append(p)
        return p

    def organization(self, locale: str) -> _Organization:
        """A new company entity."""
        rng, pools = self.rng, self.pools[locale]
        base = rng.choice(pools.company_bases)
        domain = f"{_slug(base)}.{_TLD[locale]}"
        org = _Organization(
            entity_id=self._next_id(),
            locale=locale,
            base=base,
            legal_forms=rng.choice(_LEGAL_FORMS[locale]),
            tax_ids=_org_tax_id(rng, locale),
            email=self._unique_email(rng.choice(("info", "office", "billing", "sales")), domain),
            phone=_landline(rng, locale),
            address=self._address(locale),
        )
        self.entities.append(org)
        return org

    def household(self, locale: str, size: int) -> None:
        """2-3 people at one address with one landline, mostly one family name."""
        rng = self.rng
        first = self.person(locale, tags=("household",))
        first.landline = first.landline or _landline(rng, locale)
        email_local = _HOUSEHOLD_EMAIL[locale].format(f=_slug(first.family))
        first.household_email = self._unique_email(
            email_local, rng.choice(_EMAIL_PROVIDERS[locale])
        )
        givens = {first.given}
        for _ in range(size - 1):
            family = first.family if rng.random() < 0.85 else None
            sex = rng.choice("mf")
            given = self._distinct_given(locale, sex, givens)
            offset = rng.choice((rng.randrange(-3000, 3000), rng.randrange(7000, 12000)))
            birth = min(first.birth + dt.timedelta(days=offset), _TODAY - dt.timedelta(days=6600))
            member = self.person(
                locale,
                sex=sex,
                given=given,
                family=family,
                birth=birth,
                address=first.address,
                tags=("household",),
            )
            member.landline, member.household_email = first.landline, first.household_email
            member.old_address = None

    def _distinct_given(self, locale: str, sex: str, taken: set[str]) -> str:
        pools = self.pools[locale]
        for _ in range(50):
            given = self.rng.choice(pools.male if sex == "m" else pools.female)
            if given not in taken:
                taken.add(given)
                return given
        raise RuntimeError(f"{locale}: name pool too small for distinct given names")

    def twins(self, locale: str) -> None:
        """Two people with one family name, address and birth date; different given names."""
        rng = self.rng
        first = self.person(locale, tags=("twin",))
        first.landline = first.landline or _landline(rng, locale)
        first.maiden = None
        sex = first.sex if rng.random() < 0.6 else ("f" if first.sex == "m" else "m")
        other = self.person(
            locale,
            sex=sex,
            given=self._distinct_given(locale, sex, {first.given}),
            family=first.family,
            birth=first.birth,
            address=first.address,
            tags=("twin",),
        )
        other.landline, other.maiden, other.old_address = first.landline, None, first.old_address

    def common_name_group(self, locale: str, size: int) -> None:
        """Different people with the locale's most common name, all in its biggest city."""
        given, family, city, sex = _COMMON_NAME[locale]
        for _ in range(size):
            p = self.person(
                locale,
                sex=sex,
                given=given,
                family=family,
                address=self._address(locale, city),
                tags=("common_name",),
            )
            p.maiden, p.old_address = None, None

    def _groups(self, what: str, total: int, sizes: tuple[int, ...]) -> list[tuple[str, int]]:
        """Split ``total`` entities into groups of the given sizes (a lone leftover is dropped)."""
        groups: list[tuple[str, int]] = []
        while total >= min(sizes):
            size = min(self.rng.choice(sizes), total)
            groups.append((what, size))
            total -= size
        return groups

    def build(self, n_entities: int) -> None:
        """Create exactly ``n_entities`` entities; each hard-negative kind gets its fraction."""
        cfg, rng, n = self.cfg, self.rng, n_entities
        n_orgs = round(cfg.organization_fraction * n)
        with_contact = round(cfg.org_contact_fraction * n_orgs)
        plan = [("org+contact", 2)] * with_contact + [("org", 1)] * (n_orgs - with_contact)
        plan += self._groups("household", round(cfg.household_fraction * n), (2, 2, 3))
        plan += self._groups("twins", round(cfg.twin_fraction * n), (2,))
        plan += self._groups("common_name", round(cfg.common_name_fraction * n), (2, 3, 4))
        while sum(size for _, size in plan) > n:  # tiny n: fewer groups
            plan.pop(rng.randrange(len(plan)))
        plan += [("person", 1)] * (n - sum(size for _, size in plan))
        rng.shuffle(plan)
        for what, size in plan:
            locale = self._locale()
            if what == "person":
                self.person(locale)
            elif what.startswith("org"):
                org = self.organization(locale)
                if what == "org+contact":
                    org.contact = self.person(locale, tags=("org_contact",))
                    org.tags.append("org_contact")
            elif what == "household":
                self.household(locale, size)
            elif what == "twins":
                self.twins(locale)
            else:
                self.common_name_group(locale, size)

    # --- rendering -------------------------------------------------------------------------
    def _updated_at(self, stale: bool) -> str:
        # Stale records (old address, maiden name) are from the first half of the span.
        half = len(_DAYS) // 2
        day = self.rng.randrange(half) + (0 if stale else half)
        second = self.rng.randrange(86400)
        return f"{_DAYS[day]}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}+00:00"

    def _text(self, value: str, *, strip: bool, typo: float) -> str:
        if self.rng.random() < typo:
            value = _typo(self.rng, value)
        return fold(value) if strip else value

    def _email(self, email: str, source: str) -> str:
        rng = self.rng
        u = rng.random()
        local, _, domain = email.partition("@")
        if u < 0.06:
            return email.upper() if rng.random() < 0.3 else email.title()
        if u < 0.1 and domain == "gmail.com":
            tag = rng.choice(("shop", "news", "crm", source))
            return f"{local}+{tag}@{domain}"
        if u < 0.14 and domain == "gmail.com":
            return (
                local.replace(".", "") + "@" + domain
                if "." in local
                else f"{local[:2]}.{local[2:]}@{domain}"
            )
        if u < 0.15:
            return _typo(rng, local) + "@" + domain
        return email

    def _street(self, locale: str, street: str, strip: bool) -> str:
        rng = self.rng
        if rng.random() < 0.35:
            forms = [(c, v) for c, v in _STREET_ABBREVIATIONS[locale] if c in street]
            if forms:
                canonical, variant = rng.choice(forms)
                street = street.replace(canonical, variant, 1).strip()
        if rng.random() < 0.05:
            street = street.lower() if rng.random() < 0.5 else street.upper()
        return self._text(street, strip=strip, typo=0.04)

    def _put_address(self, rec: dict[str, Any], locale: str, addr: _Address, strip: bool) -> None:
        rng = self.rng
        street = self._street(locale, addr.street, strip)
        number = addr.house_number
        if locale == "hu_HU" and rng.random() < 0.3:
            number += "."
        if rng.random() < 0.15:  # number written into the street line
            english = locale in ("en_US", "en_GB", "he_IL")
            rec["street"] = f"{number} {street}" if english else f"{street} {number}"
        else:
            rec["street"], rec["house_number"] = street, number
        code = addr.postal_code
        if rng.random() < 0.2:
            if locale == "pl_PL":
                code = code.replace("-", "")
            elif locale == "en_GB":
                code = code.replace(" ", "") if rng.random() < 0.5 else code.lower()
            elif locale == "hu_HU":
                code = "H-" + code
            elif locale == "en_US":
                code = f"{code}-{_digits(rng, 4)}"
        rec["postal_code"] = code if rng.random() > 0.04 else None
        city = addr.city
        if city in _CITY_ALIASES and rng.random() < 0.2:
            city = rng.choice(_CITY_ALIASES[city])
        rec["city"] = self._text(city, strip=strip, typo=0.03)

    def _display_name(self, locale: str, given: str, family: str) -> str:
        rng = self.rng
        if rng.random() < 0.07:
            given = given[0] + "."
        if locale == "hu_HU" and rng.random() < 0.85:
            return f"{family} {given}"
        return f"{given} {family}"

    def render_person(self, p: _Person, source: str) -> dict[str, Any]:
        """One record of a person as ``source`` holds it."""
        rng, loc = self.rng, p.locale
        rec: dict[str, Any] = dict.fromkeys(_FIELDS)
        changed = p.maiden is not None or p.old_address is not None
        stale = changed and rng.random() < _SOURCE_STALENESS[source]
        strip = rng.random() < _SOURCE_ASCII[source]
        given = p.given
        if given in _NICKNAMES and rng.random() < _SOURCE_NICKNAME[source]:
            given = rng.choice(_NICKNAMES[given])
        family = p.maiden if (stale and p.maiden) else p.family
        given = self._text(given, strip=strip, typo=0.05)
        family = self._text(family, strip=strip, typo=0.05)
        if rng.random() < 0.03:
            given, family = given.upper(), family.upper()
        email = p.email
        if p.second_email and rng.random() < 0.3:
            email = p.second_email
        if p.household_email and rng.random() < 0.35:
            email = p.household_email
        email = self._email(email, source)
        phone_nsn = p.landline if (p.landline and rng.random() < 0.4) else p.mobile
        phone = rng.choice(_phone_forms(loc, phone_nsn))
        address = p.old_address if (stale and p.old_address) else p.address
        rec["updated_at"] = self._updated_at(stale)
        if source == "erp":
            rec.update(kind="person", country=_COUNTRY[loc] if rng.random() < 0.9 else None)
            rec["given_name"] = given if rng.random() > 0.03 else given[0] + "."
            rec["family_name"] = family
            if rng.random() < 0.75:
                rec["birth_date"] = p.birth.isoformat()
            if rng.random() < 0.45:
                rec["tax_id"] = rng.choice(p.tax_ids)
            rec["email"] = email if rng.random() < 0.6 else None
            rec["phone"] = phone if rng.random() < 0.7 else None
            if rng.random() < 0.95:
                self._put_address(rec, loc, address, strip)
        elif source == "billing":
            rec.update(kind="person", country=_COUNTRY[loc] if rng.random() < 0.95 else None)
            rec["full_name"] = self._display_name(loc, given, family)
            rec["email"] = email if rng.random() < 0.9 else None
            rec["phone"] = phone if rng.random() < 0.7 else None
            if rng.random() < 0.1:
                rec["tax_id"] = rng.choice(p.tax_ids)
            if rng.random() < 0.95:
                self._put_address(rec, loc, address, strip)
        elif source == "support":
            rec["kind"] = "person" if rng.random() < 0.5 else None
            rec["full_name"] = (
                given if rng.random() < 0.05 else self._display_name(loc, given, family)
            )
            rec["email"] = email if rng.random() < 0.95 else None
            rec["phone"] = phone if rng.random() < 0.5 else None
            rec["country"] = _COUNTRY[loc] if rng.random() < 0.3 else None
        else:
            rec["given_name"] = given if rng.random() < 0.95 else None
            rec["family_name"] = family if rng.random() < 0.9 else None
            rec["email"] = email
            rec["phone"] = phone if rng.random() < 0.15 else None
            rec["country"] = _COUNTRY[loc] if rng.random() < 0.5 else None
            if rng.random() < 0.1:
                rec["birth_date"] = p.birth.isoformat()
        return rec

    def render_organization(self, org: _Organization, source: str) -> dict[str, Any]:
        """One record of a company as ``source`` holds it."""
        rng, loc = self.rng, org.locale
        rec: dict[str, Any] = dict.fromkeys(_FIELDS)
        strip = rng.random() < 0.15
        form = org.legal_forms[0] if rng.random() < 0.6 else rng.choice(org.legal_forms)
        name = self._text(f"{org.base} {form}".strip(), strip=strip, typo=0.04)
        if rng.random() < 0.05:
            name = name.upper()
        rec.update(kind="organization", organization_name=name, updated_at=self._updated_at(False))
        email = org.email
        if org.contact is not None and rng.random() < 0.7:
            email = org.contact.email
        email = self._email(email, source)
        phone = rng.choice(_phone_forms(loc, org.phone))
        if source == "erp":
            rec["tax_id"] = rng.choice(org.tax_ids) if rng.random() < 0.9 else None
            rec["email"] = email if rng.random() < 0.6 else None
            rec["phone"] = phone if rng.random() < 0.8 else None
            rec["country"] = _COUNTRY[loc]
            self._put_address(rec, loc, org.address, strip)
        elif source == "billing":
            rec["tax_id"] = rng.choice(org.tax_ids) if rng.random() < 0.7 else None
            rec["email"] = email if rng.random() < 0.9 else None
            rec["phone"] = phone if rng.random() < 0.6 else None
            rec["country"] = _COUNTRY[loc]
            if rng.random() < 0.95:
                self._put_address(rec, loc, org.address, strip)
        else:
            if org.contact is not None and rng.random() < 0.4:
                c = org.contact
                rec["full_name"] = self._display_name(loc, c.given, c.family)
            rec["email"] = email if rng.random() < 0.95 else None
            rec["phone"] = phone if rng.random() < 0.5 else None
        return rec

    def _sources(self, is_org: bool) -> list[str]:
        rng = self.rng
        pool = SOURCES[:3] if is_org else SOURCES
        k = min(rng.choices((1, 2, 3, 4), cum_weights=self._count_cum)[0], len(pool))
        chosen = rng.sample(pool, k)
        if rng.random() < self.cfg.within_source_duplicate:
            chosen.append(rng.choice(chosen))
        return chosen

    def _placeholder(self, rec: dict[str, Any]) -> None:
        rng = self.rng
        u = rng.random()
        if u < 0.5:
            rec["email"] = rng.choice(_PLACEHOLDER_EMAILS)
        elif u < 0.85:
            rec["phone"] = rng.choice(_PLACEHOLDER_PHONES)
        else:
            rec["email"] = rng.choice(_PLACEHOLDER_EMAILS)
            rec["phone"] = rng.choice(_PLACEHOLDER_PHONES)
            if rec["full_name"] is not None:
                rec["full_name"] = rng.choice(_PLACEHOLDER_NAMES)

    def render(self) -> GeneratedData:
        """All records of all entities, shuffled, with source ids and truth."""
        rng = self.rng
        rows: list[tuple[dict[str, Any], str]] = []
        placeholder_entities: set[str] = set()
        for entity in self.entities:
            is_org = isinstance(entity, _Organization)
            for source in self._sources(is_org):
                if isinstance(entity, _Organization):
                    rec = self.render_organization(entity, source)
                else:
                    rec = self.render_person(entity, source)
                rec["source"] = source
                if rng.random() < self.cfg.placeholder_fraction:
                    self._placeholder(rec)
                    placeholder_entities.add(entity.entity_id)
                rows.append((rec, entity.entity_id))
        rng.shuffle(rows)
        counters = dict.fromkeys(SOURCES, 0)
        truth: list[TruthRow] = []
        records: list[dict[str, Any]] = []
        for rec, entity_id in rows:
            source = rec["source"]
            counters[source] += 1
            k = counters[source]
            if source == "web":  # an odd multiplier permutes 32-bit ints: unique, looks random
                rec["source_id"] = f"u-{(k * 2654435761) % 2**32:08x}"
            else:
                rec["source_id"] = f"{_SOURCE_PREFIX[source]}{100000 + k}"
            records.append(rec)
            truth.append(TruthRow(source, rec["source_id"], entity_id))
        entities = {}
        for e in self.entities:
            tags = list(e.tags)
            if e.entity_id in placeholder_entities:
                tags.append("placeholder")
            kind = "organization" if isinstance(e, _Organization) else "person"
            entities[e.entity_id] = EntityInfo(
                entity_id=e.entity_id, kind=kind, locale=e.locale, tags=tuple(tags)
            )
        return GeneratedData(records=records, truth=truth, entities=entities)


def generate_data(
    n_entities: int, seed: int, *, config: GeneratorConfig | None = None
) -> GeneratedData:
    """Records, truth and entity descriptions for ``n_entities`` entities (deterministic)."""
    if n_entities < 1:
        raise ValueError(f"n_entities must be at least 1, got {n_entities}")
    builder = _Builder(seed, config or GeneratorConfig())
    builder.build(n_entities)
    return builder.render()


def generate(
    n_entities: int, seed: int, *, config: GeneratorConfig | None = None
) -> tuple[list[dict[str, Any]], list[TruthRow]]:
    """CustomerRecord dicts and their truth rows (same order) for ``n_entities`` entities."""
    data = generate_data(n_entities, seed, config=config)
    return data.records, data.truth


def write_dataset(data: GeneratedData, out_dir: Path, *, limit: int | None = None) -> Path:
    """Write records.jsonl.gz, truth.csv and entities.csv; ``limit`` keeps the first N records."""
    out_dir.mkdir(parents=True, exist_ok=True)
    records, truth = data.records, data.truth
    if limit is not None:
        records, truth = records[:limit], truth[:limit]
    records_path = out_dir / "records.jsonl.gz"
    write_jsonl(records_path, records)
    write_truth(out_dir / "truth.csv", truth)
    with (out_dir / "entities.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(("entity_id", "kind", "locale", "tags"))
        for e in data.entities.values():
            writer.writerow((e.entity_id, e.kind, e.locale, ";".join(e.tags)))
    return records_path


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: generate a dataset into a directory."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    data = generate_data(args.entities, args.seed)
    generated = time.perf_counter() - started
    write_dataset(data, args.out)
    total = time.perf_counter() - started
    print(
        f"{len(data.records):,} records of {len(data.entities):,} entities in {args.out} "
        f"(generated in {generated:.1f}s, written in {total - generated:.1f}s)"
    )
    print(
        "hard negatives (entities):", ", ".join(f"{k} {v:,}" for k, v in data.tag_counts().items())
    )


if __name__ == "__main__":
    main()
