"""Blocking: which record pairs are worth comparing at all.

Several rules, unioned. A rule pairs records that agree exactly on all its key columns
(after standardisation). Every rule also keys on `kind`, so a person is never compared
with an organisation. Before any pair is generated the candidate count of each rule is
estimated; a block larger than `max_block` (one value shared by hundreds of records, such
as a household e-mail or a placeholder phone) is left out with a warning, so one bad value
cannot glue unrelated people together or explode the run.

A rule with `across` pairs only the records of a block that differ on that column: the
e-mail-spells-a-name rules pair a record without a full name (its e-mail's letters) with a
named record whose name those letters spell, never two named records sharing a full name
(at 1M records those were tens of millions of pairs with nothing but the name in common).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jellyfish
import numpy as np
import pandas as pd

from identity.addresses import street_name

__all__ = [
    "DEFAULT_RULES",
    "DERIVED",
    "MAIL_NAME_KEYS",
    "BlockingReport",
    "BlockingRule",
    "add_derived_keys",
    "candidate_pairs",
    "derived_keys",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BlockingRule:
    """Compare records that agree exactly on all of `columns` (and, with `across`, a column
    of True/False, differ on it: one True, one False)."""

    name: str
    columns: tuple[str, ...]
    across: str | None = None


DEFAULT_RULES: tuple[BlockingRule, ...] = (
    BlockingRule("email", ("email",)),
    BlockingRule("phone", ("phone",)),
    BlockingRule("tax id", ("tax_id",)),
    BlockingRule("name + postal code", ("given_canon", "family", "postal_code")),
    BlockingRule("name + city", ("given_canon", "family", "city")),
    # a card or a display name gives only the initial: J SMITH, postcode checked by the card
    BlockingRule("initial + family name + postal code", ("given_initial", "family", "postal_code")),
    BlockingRule("birth date + family name", ("birth_date", "family")),
    BlockingRule("birth date + given name", ("birth_date", "given_canon")),
    BlockingRule("birth date + postal code", ("birth_date", "postal_code")),
    BlockingRule("sounds-alike name + birth year", ("family_key", "given_key", "birth_year")),
    BlockingRule("sounds-alike family + street", ("family_key", "street_key", "postal_code")),
    BlockingRule("given name + street", ("given_canon", "street_key", "house_number")),
    BlockingRule("swapped names", ("name_pair",)),
    BlockingRule("e-mail user name", ("email_local", "family_key")),
    # a record without a full name (a web sign-up, a help-desk display name) whose e-mail
    # user name spells a named record's name: hayssean@ ~ Sean Hays, c.pratt@ ~ Craig Pratt
    BlockingRule("e-mail spells given + family", ("mail_given_family",), across="mail_named"),
    BlockingRule("e-mail spells family + given", ("mail_family_given",), across="mail_named"),
    BlockingRule("e-mail spells initial + family", ("mail_initial_family",), across="mail_named"),
    BlockingRule("organisation + postal code", ("org", "postal_code")),
    BlockingRule("organisation + city", ("org", "city")),
)


@dataclass
class BlockingReport:
    """What blocking did: candidate pairs per rule, and blocks left out as too large."""

    pairs_per_rule: dict[str, int] = field(default_factory=dict)
    oversized: list[tuple[str, int, int]] = field(default_factory=list)  # rule, blocks, records
    total_pairs: int = 0

    def skip_oversized_rule(self, rule: str, estimate: int, limit: int) -> bool:
        """Whether a rule's estimated pairs pass `limit`; if so it is logged and recorded."""
        if estimate <= limit:
            return False
        log.warning(
            "blocking rule '%s' would generate %s pairs (limit %s): skipped — "
            "tighten the rule or lower max_block",
            rule,
            f"{estimate:,}",
            f"{limit:,}",
        )
        self.oversized.append((rule, 0, 0))
        return True

    def warnings(self) -> list[str]:
        return [
            f"blocking rule '{rule}': {blocks} block(s) with {records:,} records skipped as "
            f"too large (a value shared by many records is not identifying)"
            for rule, blocks, records in self.oversized
        ]


