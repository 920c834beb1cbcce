"""Find a customer by name, e-mail, phone or source id — fuzzy and format-tolerant.

Names are folded (Kovács → kovacs) and compared with rapidfuzz, so misspellings, swapped
name order and missing accents still find the customer; e-mails and phones are normalised
the way the identity engine does (E.164 phones, so 06 30…, +36 30… and 0036 30… agree).
The index is built from the store and rebuilt when the store's golden data changes.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rapidfuzz import fuzz, process
from sqlalchemy.engine import Connection

from hub.core.states import GoldenStatus
from hub.store.tables import crosswalk, customer_records, golden_records
from identity.contact import normalise_email
from identity.folding import fold_words
from identity.phones import normalise_phone

__all__ = ["SearchHit", "SearchIndex", "search_customers"]

_DIGITS = re.compile(r"\D+")
_PHONE_LIKE = re.compile(r"^[\s+()./0-9-]{6,}$")


@dataclass(frozen=True, slots=True)
class SearchHit:
    golden_id: str
    score: float
    matched: str  # which value matched, e.g. "email: anna@example.com"
    name: str | None
    email: str | None
    phone: str | None
    city: str | None
    kind: str | None


def _name(record: Any) -> str:
    parts = [record.get("given_name"), record.get("family_name")]
    joined = " ".join(p for p in parts if p)
    return joined or record.get("full_name") or record.get("organization_name") or ""


class SearchIndex:
    """Folded names, normalised e-mails and phones, and source ids → golden ids."""

    def __init__(self, conn: Connection) -> None:
        c, x, g = customer_records.c, crosswalk.c, golden_records.c
        self.names: list[str] = []
        self.name_owner: list[str] = []
        self.emails: dict[str, set[str]] = {}
        self.phones: dict[str, set[str]] = {}
        self.ids: dict[str, set[str]] = {}
        self.keys: dict[str, set[str]] = {}
        self.golden: dict[str, dict[str, Any]] = {}
        for row in conn.execute(
            sa.select(g.golden_id, g.record).where(g.status == GoldenStatus.ACTIVE)
        ).all():
            self.golden[row.golden_id] = row.record
            self._add(row.golden_id, row.record, None)
        rows = conn.execute(
            sa.select(c.source, c.source_id, c.given_name, c.family_name, c.full_name)
            .add_columns(c.organization_name, c.email, c.phone, c.country, x.golden_id)
            .join(crosswalk, sa.and_(x.source == c.source, x.source_id == c.source_id))
            .where(c.deleted.is_(False))
        )
        for row in rows:
            if row.golden_id in self.golden:
                self._add(row.golden_id, dict(row._mapping), row.source_id)
                key = f"{row.source}/{row.source_id}".casefold()
                self.keys.setdefault(key, set()).add(row.golden_id)

    def _add(self, gid: str, record: Any, source_id: str | None) -> None:
        name = fold_words(_name(record))
        if name:
            self.names.append(name)
            self.name_owner.append(gid)
        email = normalise_email(record.get("email"))
        if email:
            self.emails.setdefault(email, set()).add(gid)
        phone = normalise_phone(record.get("phone"), record.get("country"))
        if phone:
            self.phones.setdefault(_DIGITS.sub("", phone), set()).add(gid)
        if source_id:
            self.ids.setdefault(source_id.casefold(), set()).add(gid)

    def search(self, query: str, *, limit: int = 20) -> list[SearchHit]:
        text = query.strip()
        if not text:
            return []
        best: dict[str, tuple[float, str]] = {}

        def hit(gid: str, score: float, matched: str) -> None:
            if gid in self.golden and score > best.get(gid, (-1.0, ""))[0]:
                best[gid] = (score, matched)

        for gid in self.ids.get(text.casefold(), ()):
            hit(gid, 100.0, f"source id: {text}")
        for gid in self.keys.get(text.casefold(), ()):  # "system/id", e.g. erp/1001
            hit(gid, 100.0, f"source record: {text}")
        if "@" in text:
            email = normalise_email(text)
            for gid in self.emails.get(email or "", ()):
                hit(gid, 100.0, f"email: {email}")
            for found, score, _ in process.extract(
                text.casefold(), list(self.emails), scorer=fuzz.ratio, limit=10, score_cutoff=85
            ):
                for gid in self.emails[found]:
                    hit(gid, float(score) * 0.95, f"email: {found}")
        if _PHONE_LIKE.match(text):
            self._phone(text, hit)
        folded = fold_words(text)
        if folded and not text.replace("+", "").replace(" ", "").isdigit():
            for _, score, i in process.extract(
                folded,
                self.names,
                scorer=fuzz.WRatio,  # token order, partial names and typos
                limit=limit * 5,
                score_cutoff=75,
            ):
                hit(self.name_owner[i], float(score), f"name: {self.names[i]}")
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[:limit]
        return [self._hit(gid, score, matched) for gid, (score, matched) in ranked]

    def _phone(self, text: str, hit: Any) -> None:
        digits = _DIGITS.sub("", text)
        countries = {None, "HU", "PL", "IL", "GB", "US", "DE"}
        for country in countries:
            phone = normalise_phone(text, country)
            if phone:
                for gid in self.phones.get(_DIGITS.sub("", phone), ()):
                    hit(gid, 100.0, f"phone: {phone}")
        if len(digits) >= 7:  # a national number typed without prefix: match the tail
            tail = digits.lstrip("0")[-9:]
            for stored, gids in self.phones.items():
                if stored.endswith(tail):
                    for gid in gids:
                        hit(gid, 90.0, f"phone: +{stored}")

    def _hit(self, gid: str, score: float, matched: str) -> SearchHit:
        record = self.golden[gid]
        return SearchHit(
            gid,
            round(score, 1),
            matched,
            _name(record) or None,
            record.get("email"),
            record.get("phone"),
            record.get("city"),
            record.get("kind"),
        )


_CACHE: dict[str, tuple[tuple[Any, ...], SearchIndex]] = {}
_LOCK = threading.Lock()


def _generation(conn: Connection) -> tuple[Any, ...]:
    g, c, x = golden_records.c, customer_records.c, crosswalk.c
    return (
        tuple(conn.execute(sa.select(sa.func.max(g.updated_at), sa.func.count())).one()),
        tuple(conn.execute(sa.select(sa.func.count(), sa.func.max(c.loaded_at))).one()),
        tuple(conn.execute(sa.select(sa.func.count(), sa.func.max(x.assigned_at))).one()),
    )


def search_customers(conn: Connection, query: str, *, limit: int = 20) -> list[SearchHit]:
    """Golden records matching a name, e-mail, phone or source id, best first."""
    key = str(conn.engine.url)
    generation = _generation(conn)
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is None or cached[0] != generation:
            cached = (generation, SearchIndex(conn))
            _CACHE[key] = cached
    return cached[1].search(query, limit=limit)
