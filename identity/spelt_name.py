"""Term frequency of the name an e-mail spells: hayssean@ beside a rare Sean Hays tells more
than davidcohen@ beside one of many David Cohens.

The `email_name` comparison (`identity.compare_email`) says whether a record without a full
name has an e-mail user name spelling the other record's family name, or its given and
family name. Its m and u are averages over every name; but the chance that a stranger's
mailbox spells *this* name is the chance that a stranger bears it, which the name's own
frequency gives — exactly what an agreement on the name itself weighs
(`identity.score.tf_adjust`). So a spelt name gains or loses the bits an exact agreement on
that name would: log2(u of the name level / the value's frequency) for the family name, and
for the full name the given name's too (a full name commoner than its parts predict, from the
`FULL_NAME` table, only ever less).

The averages themselves (`spelt_name_u`) come from the names' own u, not from random pairs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from identity.compare import Comparison
from identity.levels import Role
from identity.training import U_EPS

__all__ = ["MAX_SPELT_BITS", "spelt_name_bits", "spelt_name_u"]

MAX_SPELT_BITS = 8.0  # a spelt name gains or loses at most this much by its frequency

_FAMILY, _FULL = 1, 2  # email_name's levels: spells the family name, spells the full name


def _name_comparisons(comparisons: tuple[Comparison, ...]) -> tuple[int | None, int | None]:
    """The indexes of the given-name and the family-name comparisons (None where absent)."""
    names = {c.tf_column: k for k, c in enumerate(comparisons) if c.role is Role.NAME}
    return names.get("given_canon"), names.get("family")


def spelt_name_u(
    comparisons: tuple[Comparison, ...], m: list[np.ndarray], u: list[np.ndarray]
) -> None:
    """u of a name spelt in an e-mail from the names' own u, in place: a stranger's mailbox
    spells this record's full name when the stranger bears that name (u of exact given x
    exact family name) and spells it as people's mailboxes spell their own (this level's
    m); it spells the family name alone when the stranger bears the family name (m of
    either level: a namesake's mailbox holds the family name whatever else it holds).

    Random pairs almost never show a stranger's mailbox spelling one's name; the few that
    do are mostly one person's two records, so sampling overstated u hundreds of times
    (registry: 6.4e-4 for the full name against ~2e-6 for a shared full name), and a
    nameless e-mail record beside the customer its mailbox spells stayed below 0.05 though
    97 % of such pairs match. The sampled u stays where it is lower. Per name,
    `spelt_name_bits` then weighs the spelt name by its own frequency, around these.
    """
    k_given, k_family = _name_comparisons(comparisons)
    if k_family is None:
        return
    u_family = float(u[k_family][-1])
    u_given = float(u[k_given][-1]) if k_given is not None else 1.0
    for k, c in enumerate(comparisons):
        if c.role is not Role.NAME_IN_IDENTIFIER or len(c.levels) != _FULL + 1:
            continue
        spells_family, spells_full = float(m[k][_FAMILY]), float(m[k][_FULL])
        found = u[k].copy()
        found[_FULL] = min(found[_FULL], u_given * u_family * spells_full)
        found[_FAMILY] = min(found[_FAMILY], u_family * (spells_family + spells_full))
        found[0] = 1.0 - found[_FAMILY] - found[_FULL]
        u[k] = found


def _name_bits(values: np.ndarray, freq: pd.Series | None, u_same: float) -> np.ndarray:
    """Per value, log2(u of exact agreement / the value's frequency) within ±8 bits (as
    `tf_adjust` weighs an exact agreement); 0 where the value or its frequency is unknown."""
    if freq is None or values.size == 0:
        return np.zeros(values.size)
    found = pd.Series(values).map(freq).to_numpy(dtype=np.float64)
    out = np.log2(np.clip(u_same, U_EPS, 1) / np.clip(found, U_EPS, 1))
    clipped: np.ndarray = np.clip(np.nan_to_num(out, nan=0.0), -8.0, 8.0)
    return clipped


def spelt_name_bits(
    frame: pd.DataFrame,
    left: np.ndarray,
    right: np.ndarray,
    levels: np.ndarray,
    comparisons: tuple[Comparison, ...],
    u: list[np.ndarray],
    tf: Mapping[str, pd.Series],
    full_name_share: Callable[[np.ndarray], np.ndarray] | None = None,
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """The bits a spelt name gains or loses by its frequency, as (comparison index, pair
    indexes, bits) per `NAME_IN_IDENTIFIER` comparison: only the pairs at a spelling level,
    never a full pairs x comparisons array (11.6M pairs at 1M records).

    The spelt record is the side with the names the level needs (a family name; for the
    full name a given name too); where both sides qualify, the commoner name counts.
    `full_name_share` gives records' full names' share held by strangers where that is
    more than their parts' frequencies predict (`FULL_NAME`), NaN elsewhere.
    """
    out: list[tuple[int, np.ndarray, np.ndarray]] = []
    spelt = [k for k, c in enumerate(comparisons) if c.role is Role.NAME_IN_IDENTIFIER]
    k_given, k_family = _name_comparisons(comparisons)
    if not spelt or k_family is None or "family" not in frame:
        return out
    family = frame["family"].to_numpy(dtype=object)
    given = (
        frame["given_canon"].to_numpy(dtype=object)
        if k_given is not None and "given_canon" in frame
        else np.full(len(frame), None, dtype=object)
    )
    family_tf = tf.get(comparisons[k_family].name)
    given_tf = tf.get(comparisons[k_given].name) if k_given is not None else None
    u_family = float(u[k_family][-1])
    u_given = float(u[k_given][-1]) if k_given is not None else 1.0
    for k in spelt:
        if len(comparisons[k].levels) <= _FULL:
            continue
        rows = np.flatnonzero((levels[:, k] == _FAMILY) | (levels[:, k] == _FULL))
        if rows.size == 0:
            continue
        full = levels[rows, k] == _FULL
        # both records carry a family name, which the family-name comparison weighs: the
        # full name spelt then tells the given name only (`email_name` already drops the
        # family level there), so its family part and that name's frequency come off
        compared = full & (levels[rows, k_family] >= 0)
        best = np.full(rows.size, np.inf)
        for side in (left[rows], right[rows]):
            fam = family[side]
            giv = given[side]
            has = np.array([f is not None for f in fam], dtype=bool)
            has &= ~full | np.array([g is not None for g in giv], dtype=bool)
            gain = np.where(compared, 0.0, _name_bits(fam, family_tf, u_family))
            if k_given is not None and full.any():
                gain_given = _name_bits(giv, given_tf, u_given)
                gain = gain + np.where(full, gain_given, 0.0)
                if full_name_share is not None:
                    joint_f = np.full(rows.size, np.nan)
                    joint_f[full & ~compared] = full_name_share(side[full & ~compared])
                    parts = np.exp2(-gain) * np.clip(u_family * u_given, U_EPS, 1)
                    less = np.minimum(np.log2(parts / np.clip(joint_f, U_EPS, 1)), 0.0)
                    gain = gain + np.where(full, np.nan_to_num(less, nan=0.0), 0.0)
            best = np.where(has, np.minimum(best, gain), best)
        known = np.isfinite(best)
        bits = np.clip(best[known], -MAX_SPELT_BITS, MAX_SPELT_BITS)
        family_part = np.log2(np.clip(u_family, U_EPS, 1))  # < 0
        bits = bits + np.where(compared[known], family_part, 0.0)
        out.append((k, rows[known], bits.astype(np.float32)))
    return out
