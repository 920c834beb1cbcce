"""Compare: for every candidate pair, an agreement level per field (vectorised).

The comparisons of names, dates, phones, tax ids, addresses and organisations live here, the
e-mail ones in `identity.compare_email`, the building blocks in `identity.levels`. Each
comparison's docstring is the explanation a steward sees.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein
from rapidfuzz.fuzz import token_set_ratio
from rapidfuzz.process import cpdist

from identity.compare_email import email, email_birth_year, email_name, names_a_person
from identity.levels import (
    NULL,
    Comparison,
    Memo,
    Role,
    coded,
    exact_or,
    graded,
    present,
    remembered,
    same,
    same_values,
    values,
)

__all__ = [
    "COMPARISONS",
    "COMPARISON_LEVELS",
    "Comparison",
    "Role",
    "compare_pairs",
    "holder_words",
    "household_values",
    "two_people",
]


def given_name(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Given names: same (nicknames count: Pista = István), similar spelling, initial only."""
    levels = graded(
        frame, "given_canon", left, right, (0.80, 0.92), JaroWinkler.normalized_similarity
    )
    # short names hide typos from Jaro-Winkler (nao / noa, ktai / kati): one transposition
    # or edit of names of three letters or more, as written or through the nickname table
    low = np.flatnonzero((levels >= 0) & (levels < 2))
    for column in ("given", "given_canon"):
        a, b = values(frame, column, left[low]), values(frame, column, right[low])
        long_enough = [
            x is not None and y is not None and min(len(x), len(y)) >= 3
            for x, y in zip(a, b, strict=True)
        ]
        rows = np.flatnonzero(long_enough)
        if rows.size:
            dist = cpdist(list(a[rows]), list(b[rows]), scorer=OSA.distance, workers=-1)
            levels[low[rows[dist <= 1]]] = 2
    short = (frame["given"].str.len() == 1).to_numpy()
    one_initial = same(frame, "given_initial", left, right) & (short[left] | short[right])
    levels[one_initial & (levels < 2)] = 1
    return _swapped(frame, left, right, levels, "given_canon", "family")


