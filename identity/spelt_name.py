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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from identity.compare import Comparison
from identity.levels import Role
from identity.training import U_EPS

__all__ = ["MAX_SPELT_BITS", "spelt_name_bits"]

MAX_SPELT_BITS = 8.0  # a spelt name gains or loses at most this much by its frequency

_FAMILY, _FULL = 1, 2  # email_name's levels: spells the family name, spells the full name


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
    names = {c.tf_column: k for k, c in enumerate(comparisons) if c.role is Role.NAME}
    k_given, k_family = names.get("given_canon"), names.get("family")
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
    for k in spelt:
        if len(comparisons[k].levels) <= _FULL:
            continue
        rows = np.flatnonzero((levels[:, k] == _FAMILY) | (levels[:, k] == _FULL))
        if rows.size == 0:
            continue
        full = levels[rows, k] == _FULL
        best = np.full(rows.size, np.inf)
        for side in (left[rows], right[rows]):
            fam = family[side]
            giv = given[side]
            has = np.array([f is not None for f in fam], dtype=bool)
            has &= ~full | np.array([g is not None for g in giv], dtype=bool)
            gain = _name_bits(fam, family_tf, float(u[k_family][-1]))
            if k_given is not None and full.any():
                gain_given = _name_bits(giv, given_tf, float(u[k_given][-1]))
                gain = gain + np.where(full, gain_given, 0.0)
                if full_name_share is not None:
                    joint_f = np.full(rows.size, np.nan)
                    joint_f[full] = full_name_share(side[full])
                    parts = np.exp2(-gain) * np.clip(
                        float(u[k_family][-1]) * float(u[k_given][-1]), U_EPS, 1
                    )
                    less = np.minimum(np.log2(parts / np.clip(joint_f, U_EPS, 1)), 0.0)
                    gain = gain + np.where(full, np.nan_to_num(less, nan=0.0), 0.0)
            best = np.where(has, np.minimum(best, gain), best)
        known = np.isfinite(best)
        bits = np.clip(best[known], -MAX_SPELT_BITS, MAX_SPELT_BITS).astype(np.float32)
        out.append((k, rows[known], bits))
    return out