@lru_cache(maxsize=500_000)
def _sound(name: str) -> str | None:
    """Sounds-alike code of the first word (Metaphone, 6 letters)."""
    first = name.split(" ", 1)[0]
    return jellyfish.metaphone(first)[:6] or None if first else None


def _letters(text: str) -> str | None:
    return re.sub(r"[^a-z]", "", text) or None


_TRAILING_YEAR = re.compile(r"(?<!\d)(?:19|20)?(\d\d)$")


def _email_year(local: str) -> str | None:
    """The two-digit year an e-mail user name ends in (anna.kovacs49, kovacs1980 -> 80)."""
    match = _TRAILING_YEAR.search(local)
    return match.group(1) if match else None


# derived key -> (standardised column, per-value function): one definition for whole frames
# (applied once per distinct value) and for single records (the incremental matcher)
DERIVED: dict[str, tuple[str, Callable[[str], str | None]]] = {
    "family_key": ("family", _sound),
    "given_key": ("given_canon", _sound),
    "street_key": ("street", _sound),
    "birth_year": ("birth_date", lambda v: v[:4]),
    "phone_tail": ("phone", lambda v: v[-7:]),
    "email_letters": ("email_local", _letters),
    "email_year": ("email_local", _email_year),
    "birth_yy": ("birth_date", lambda v: v[2:4]),
    "street_name": ("street", street_name),
}


def _name_pair(given: str | None, family: str | None) -> str | None:
    """Given and family name in alphabetical order: finds records with the two swapped."""
    if given is None or family is None:
        return None
    return f"{given}|{family}" if given < family else f"{family}|{given}"


# the spelled-name keys: for a record with a given and a family name, its name written as
# an e-mail user name would spell it; for a record without both, its e-mail's letters.
# `mail_named` says which (True: a name, False: e-mail letters): the rules pair only a True
# with a False (an `across` column holds True or False).
MAIL_NAME_KEYS: tuple[str, ...] = ("mail_given_family", "mail_family_given", "mail_initial_family")
_MIN_SPELLED = 6  # shorter user names (ann, jkim) spell too many people's names
_NO_KEYS: tuple[str | bool | None, ...] = (None, None, None, None)


def _mail_names(given: Any, family: Any, letters: Any) -> tuple[str | bool | None, ...]:
    """The three spelled-name keys of one record and its side (see `MAIL_NAME_KEYS`)."""
    if isinstance(given, str) and isinstance(family, str):
        g, f = _letters(given), _letters(family)
        if not g or not f:
            return _NO_KEYS
        full = len(g) + len(f) >= _MIN_SPELLED
        initial = g[0] + f if 1 + len(f) >= _MIN_SPELLED else None
        if not full and initial is None:
            return _NO_KEYS
        return (g + f if full else None, f + g if full else None, initial, True)
    if isinstance(letters, str) and len(letters) >= _MIN_SPELLED:
        return letters, letters, letters, False
    return _NO_KEYS


def add_derived_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """Blocking keys derived from the standardised columns (phonetic codes, year, pairs)."""
    out = frame.copy()
    for name, (column, derive) in DERIVED.items():
        values = frame[column].tolist()
        mapping = {v: derive(v) for v in set(values) if isinstance(v, str)}
        out[name] = pd.Series([mapping.get(v) for v in values], index=frame.index, dtype=object)
    out["name_pair"] = [
        _name_pair(g, f)
        for g, f in zip(frame["given_canon"].tolist(), frame["family"].tolist(), strict=True)
    ]
    # once per distinct name (or mailbox): records of one name share its key strings
    # (a million records hold far fewer names; this keeps the keys' memory small)
    memo: dict[tuple[Any, Any, Any], tuple[str | bool | None, ...]] = {}
    spelled = []
    for g, f, m in zip(
        frame["given"].tolist(),
        frame["family"].tolist(),
        out["email_letters"].tolist(),
        strict=True,
    ):
        key = (g, f, None) if isinstance(g, str) and isinstance(f, str) else (None, None, m)
        found = memo.get(key)
        if found is None:
            found = memo[key] = _mail_names(*key)
        spelled.append(found)
    for k, name in enumerate((*MAIL_NAME_KEYS, "mail_named")):
        out[name] = pd.Series([keys[k] for keys in spelled], index=frame.index, dtype=object)
    return out