def family_name(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Family names: same, similar spelling (typos, transliteration), or different."""
    levels = graded(frame, "family", left, right, (0.80, 0.92), JaroWinkler.normalized_similarity)
    levels = _swapped(frame, left, right, levels, "family", "given_canon")
    # a lone name ("wilfried" as a help-desk display name) may be the given name: when it is
    # the other record's given name, or starts with the other's given initial (a card's
    # "W. KOCH"), the family names are unknown, not different
    differ = np.flatnonzero(levels == 0)
    if differ.size:
        lone = frame["given"].isna().to_numpy()
        for one, other in ((left, right), (right, left)):
            rows = differ[lone[one[differ]]]
            if rows.size:
                own = values(frame, "family", one[rows])
                theirs = values(frame, "given", other[rows])
                hit = same_values(own, theirs)
                hit |= same_values(own, values(frame, "given_canon", other[rows]))
                hit |= np.array(
                    [
                        isinstance(g, str) and len(g) == 1 and isinstance(f, str) and f[:1] == g
                        for f, g in zip(own, theirs, strict=True)
                    ],
                    dtype=bool,
                )
                levels[rows[hit]] = NULL
    return levels


def _swapped(
    frame: pd.DataFrame,
    left: np.ndarray,
    right: np.ndarray,
    levels: np.ndarray,
    own: str,
    other: str,
) -> np.ndarray:
    """Given and family names entered the wrong way round count as a (weaker) match."""
    differ = np.flatnonzero(levels == 0)
    swapped = same_values(values(frame, own, left[differ]), values(frame, other, right[differ]))
    levels[differ[swapped]] = 2
    return levels


def birth_date(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Birth dates: same day, one digit off (a typo), same year, or different."""
    levels = graded(frame, "birth_date", left, right, (), Levenshtein.normalized_similarity)
    levels[levels == 1] = 3  # NULL / 0 / 3 = exact
    near = np.flatnonzero(levels == 0)
    if near.size:
        a, b = values(frame, "birth_date", left[near]), values(frame, "birth_date", right[near])
        dist = cpdist(list(a), list(b), scorer=Levenshtein.distance, workers=-1)
        levels[near[dist <= 1]] = 2
        years = same(frame, "birth_year", left[near], right[near])
        levels[near[(dist > 1) & years]] = 1
    return levels


def phone(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Phone numbers: the same (one written without a country code counts as the same as one
    ending in its digits), the same last 7 digits, or different."""
    levels = exact_or(frame, left, right, "phone", "phone_tail")
    close = np.flatnonzero(levels == 1)
    if close.size:
        a, b = values(frame, "phone", left[close]), values(frame, "phone", right[close])
        levels[close[[_same_number(x, y) for x, y in zip(a, b, strict=True)]]] = 2
    return levels


def _same_number(a: str, b: str) -> bool:
    """One of two numbers has no country code ("6448439419") and the other ends in it."""
    if a[0] == "+":
        return b[0] != "+" and a.endswith(b)
    return b[0] == "+" and b.endswith(a)


def tax_id(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Tax / social-security ids: the same, one character off, or different."""
    return exact_or(frame, left, right, "tax_id")


def postal_code(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Postal codes: the same, one character off, or different."""
    return exact_or(frame, left, right, "postal_code")


def city(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Cities: the same, similar spelling, or different (not counted again when the postal
    codes already agree: the town is part of what the postal code says)."""
    levels = graded(frame, "city", left, right, (0.88,), JaroWinkler.normalized_similarity)
    same_postal = same(frame, "postal_code", left, right)
    levels[same_postal] = NULL
    return levels


def street(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Street addresses: same street and number, similar street, or different."""
    levels = graded(frame, "street", left, right, (), JaroWinkler.normalized_similarity)
    levels[levels == 1] = 2  # NULL / 0 / 2 = same street
    # similar spelling of the street's name, its type (utca, ulica, drive) left aside
    near = np.flatnonzero(levels == 0)
    if near.size:
        a, b = values(frame, "street_name", left[near]), values(frame, "street_name", right[near])
        sim = cpdist(list(a), list(b), scorer=JaroWinkler.normalized_similarity, workers=-1)
        levels[near[sim >= 0.85]] = 1
    same_number = same(frame, "house_number", left, right)  # street: 0, 1 similar, 2 same
    diff_number = present(frame, "house_number", left, right) & ~same_number
    out = levels.copy()
    out[(levels == 2) & same_number] = 3
    out[(levels == 2) & diff_number] = 1  # same street, another house: a neighbour
    return out


def source_system(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """From one system or two: a system seldom holds the same customer twice."""
    out: np.ndarray = (~same(frame, "source", left, right)).astype(np.int8)
    return out


def organisation(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Organisation names: the same, nearly the same words, or different."""
    return graded(frame, "org", left, right, (85.0, 95.0), token_set_ratio)


COMPARISONS: tuple[Comparison, ...] = (
    Comparison(
        name="given_name",
        columns=("given_canon",),
        levels=("different", "initial/similar", "similar", "same"),
        compute=given_name,
        role=Role.NAME,
        tf_column="given_canon",
        m_prior=(0.05, 0.05, 0.15, 0.75),
        u_prior=(0.9, 0.06, 0.03, 0.01),
    ),
    Comparison(
        name="family_name",
        columns=("family",),
        levels=("different", "similar", "similar", "same"),
        compute=family_name,
        role=Role.NAME,
        tf_column="family",
        m_prior=(0.05, 0.05, 0.1, 0.8),
        u_prior=(0.95, 0.03, 0.015, 0.005),
    ),
    Comparison(
        name="birth_date",
        columns=("birth_date",),
        levels=("different", "same year", "one digit off", "same"),
        compute=birth_date,
        role=Role.CORROBORATING,
        m_prior=(0.03, 0.02, 0.1, 0.85),
        u_prior=(0.97, 0.025, 0.004, 0.001),
    ),
    Comparison(
        name="email",
        columns=("email",),
        levels=("different", "one typo apart", "same user name", "same"),
        compute=email,
        role=Role.IDENTIFIER,
        m_prior=(0.3, 0.05, 0.1, 0.55),
        u_prior=(0.99985, 5e-05, 5e-05, 5e-05),
    ),
    Comparison(
        name="email_name",
        columns=("email",),
        levels=("does not spell the name", "spells the family name", "spells the full name"),
        compute=email_name,
        role=Role.NAME_IN_IDENTIFIER,
        # the priors in effect since this comparison was added (they are normalised): its
        # declaration had been a copy of `email`'s four values for three levels, which
        # `training.level_prior` replaced by these defaults; now declared as what they are
        m_prior=(1.0, 8.5, 16.0),
        u_prior=(1.0, 1.0, 1.0),
    ),
    Comparison(
        name="email_birth_year",
        columns=("email", "birth_date"),
        levels=("does not end in the birth year", "ends in the birth year"),
        compute=email_birth_year,
        m_prior=(0.5, 0.5),
        u_prior=(0.985, 0.015),
    ),
    Comparison(
        name="phone",
        columns=("phone",),
        levels=("different", "same last digits", "same"),
        compute=phone,
        role=Role.IDENTIFIER,
        m_prior=(0.4, 0.05, 0.55),
        u_prior=(0.9998, 0.0001, 0.0001),
    ),
    Comparison(
        name="tax_id",
        columns=("tax_id",),
        levels=("different", "one character off", "same"),
        compute=tax_id,
        role=Role.IDENTIFIER,
        m_prior=(0.05, 0.1, 0.85),
        u_prior=(0.99998, 1e-05, 1e-05),
    ),
    Comparison(
        name="postal_code",
        columns=("postal_code",),
        levels=("different", "one character off", "same"),
        compute=postal_code,
        role=Role.CORROBORATING,
        tf_column="postal_code",
        m_prior=(0.3, 0.05, 0.65),
        u_prior=(0.97, 0.02, 0.01),
    ),
    Comparison(
        name="city",
        columns=("city",),
        levels=("different", "similar", "same"),
        compute=city,
        tf_column="city",
        m_prior=(0.25, 0.05, 0.7),
        u_prior=(0.9, 0.02, 0.08),
    ),
    Comparison(
        name="street",
        columns=("street",),
        levels=(
            "different",
            "similar street or another house",
            "same street",
            "same street and number",
        ),
        compute=street,
        role=Role.CORROBORATING,
        m_prior=(0.3, 0.1, 0.1, 0.5),
        u_prior=(0.995, 0.003, 0.0015, 0.0005),
    ),
    Comparison(
        name="source_system",
        columns=("source",),
        levels=("the same system", "two systems"),
        compute=source_system,
        role=Role.PROVENANCE,
        m_prior=(0.2, 0.8),
        u_prior=(0.3, 0.7),
    ),
    Comparison(
        name="organisation",
        columns=("org",),
        levels=("different", "similar", "nearly same", "same"),
        compute=organisation,
        tf_column="org",
        m_prior=(0.1, 0.1, 0.2, 0.6),
        u_prior=(0.99, 0.005, 0.003, 0.002),
    ),
)


COMPARISON_LEVELS: dict[str, tuple[str, ...]] = {c.name: c.levels for c in COMPARISONS}


def compare_pairs(
    frame: pd.DataFrame,
    left: np.ndarray,
    right: np.ndarray,
    comparisons: tuple[Comparison, ...] = COMPARISONS,
    *,
    memo: Memo | None = None,
) -> np.ndarray:
    """The (pairs x comparisons) int8 matrix of agreement levels (`memo`: what is computed
    on the whole frame, kept across calls on the same frame; see `identity.levels.coded`)."""
    out = np.empty((left.size, len(comparisons)), dtype=np.int8)
    with coded(frame, memo):
        for k, comparison in enumerate(comparisons):
            out[:, k] = comparison.compute(frame, left, right)
        _household(frame, left, right, out, comparisons)
    _one_address(out, comparisons)
    return out


def _one_address(out: np.ndarray, comparisons: tuple[Comparison, ...]) -> None:
    """The same postal code and the same (or a similar) street are one address, not two
    coincidences (a street lies in one postal code): only the stronger counts, the street
    when it is the same, else the postal code."""
    names = [c.name for c in comparisons]
    if "street" not in names or "postal_code" not in names:
        return
    k_street, k_postal = names.index("street"), names.index("postal_code")
    same_postal = out[:, k_postal] == len(comparisons[k_postal].levels) - 1
    street = out[:, k_street].copy()
    out[same_postal & (street >= 2), k_postal] = NULL  # the same street says it all
    out[same_postal & (street == 1), k_street] = NULL  # a similar street adds nothing


_SHARED_COLUMNS = {"email": "email", "phone": "phone"}  # comparison -> the column it reads


def holder_words(given: str | None, middle: str | None, family: str | None) -> tuple[str, ...]:
    """The words of a holder's name, given name first."""
    return tuple(w for part in (given, middle, family) if part for w in part.split())


def _within(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    """Each word of `short` stands for its own word of `long`: the word itself or, for a
    one-letter word, any word with that initial."""
    free = list(long)
    for word in sorted(short, key=len, reverse=True):  # whole words first, initials last
        at = next(
            (k for k, x in enumerate(free) if x == word or (len(word) == 1 and x[0] == word)),
            None,
        )
        if at is None:
            return False
        del free[at]
    return True


def two_people(holders: Iterable[tuple[str, ...]]) -> bool:
    """Whether a value's holders (each the words of a name, given name first, `holder_words`)
    are two people's: different given initials, and neither name written within the other —
    not one name in the other order ("Fiett Prao" for Prao Fiett), with a word left out
    ("Renee" beside "Dunham Renee") or shortened to its initial ("R Dunham")."""
    seen = [h for h in dict.fromkeys(holders) if h]
    for k, a in enumerate(seen):
        for b in seen[k + 1 :]:
            if a[0][0] == b[0][0] or _within(a, b) or _within(b, a):
                continue
            return True
    return False


def household_values(frame: pd.DataFrame, column: str) -> pd.Index:
    """The values of `column` that two people hold (`two_people`): a typo, a nickname, an
    initial or the other order of the same name does not make a second holder."""
    named = frame[[column, "given_initial"]].dropna()
    initials = named.groupby(column, sort=False)["given_initial"].nunique()
    maybe = initials.index[initials > 1]
    if len(maybe) == 0:
        return maybe
    held = frame.loc[frame[column].isin(maybe) & frame["given_initial"].notna()]
    parts = [
        held[c].to_numpy(dtype=object) if c in held else np.full(len(held), None, dtype=object)
        for c in ("given", "middle", "family")
    ]
    holders: dict[Any, set[tuple[str, ...]]] = {}
    for value, *name in zip(held[column].tolist(), *parts, strict=True):
        holders.setdefault(value, set()).add(holder_words(*name))
    two = [value for value, names in holders.items() if two_people(names)]
    return pd.Index(two, dtype=object)


def _shared_by_household(
    frame: pd.DataFrame,
    left: np.ndarray,
    right: np.ndarray,
    out: np.ndarray,
    comparisons: tuple[Comparison, ...],
) -> None:
    """An e-mail or phone that records of given names with different initials hold (a family
    mailbox, a landline) does not tell which of them a record without a given name is: the exact
    agreement of such a record with any of them counts as unknown."""
    names = [c.name for c in comparisons]
    nameless = frame["given_canon"].isna().to_numpy()
    for name, column in _SHARED_COLUMNS.items():
        if name not in names or column not in frame:
            continue
        k = names.index(name)
        top = len(comparisons[k].levels) - 1
        rows = np.flatnonzero((out[:, k] == top) & (nameless[left] | nameless[right]))
        if rows.size == 0:
            continue
        shared = remembered(frame, ("household", column), partial(household_values, frame, column))
        if len(shared) == 0:
            continue
        held = frame[column].isin(shared).to_numpy()
        out[rows[held[left[rows]]], k] = NULL


def _household(
    frame: pd.DataFrame,
    left: np.ndarray,
    right: np.ndarray,
    out: np.ndarray,
    comparisons: tuple[Comparison, ...],
) -> None:
    """Different given names under one family name: a shared address, or a shared mailbox
    whose user name carries no given name (rodzina.kowalski@, the.smiths@), is what a
    household shares, so it is not counted as evidence that the two are one person."""
    names = [c.name for c in comparisons]
    if "given_name" not in names or "family_name" not in names:
        return
    _shared_by_household(frame, left, right, out, comparisons)
    given, family = out[:, names.index("given_name")], out[:, names.index("family_name")]
    rows = np.flatnonzero((given == 0) & (family >= 1))
    if rows.size == 0:
        return
    if "phone" in names:  # the family's landline
        k = names.index("phone")
        out[rows[out[rows, k] >= 1], k] = NULL
    if "street" in names:
        k = names.index("street")
        out[rows[out[rows, k] == len(comparisons[k].levels) - 1], k] = NULL
    if "email" in names:
        k = names.index("email")
        # the same address, or the same user name at another provider
        shared = rows[out[rows, k] >= len(comparisons[k].levels) - 2]
        if shared.size:
            personal = names_a_person(frame, left[shared], right[shared])
            out[shared[~personal], k] = NULL
