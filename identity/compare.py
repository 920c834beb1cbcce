"""Compare: for every candidate pair, an agreement level per field (vectorised).

A comparison turns two aligned columns into an int8 level per pair: -1 when either side is
missing (no evidence either way), 0 for disagreement, and 1..k for increasingly strong
agreement. Fuzzy similarity uses rapidfuzz's batch `cpdist` on the pairs that are not
already exact. Each comparison's docstring is the explanation a steward sees.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein
from rapidfuzz.fuzz import token_set_ratio
from rapidfuzz.process import cpdist

__all__ = ["COMPARISONS", "Comparison", "compare_pairs"]

NULL = -1


@dataclass(frozen=True)
class Comparison:
    """One field's comparison: its levels (strongest last) and the function computing them."""

    name: str
    columns: tuple[str, ...]
    levels: tuple[str, ...]  # labels of levels 0..k, e.g. ("different", "similar", "exact")
    compute: Callable[[pd.DataFrame, np.ndarray, np.ndarray], np.ndarray]
    tf_column: str | None = None  # exact agreement on a common value weighs less
    m_prior: tuple[float, ...] = ()  # prior knowledge of m and u per level, used to steady
    u_prior: tuple[float, ...] = ()  # the estimates when there is little data to learn from


def _values(frame: pd.DataFrame, column: str, idx: np.ndarray) -> np.ndarray:
    values: np.ndarray = frame[column].to_numpy(dtype=object)[idx]
    return values


# While compare_pairs runs: its frame and the columns' codes computed so far (many
# comparisons read the same column, and each column is coded once per call).
_CODES: ContextVar[tuple[pd.DataFrame, dict[str, np.ndarray]] | None] = ContextVar(
    "_CODES", default=None
)