def derived_keys(row: Mapping[str, Any]) -> dict[str, Any]:
    """The same derived keys for one standardised record (a dict of frame columns)."""
    out = dict(row)
    for name, (column, derive) in DERIVED.items():
        value = row.get(column)
        out[name] = derive(value) if isinstance(value, str) else None
    out["name_pair"] = _name_pair(row.get("given_canon"), row.get("family"))
    spelled = _mail_names(row.get("given"), row.get("family"), out.get("email_letters"))
    out.update(zip((*MAIL_NAME_KEYS, "mail_named"), spelled, strict=True))
    return out


def _group_codes(
    frame: pd.DataFrame,
    columns: tuple[str, ...],
    coded: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Per record a code of its (kind, *columns) values, equal for equal values; -1 when
    any is missing. `coded` keeps each column's codes for the next rule."""
    coded = {} if coded is None else coded
    codes: np.ndarray | None = None
    for column in ("kind", *columns):
        if column not in coded:
            coded[column] = pd.factorize(frame[column].to_numpy(dtype=object))[0].astype(np.int64)
        own = coded[column]
        if codes is None:
            codes = own.copy()
            continue
        valid = (codes >= 0) & (own >= 0)
        combined = codes[valid] * (int(own.max(initial=0)) + 1) + own[valid]  # < n², no overflow
        codes = np.full(len(frame), -1, dtype=np.int64)
        codes[valid] = pd.factorize(combined)[0]
    assert codes is not None
    return codes


def _pairs_from_codes(codes: np.ndarray, max_block: int) -> tuple[np.ndarray, int, int]:
    """All i<j pairs within each group; groups above max_block are dropped (counted)."""
    valid = np.flatnonzero(codes >= 0)
    if valid.size == 0:
        return np.empty(0, dtype=np.int64), 0, 0
    order = valid[np.argsort(codes[valid], kind="stable")]
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    sizes = np.diff(np.r_[starts, sorted_codes.size])
    too_big = sizes > max_block
    keep = (sizes >= 2) & ~too_big
    chunks: list[np.ndarray] = []
    n_total = codes.size
    for size in np.unique(sizes[keep]):
        group_starts = starts[keep & (sizes == size)]
        members = order[group_starts[:, None] + np.arange(size)[None, :]]  # (groups, size)
        members.sort(axis=1)
        left, right = np.triu_indices(int(size), k=1)
        a, b = members[:, left].ravel(), members[:, right].ravel()
        chunks.append(a.astype(np.int64) * n_total + b)
    encoded = np.concatenate(chunks) if chunks else np.empty(0, dtype=np.int64)
    return encoded, int(too_big.sum()), int(sizes[too_big].sum())


def _across_layout(
    codes: np.ndarray, sides: np.ndarray, max_block: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int]:
    """For an `across` rule: the records in a block ordered by (block, side); the positions
    of those in blocks within `max_block`, each with the span [lo, hi) of the later records
    of its block on another side; and the blocks (and their records) left out as too big."""
    valid = np.flatnonzero((codes >= 0) & (sides >= 0))
    order = valid[np.lexsort((sides[valid], codes[valid]))]
    block = codes[order]
    run = block * (int(sides.max(initial=0)) + 1) + sides[order]  # sorted, as `block` is
    start = np.searchsorted(block, block, "left")
    end = np.searchsorted(block, block, "right")
    size = end - start
    too_big = (start == np.arange(order.size)) & (size > max_block)
    kept = np.flatnonzero(size <= max_block)
    lo = np.searchsorted(run, run[kept], "right")
    return order, kept, lo, end[kept], int(too_big.sum()), int(size[too_big].sum())


def _pairs_across(
    codes: np.ndarray, sides: np.ndarray, max_block: int
) -> tuple[np.ndarray, int, int]:
    """All pairs within each block whose two records are on different sides (encoded
    left * n + right, left < right); blocks above max_block are dropped (counted)."""
    order, kept, lo, hi, big_blocks, big_records = _across_layout(codes, sides, max_block)
    lengths = hi - lo
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64), big_blocks, big_records
    owners = np.repeat(order[kept], lengths)
    partners = order[np.repeat(lo - np.cumsum(lengths) + lengths, lengths) + np.arange(total)]
    low, high = np.minimum(owners, partners), np.maximum(owners, partners)
    return low.astype(np.int64) * codes.size + high, big_blocks, big_records


