"""E-mail comparisons: the address, its user name against the other's name and birth year.

Each function is a comparison (see `identity.levels`); its docstring is the explanation a
steward sees.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cpdist

from identity.levels import NULL, codes, exact_or, same, values

__all__ = ["email", "email_birth_year", "email_name", "names_a_person"]


def email(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """E-mail addresses: the same, the same user name elsewhere, a typo apart, or different."""
    levels = exact_or(frame, left, right, "email", "email_local")  # 0 / 1 user / 2 same
    levels[levels >= 1] += 1
    rest = np.flatnonzero(levels == 0)
    if rest.size:
        a, b = values(frame, "email", left[rest]), values(frame, "email", right[rest])
        dist = cpdist(list(a), list(b), scorer=Levenshtein.distance, workers=-1)
        close = rest[dist <= 1]
        # anna.kovacs2@ next to anna.kovacs@ is a second Anna Kovács, numbered by the
        # provider: addresses differing only in digits are different addresses, not typos
        letters = same(frame, "email_letters", left[close], right[close])
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


def names_a_person(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Whether the (shared) e-mail user name spells a given name of either record."""
    return _name_spelling(frame, left, right, both=False)


def _name_spelling(
    frame: pd.DataFrame, left: np.ndarray, right: np.ndarray, *, both: bool
) -> np.ndarray:
    """Per pair: the left record's user name (and, with `both`, the right's) spells the
    pair's names — any family name and any given name of the two records, as `_spells` says."""
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
    """The user name holds one of the family names and one of the given names, or is a
    family name with a given name's initial (separators and digits are already gone from
    `email_letters`)."""
    if not mail:
        return False
    for family in families:
        if family in mail:
            rest = mail.replace(family, "", 1)
            if not rest or any(g in rest or rest == g[0] for g in givens):
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
    look = spellable & ~(named[left] & named[right]) & ~same(frame, "email", left, right)
    for k in np.flatnonzero(look).tolist():
        a, b = int(left[k]), int(right[k])
        best = NULL
        # with a given name on both records the given-name comparison already weighs it:
        # the mailbox then tells only the family name
        givens_compared = first[a] is not None and first[b] is not None
        # with a family name on both records the family-name comparison weighs it: the
        # mailbox spelling it tells nothing more (spelling the full name, it tells the given
        # name, which `identity.spelt_name` weighs without the family part)
        families_compared = family[a] is not None and family[b] is not None
        for mail, fam, giv, fst in (
            (letters[a], family[b], given[b], first[b]),
            (letters[b], family[a], given[a], first[a]),
        ):
            if mail is None or fam is None or len(fam) < 3:
                continue
            fam_in = fam.replace(" ", "") in mail
            giv_in = not givens_compared and any(
                g is not None and len(g) >= 3 and g in mail for g in (giv, fst)
            )
            best = max(best, 2 if fam_in and giv_in else 1 if fam_in else 0)
        out[k] = NULL if families_compared and best == 1 else best
    return out


def email_birth_year(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """A record without a birth date has an e-mail ending in the other's birth year
    (anna.kovacs49@ ~ born 1949)."""
    year, born = codes(frame, "email_year"), codes(frame, "birth_yy")
    years = frame["email_year"].to_numpy(dtype=object)
    births = frame["birth_yy"].to_numpy(dtype=object)
    out = np.full(left.size, NULL, dtype=np.int8)
    for mail, other in ((left, right), (right, left)):
        ask = (year[mail] >= 0) & (born[mail] < 0) & (born[other] >= 0) & (out == NULL)
        rows = np.flatnonzero(ask)
        out[rows] = (years[mail[rows]] == births[other[rows]]).astype(np.int8)
    return out