def _codes(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Per record an integer code of its value in `column` (equal values, equal codes), -1
    when missing: pairs are then told equal or missing by integers, not by Python objects."""
    active = _CODES.get()
    cache = active[1] if active is not None and active[0] is frame else None
    if cache is not None and column in cache:
        return cache[column]
    codes: np.ndarray = pd.factorize(frame[column].to_numpy(dtype=object))[0]
    if cache is not None:
        cache[column] = codes
    return codes


def _present(frame: pd.DataFrame, column: str, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Both records of each pair have a value in `column`."""
    codes = _codes(frame, column)
    present: np.ndarray = (codes[left] >= 0) & (codes[right] >= 0)
    return present


def _same(frame: pd.DataFrame, column: str, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Both records of each pair have the same value in `column` (missing never agrees)."""
    codes = _codes(frame, column)
    a, b = codes[left], codes[right]
    same: np.ndarray = (a >= 0) & (a == b)
    return same


def _similarity(a: np.ndarray, b: np.ndarray, scorer: Callable[..., float]) -> np.ndarray:
    if a.size == 0:
        return np.zeros(0, dtype=np.float32)
    return cpdist(list(a), list(b), scorer=scorer, workers=-1).astype(np.float32)


def _graded(
    frame: pd.DataFrame,
    column: str,
    left: np.ndarray,
    right: np.ndarray,
    thresholds: tuple[float, ...],
    scorer: Callable[..., float],
) -> np.ndarray:
    """Levels: NULL, 0, then one level per similarity threshold (ascending), exact on top."""
    codes = _codes(frame, column)
    a, b = codes[left], codes[right]
    present = (a >= 0) & (b >= 0)
    exact = present & (a == b)
    levels = np.full(left.size, NULL, dtype=np.int8)
    levels[present] = 0
    levels[exact] = len(thresholds) + 1
    fuzzy = np.flatnonzero(present & ~exact)
    if fuzzy.size and thresholds:
        sim = _similarity(
            _values(frame, column, left[fuzzy]), _values(frame, column, right[fuzzy]), scorer
        )
        for rank, threshold in enumerate(thresholds, start=1):
            levels[fuzzy[sim >= threshold]] = rank
    return levels


def _same_values(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise equality of two object arrays; missing values never agree."""
    same: np.ndarray = ~(pd.isna(a) | pd.isna(b)) & (a == b)
    return same


def given_name(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Given names: same (nicknames count: Pista = István), similar spelling, initial only."""
    levels = _graded(
        frame, "given_canon", left, right, (0.80, 0.92), JaroWinkler.normalized_similarity
    )
    # short names hide typos from Jaro-Winkler (nao / noa, ktai / kati): one transposition
    # or edit of names of three letters or more, as written or through the nickname table
    low = np.flatnonzero((levels >= 0) & (levels < 2))
    for column in ("given", "given_canon"):
        length = frame[column].str.len().to_numpy(dtype=np.float64, na_value=0.0)
        rows = low[(length[left[low]] >= 3) & (length[right[low]] >= 3)]
        if rows.size:
            a, b = _values(frame, column, left[rows]), _values(frame, column, right[rows])
            dist = cpdist(list(a), list(b), scorer=OSA.distance, workers=-1)
            levels[rows[dist <= 1]] = 2
    short = (frame["given"].str.len() == 1).to_numpy()
    one_initial = _same(frame, "given_initial", left, right) & (short[left] | short[right])
    levels[one_initial & (levels < 2)] = 1
    return _swapped(frame, left, right, levels, "given_canon", "family")


def family_name(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Family names: same, similar spelling (typos, transliteration), or different."""
    levels = _graded(frame, "family", left, right, (0.80, 0.92), JaroWinkler.normalized_similarity)
    return _swapped(frame, left, right, levels, "family", "given_canon")


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
    swapped = _same_values(_values(frame, own, left[differ]), _values(frame, other, right[differ]))
    levels[differ[swapped]] = 2
    return levels


def birth_date(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Birth dates: same day, one digit off (a typo), same year, or different."""
    levels = _graded(frame, "birth_date", left, right, (), Levenshtein.normalized_similarity)
    levels[levels == 1] = 3  # NULL / 0 / 3 = exact
    near = np.flatnonzero(levels == 0)
    if near.size:
        a, b = _values(frame, "birth_date", left[near]), _values(frame, "birth_date", right[near])
        dist = cpdist(list(a), list(b), scorer=Levenshtein.distance, workers=-1)
        levels[near[dist <= 1]] = 2
        years = _same(frame, "birth_year", left[near], right[near])
        levels[near[(dist > 1) & years]] = 1
    return levels


def _exact_or(
    frame: pd.DataFrame,
    left: np.ndarray,
    right: np.ndarray,
    column: str,
    close_column: str | None = None,
) -> np.ndarray:
    """NULL / 0 / 1 = close (equal `close_column`, else one edit apart) / 2 = exact."""
    levels = _graded(frame, column, left, right, (), Levenshtein.normalized_similarity)
    levels[levels == 1] = 2
    rest = np.flatnonzero(levels == 0)
    if rest.size:
        if close_column is not None:
            close = _same(frame, close_column, left[rest], right[rest])
        else:
            a, b = _values(frame, column, left[rest]), _values(frame, column, right[rest])
            dist = cpdist(list(a), list(b), scorer=Levenshtein.distance, workers=-1)
            close = dist <= 1
        levels[rest[close]] = 1
    return levels


def email(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """E-mail addresses: the same, the same user name elsewhere, a typo apart, or different."""
    levels = _exact_or(frame, left, right, "email", "email_local")  # 0 / 1 user / 2 same
    levels[levels >= 1] += 1
    rest = np.flatnonzero(levels == 0)
    if rest.size:
        a, b = _values(frame, "email", left[rest]), _values(frame, "email", right[rest])
        dist = cpdist(list(a), list(b), scorer=Levenshtein.distance, workers=-1)
        close = rest[dist <= 1]
        # anna.kovacs2@ next to anna.kovacs@ is a second Anna Kovács, numbered by the
        # provider: addresses differing only in digits are different addresses, not typos
        letters = _same(frame, "email_letters", left[close], right[close])
        levels[close[~letters]] = 1
    # anna.kovacs@ at two providers (or anna_kovacs@ next to annakovacs@) is what every Anna
    # Kovács would pick: when the user names only spell the pair's name, a near-match adds
    # nothing the name comparisons have not already counted
    near = np.flatnonzero((levels == 1) | (levels == 2))
    if near.size:
        levels[near[_spell_the_name(frame, left[near], right[near])]] = NULL
    return levels


def _spell_the_name(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Whether both e-mail user names are just the pair's name (letters only; given names
    as written or through the nickname table: kati and katalin both spell Szabó Katalin)."""
    return _name_spelling(frame, left, right, both=True)


def _names_a_person(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Whether the (shared) e-mail user name spells a given name of either record."""
    return _name_spelling(frame, left, right, both=False)


def _name_spelling(
    frame: pd.DataFrame, left: np.ndarray, right: np.ndarray, *, both: bool
) -> np.ndarray:
    letters = frame["email_letters"].to_numpy(dtype=object)
    family = frame["family"].to_numpy(dtype=object)
    given = frame["given"].to_numpy(dtype=object)
    canon = frame["given_canon"].to_numpy(dtype=object)
    out = np.zeros(left.size, dtype=bool)
    for k, (a, b) in enumerate(zip(left.tolist(), right.tolist(), strict=True)):
        families = {f.replace(" ", "") for f in (family[a], family[b]) if f}
        givens = {g.replace(" ", "") for g in (given[a], given[b], canon[a], canon[b]) if g}
        mails = (letters[a], letters[b]) if both else (letters[a],)
        out[k] = all(_spells(mail, families, givens) for mail in mails)
    return out


def _spells(mail: str | None, families: set[str], givens: set[str]) -> bool:
    if not mail:
        return False
    for fam in families:
        if fam in mail:
            rest = mail.replace(fam, "", 1)
            if not rest or any(g in rest or rest in (g[0],) for g in givens):
                return True
    return False


def email_name(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """A record without a full name has an e-mail spelling the other's name (hayssean@ ~ Sean Hays).

    Only for records that lack a given or a family name: where both names are present, the
    name comparisons already carry that evidence and counting it twice would overstate it.
    """
    letters = frame["email_letters"].to_numpy(dtype=object)
    family = frame["family"].to_numpy(dtype=object)
    given = frame["given_canon"].to_numpy(dtype=object)
    first = frame["given"].to_numpy(dtype=object)
    out = np.full(left.size, NULL, dtype=np.int8)
    # Pairs worth a look, found with arrays: not the same e-mail (the e-mail comparison
    # already counts that), a name missing on one side, and an e-mail to spell a family name.
    has_letters = np.array([x is not None for x in letters], dtype=bool)
    has_family = np.array([x is not None for x in family], dtype=bool)
    long_family = np.array([x is not None and len(x) >= 3 for x in family], dtype=bool)
    named = has_family & np.array([x is not None for x in first], dtype=bool)
    spellable = (has_letters[left] & long_family[right]) | (has_letters[right] & long_family[left])
    look = spellable & ~(named[left] & named[right]) & ~_same(frame, "email", left, right)
    for k in np.flatnonzero(look).tolist():
        a, b = int(left[k]), int(right[k])
        best = NULL
        for mail, fam, giv, fst in (
            (letters[a], family[b], given[b], first[b]),
            (letters[b], family[a], given[a], first[a]),
        ):
            if mail is None or fam is None or len(fam) < 3:
                continue
            fam_in = fam.replace(" ", "") in mail
            giv_in = any(g is not None and len(g) >= 3 and g in mail for g in (giv, fst))
            best = max(best, 2 if fam_in and giv_in else 1 if fam_in else 0)
        out[k] = best
    return out


def email_birth_year(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """A record without a birth date has an e-mail ending in the other's birth year
    (anna.kovacs49@ ~ born 1949)."""
    year, born = _codes(frame, "email_year"), _codes(frame, "birth_yy")
    years = frame["email_year"].to_numpy(dtype=object)
    births = frame["birth_yy"].to_numpy(dtype=object)
    out = np.full(left.size, NULL, dtype=np.int8)
    for mail, other in ((left, right), (right, left)):
        ask = (year[mail] >= 0) & (born[mail] < 0) & (born[other] >= 0) & (out == NULL)
        rows = np.flatnonzero(ask)
        out[rows] = (years[mail[rows]] == births[other[rows]]).astype(np.int8)
    return out


def phone(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Phone numbers (E.164): the same, the same last 7 digits, or different."""
    return _exact_or(frame, left, right, "phone", "phone_tail")


def tax_id(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Tax / social-security ids: the same, one character off, or different."""
    return _exact_or(frame, left, right, "tax_id")


def postal_code(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Postal codes: the same, one character off, or different."""
    return _exact_or(frame, left, right, "postal_code")


def city(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Cities: the same, similar spelling, or different (not counted again when the postal
    codes already agree: the town is part of what the postal code says)."""
    levels = _graded(frame, "city", left, right, (0.88,), JaroWinkler.normalized_similarity)
    same_postal = _same(frame, "postal_code", left, right)
    levels[same_postal] = NULL
    return levels


def street(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Street addresses: same street and number, similar street, or different."""
    levels = _graded(frame, "street", left, right, (), JaroWinkler.normalized_similarity)
    levels[levels == 1] = 2  # NULL / 0 / 2 = same street
    # similar spelling of the street's name, its type (utca, ulica, drive) left aside
    near = np.flatnonzero(levels == 0)
    if near.size:
        a, b = _values(frame, "street_name", left[near]), _values(frame, "street_name", right[near])
        sim = cpdist(list(a), list(b), scorer=JaroWinkler.normalized_similarity, workers=-1)
        levels[near[sim >= 0.85]] = 1
    same_number = _same(frame, "house_number", left, right)  # street: 0, 1 similar, 2 same
    diff_number = _present(frame, "house_number", left, right) & ~same_number
    out = levels.copy()
    out[(levels == 2) & same_number] = 3
    out[(levels == 2) & diff_number] = 1  # same street, another house: a neighbour
    return out


def organisation(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Organisation names: the same, nearly the same words, or different."""
    return _graded(frame, "org", left, right, (85.0, 95.0), token_set_ratio)


COMPARISONS: tuple[Comparison, ...] = (
    Comparison(
        "given_name",
        ("given_canon",),
        ("different", "initial/similar", "similar", "same"),
        given_name,
        "given_canon",
        m_prior=(0.05, 0.05, 0.15, 0.75),
        u_prior=(0.9, 0.06, 0.03, 0.01),
    ),
    Comparison(
        "family_name",
        ("family",),
        ("different", "similar", "similar", "same"),
        family_name,
        "family",
        m_prior=(0.05, 0.05, 0.1, 0.8),
        u_prior=(0.95, 0.03, 0.015, 0.005),
    ),
    Comparison(
        "birth_date",
        ("birth_date",),
        ("different", "same year", "one digit off", "same"),
        birth_date,
        m_prior=(0.03, 0.02, 0.1, 0.85),
        u_prior=(0.97, 0.025, 0.004, 0.001),
    ),
    Comparison(
        "email",
        ("email",),
        ("different", "one typo apart", "same user name", "same"),
        email,
        m_prior=(0.3, 0.05, 0.1, 0.55),
        u_prior=(0.99985, 5e-05, 5e-05, 5e-05),
    ),
    Comparison(
        "email_name",
        ("email",),
        ("does not spell the name", "spells the family name", "spells the full name"),
        email_name,
        m_prior=(0.3, 0.05, 0.1, 0.55),
        u_prior=(0.99985, 5e-05, 5e-05, 5e-05),
    ),
    Comparison(
        "email_birth_year",
        ("email", "birth_date"),
        ("does not end in the birth year", "ends in the birth year"),
        email_birth_year,
        m_prior=(0.5, 0.5),
        u_prior=(0.985, 0.015),
    ),
    Comparison(
        "phone",
        ("phone",),
        ("different", "same last digits", "same"),
        phone,
        m_prior=(0.4, 0.05, 0.55),
        u_prior=(0.9998, 0.0001, 0.0001),
    ),
    Comparison(
        "tax_id",
        ("tax_id",),
        ("different", "one character off", "same"),
        tax_id,
        m_prior=(0.05, 0.1, 0.85),
        u_prior=(0.99998, 1e-05, 1e-05),
    ),
    Comparison(
        "postal_code",
        ("postal_code",),
        ("different", "one character off", "same"),
        postal_code,
        "postal_code",
        m_prior=(0.3, 0.05, 0.65),
        u_prior=(0.97, 0.02, 0.01),
    ),
    Comparison(
        "city",
        ("city",),
        ("different", "similar", "same"),
        city,
        "city",
        m_prior=(0.25, 0.05, 0.7),
        u_prior=(0.9, 0.02, 0.08),
    ),
    Comparison(
        "street",
        ("street",),
        ("different", "similar street or another house", "same street", "same street and number"),
        street,
        m_prior=(0.3, 0.1, 0.1, 0.5),
        u_prior=(0.995, 0.003, 0.0015, 0.0005),
    ),
    Comparison(
        "organisation",
        ("org",),
        ("different", "similar", "nearly same", "same"),
        organisation,
        "org",
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
) -> np.ndarray:
    """The (pairs x comparisons) int8 matrix of agreement levels."""
    out = np.empty((left.size, len(comparisons)), dtype=np.int8)
    token = _CODES.set((frame, {}))
    try:
        for k, comparison in enumerate(comparisons):
            out[:, k] = comparison.compute(frame, left, right)
        _household(frame, left, right, out, [c.name for c in comparisons])
    finally:
        _CODES.reset(token)
    return out


def _household(
    frame: pd.DataFrame, left: np.ndarray, right: np.ndarray, out: np.ndarray, names: list[str]
) -> None:
    """Different given names under one family name: a shared address, or a shared mailbox
    whose user name carries no given name (rodzina.kowalski@, the.smiths@), is what a
    household shares, so it is not counted as evidence that the two are one person."""
    if "given_name" not in names or "family_name" not in names:
        return
    given, family = out[:, names.index("given_name")], out[:, names.index("family_name")]
    rows = np.flatnonzero((given == 0) & (family >= 1))
    if rows.size == 0:
        return
    if "street" in names:
        k = names.index("street")
        out[rows[out[rows, k] == len(COMPARISON_LEVELS["street"]) - 1], k] = NULL
    if "email" in names:
        k = names.index("email")
        shared = rows[out[rows, k] == len(COMPARISON_LEVELS["email"]) - 1]
        if shared.size:
            personal = _names_a_person(frame, left[shared], right[shared])
            out[shared[~personal], k] = NULL