def _estimate_across(codes: np.ndarray, sides: np.ndarray, max_block: int) -> int:
    _, _, lo, hi, _, _ = _across_layout(codes, sides, max_block)
    return int((hi - lo).sum())


def _side_codes(frame: pd.DataFrame, rule: BlockingRule) -> np.ndarray:
    """Per record a code of its `rule.across` value (-1 when missing)."""
    assert rule.across is not None
    codes: np.ndarray = pd.factorize(frame[rule.across].to_numpy(dtype=object))[0]
    return codes.astype(np.int64)


def estimate_pairs(frame: pd.DataFrame, rule: BlockingRule, max_block: int) -> int:
    """Candidate pairs a rule would generate (before generating any)."""
    codes = _group_codes(frame, rule.columns)
    if rule.across is not None:
        return _estimate_across(codes, _side_codes(frame, rule), max_block)
    return _estimate_from_codes(codes, max_block)


def _estimate_from_codes(codes: np.ndarray, max_block: int) -> int:
    counts = np.bincount(codes[codes >= 0]) if (codes >= 0).any() else np.zeros(0, np.int64)
    counts = counts[(counts >= 2) & (counts <= max_block)]
    return int((counts * (counts - 1) // 2).sum())


def candidate_pairs(
    frame: pd.DataFrame,
    rules: tuple[BlockingRule, ...] = DEFAULT_RULES,
    *,
    max_block: int = 200,
    max_pairs_per_rule: int = 50_000_000,
) -> tuple[np.ndarray, np.ndarray, BlockingReport]:
    """The union of all rules' candidate pairs, as two aligned index arrays (left < right)."""
    keyed = frame if "family_key" in frame.columns else add_derived_keys(frame)
    report = BlockingReport()
    parts: list[np.ndarray] = []
    n = len(frame)
    coded: dict[str, np.ndarray] = {}
    for rule in rules:
        needed = (*rule.columns, rule.across) if rule.across is not None else rule.columns
        if any(c not in keyed.columns for c in needed):
            continue
        codes = _group_codes(keyed, rule.columns, coded)
        sides = _side_codes(keyed, rule) if rule.across is not None else None
        estimate = (
            _estimate_from_codes(codes, max_block)
            if sides is None
            else _estimate_across(codes, sides, max_block)
        )
        if report.skip_oversized_rule(rule.name, estimate, max_pairs_per_rule):
            continue
        encoded, big_blocks, big_records = (
            _pairs_from_codes(codes, max_block)
            if sides is None
            else _pairs_across(codes, sides, max_block)
        )
        report.pairs_per_rule[rule.name] = int(encoded.size)
        if big_blocks:
            report.oversized.append((rule.name, big_blocks, big_records))
        parts.append(encoded)
    union = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
    union.sort()  # sort and drop repeats: several times faster than np.unique's hash table here
    union = union[np.r_[True, union[1:] != union[:-1]]] if union.size else union
    report.total_pairs = int(union.size)
    for message in report.warnings():
        log.warning(message)
    return union // max(n, 1), union % max(n, 1), report
