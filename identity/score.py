"""Score: Fellegi-Sunter match weights with m/u estimated without labels.

u (how often a level occurs among non-matches) comes from random record pairs; m (how often
among matches) is estimated by expectation-maximisation on the candidate pairs, so a new
user needs no training data. Steward labels, when present, are held at their class during
EM and tell it how often pairs with the same comparison levels match, so m learns from
them. Exact agreement on a common value (Nagy, David, Budapest) is down-weighted by its
term frequency. Every pair keeps its per-field weights: the explanation a steward sees.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from identity.compare import COMPARISONS, Comparison, compare_pairs
from identity.levels import Role
from identity.spelt_name import spelt_name_bits, spelt_name_u
from identity.training import (
    EPS,
    MIN_SESSION,
    SESSIONS,
    U_EPS,
    Session,
    bits,
    distinct,
    em,
    learn_m,
    level_counts,
    level_prior,
)

__all__ = [
    "Model",
    "Patterns",
    "Scored",
    "estimate",
    "estimate_from_patterns",
    "learn_m_from_patterns",
    "pattern_counts",
    "score",
]

_MAX_BITS = 16.0  # no level weighs more than this against, nor for (unless `_OVER_PRIOR`)
# An identifier's exact agreement may outweigh the prior by this many bits on its own: the
# prior falls as log2(records) while the chance that two strangers share one e-mail falls as
# fast, so a fixed cap would make a shared rare identifier count for less and less.
_OVER_PRIOR = 8.0
_U_PSEUDO = 200.0  # prior knowledge of u counts as this many random pairs


@dataclass
class Model:
    """Estimated parameters: per comparison, m and u for each agreement level."""

    comparisons: tuple[Comparison, ...]
    m: list[np.ndarray]
    u: list[np.ndarray]
    prior: float  # probability that two random records (of one kind) are the same entity
    iterations: int = 0
    prior_candidates: float = 0.0  # share of matches among the candidate pairs, from EM
    tf: dict[str, pd.Series] = field(default_factory=dict)  # value -> relative frequency

    def weights(self, k: int) -> np.ndarray:
        """log2(m/u) per level of comparison k: its Bayes factor in bits.

        Kept monotone (closer agreement is never weaker evidence than a looser one) and
        within ±16 bits (`_MAX_BITS`), so no single field can outvote all the others on its own.
        """
        bits = np.log2(np.clip(self.m[k], EPS, 1) / np.clip(self.u[k], U_EPS, 1))
        if bits.size > 2:
            bits[1:] = np.maximum.accumulate(bits[1:])
        clipped: np.ndarray = np.clip(bits, -_MAX_BITS, self.max_bits)
        return clipped

    @property
    def max_bits(self) -> float:
        """The most any one level weighs for a match: 16 bits, or as much as the prior
        weighs against plus `_OVER_PRIOR`, whichever is more (so it grows with the data)."""
        return max(_MAX_BITS, _OVER_PRIOR - self.prior_bits)

    @property
    def prior_bits(self) -> float:
        """The prior's share of every pair's total weight: log2 of its odds."""
        return float(np.log2(self.prior / (1 - self.prior)))

    def describe(self) -> dict[str, dict[str, float]]:
        """Level label -> match weight, per comparison (for docs and stewards)."""
        return {
            c.name: {
                label: round(float(w), 2)
                for label, w in zip(c.levels, self.weights(k), strict=True)
            }
            for k, c in enumerate(self.comparisons)
        }


@dataclass
class Scored:
    """Candidate pairs with their per-comparison weights, total weight and probability."""

    left: np.ndarray
    right: np.ndarray
    levels: np.ndarray  # (pairs, comparisons) int8, -1 = missing
    weights: np.ndarray  # (pairs, comparisons) float32, bits
    total: np.ndarray  # float64 bits, prior included
    probability: np.ndarray


def _random_pairs(frame: pd.DataFrame, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    size = len(frame)
    left = rng.integers(0, size, n)
    right = rng.integers(0, size, n)
    keep = left != right
    kinds = frame["kind"].to_numpy(dtype=object)
    keep &= kinds[left] == kinds[right]
    return left[keep], right[keep]


def estimate(
    frame: pd.DataFrame,
    levels: np.ndarray,
    *,
    comparisons: tuple[Comparison, ...] = COMPARISONS,
    sessions: tuple[Session, ...] = SESSIONS,
    labels: Sequence[tuple[int, bool]] = (),
    random_pairs: int = 300_000,
    max_iterations: int = 40,
    seed: int = 7,
) -> Model:
    """Estimate u from random pairs and m by EM on the candidate pairs' levels, in the
    training `sessions` the comparisons' roles choose (`identity.training`).

    `labels` are (candidate pair index, is_match) from stewards: held at their known class
    during EM, and spread to the unlabelled pairs with the same levels (`label_evidence`),
    so m learns what the stewards decided. u still comes from random pairs only (labelled
    non-matches are hard cases, not random ones), and the prior from the model's estimate.
    """
    u, m = _start(frame, comparisons, random_pairs, seed)
    fixed = np.full(levels.shape[0], np.nan)
    for index, is_match in labels:
        fixed[index] = 1.0 if is_match else 0.0
    # m from training sessions chosen by the comparisons' roles (`identity.training`)
    m, iteration = learn_m(
        levels, comparisons, sessions, m=m, u=u, fixed=fixed, max_iterations=max_iterations
    )
    tf, all_pairs = _value_frequencies(frame, comparisons)
    spelt_name_u(comparisons, m, u)
    global_prior, expected = _global_prior(levels, m, u, fixed, all_pairs)
    for k, c in enumerate(comparisons):
        if c.role is Role.IDENTIFIER:
            found = _identifier_u(frame, levels, k, c, m, u, global_prior, all_pairs)
            if found is not None:
                u[k], tf[c.name] = found
    if any(c.role is Role.IDENTIFIER for c in comparisons):
        global_prior, expected = _global_prior(levels, m, u, fixed, all_pairs)
    joint = _full_name_tf(frame, levels, comparisons, m, u)
    if joint is not None:
        tf[FULL_NAME] = joint
    share = expected / levels.shape[0] if levels.shape[0] else 0.0
    return Model(comparisons, m, u, global_prior, iteration, tf=tf, prior_candidates=share)


def _start(
    frame: pd.DataFrame, comparisons: tuple[Comparison, ...], random_pairs: int, seed: int
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """EM's starting point: u per comparison from random pairs of `frame` (plus pseudo-counts
    of the prior), m from the comparisons' priors."""
    rl, rr = _random_pairs(frame, min(random_pairs, max(len(frame) ** 2 // 2, 1)), seed)
    random_levels = compare_pairs(frame, rl, rr, comparisons)
    u = []
    m = []
    for k, c in enumerate(comparisons):
        counts = level_counts(random_levels[:, k], len(c.levels)) + _U_PSEUDO * level_prior(c, "u")
        u.append(counts / counts.sum())
        m.append(level_prior(c, "m"))
    return u, m


def _value_frequencies(
    frame: pd.DataFrame, comparisons: tuple[Comparison, ...]
) -> tuple[dict[str, pd.Series], float]:
    """Each term-frequency column's value shares, and how many pairs of records of one kind
    `frame` holds (the population the prior is a share of)."""
    tf = {}
    for c in comparisons:
        if c.tf_column:
            values = frame[c.tf_column].dropna()
            if len(values):
                tf[c.name] = values.value_counts(normalize=True)
    kinds = frame["kind"].value_counts()
    return tf, float((kinds * (kinds - 1) / 2).sum()) or 1.0


@dataclass(frozen=True, kw_only=True)
class Patterns:
    """The candidate pairs as EM sees them: each distinct row of levels (agreement pattern)
    and how many pairs it stands for — a few thousand rows for millions of pairs, all that
    `estimate` needs of them (as Splink's EM on pattern counts). A steward-labelled pair is
    a row of its own (count 1, `fixed` its label: 1 match, 0 not; NaN on the others)."""

    rows: np.ndarray  # (patterns, comparisons) int8, -1 = missing
    counts: np.ndarray  # float64, pairs per row
    fixed: np.ndarray  # float64, the label of a labelled pair's row, else NaN

    @property
    def pairs(self) -> float:
        return float(self.counts.sum())


def pattern_counts(
    rows: np.ndarray,
    counts: np.ndarray,
    labelled: np.ndarray | None = None,
    labels: Sequence[bool] = (),
) -> Patterns:
    """`Patterns` from level rows counted somewhere (repeats allowed: they are summed) and
    the levels of the steward-labelled pairs among them (`labelled`, a row per pair, with
    `labels`): each labelled pair leaves its pattern's count for a row of its own.

    `pattern_counts(levels, np.ones(len(levels)), levels[i], ...)` are the patterns of an
    in-memory array; a distributed backend counts `GROUP BY` the level columns instead."""
    width = rows.shape[1] if rows.ndim == 2 else 0
    labelled = np.empty((0, width), np.int8) if labelled is None else labelled
    stacked = np.concatenate([rows, labelled]).astype(np.int8, copy=False)
    weights = np.concatenate([counts.astype(np.float64), -np.ones(labelled.shape[0])])
    merged, _, inverse = distinct(stacked)
    total = np.bincount(inverse, weights=weights, minlength=merged.shape[0])
    if total.size and float(total.min()) < 0:
        raise ValueError("pattern_counts: a labelled pair's pattern is not among the counts")
    seen = total > 0
    fixed = np.array([1.0 if is_match else 0.0 for is_match in labels], dtype=np.float64)
    if fixed.size != labelled.shape[0]:
        raise ValueError(f"pattern_counts: {labelled.shape[0]} labelled rows, {fixed.size} labels")
    return Patterns(
        rows=np.concatenate([merged[seen], labelled]).astype(np.int8, copy=False),
        counts=np.concatenate([total[seen], np.ones(labelled.shape[0])]),
        fixed=np.concatenate([np.full(int(seen.sum()), np.nan), fixed]),
    )


def _sessions_of(
    found: Patterns, comparisons: tuple[Comparison, ...], sessions: tuple[Session, ...]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """`identity.training.chosen_sessions` over patterns: a session's size is the pairs its
    rows stand for. The strongest level of a comparison is read from the rows (the same
    levels the pairs hold)."""
    rows = found.rows
    strongest = rows.max(axis=0, initial=0) if rows.size else np.zeros(rows.shape[1], np.int8)

    def agree(roles: tuple[Role, ...], all_of: bool) -> np.ndarray:
        cols = [rows[:, k] == strongest[k] for k, c in enumerate(comparisons) if c.role in roles]
        if not cols:
            return np.zeros(rows.shape[0], dtype=bool)
        stacked = np.vstack(cols)
        return np.asarray(stacked.all(axis=0) if all_of else stacked.any(axis=0), dtype=bool)

    def choose(session: Session) -> tuple[np.ndarray, np.ndarray]:
        mask = np.ones(rows.shape[0], dtype=bool)
        if session.all_of:
            mask &= agree(session.all_of, True)
        if session.any_of:
            mask &= agree(session.any_of, False)
        if found.counts[mask].sum() < MIN_SESSION and session.fallback is not None:
            return choose(session.fallback)
        return mask, np.array([c.role in session.held for c in comparisons], dtype=bool)

    chosen = [choose(s) for s in sessions]
    return [(mask, held) for mask, held in chosen if found.counts[mask].sum() >= MIN_SESSION]


def learn_m_from_patterns(
    found: Patterns,
    comparisons: tuple[Comparison, ...],
    sessions: tuple[Session, ...],
    *,
    m: list[np.ndarray],
    u: list[np.ndarray],
    max_iterations: int,
) -> tuple[list[np.ndarray], int]:
    """`identity.training.learn_m` on pattern counts: the same sessions, EM and label
    evidence, each row weighted by the pairs it stands for."""
    known = ~np.isnan(found.fixed)
    evidence = None
    if known.any():  # per row: labelled pairs of its levels, and the matches among them
        _, _, config = distinct(found.rows)
        size = int(config.max()) + 1
        seen = np.bincount(config[known], minlength=size).astype(np.float64)
        matched = np.bincount(config[known], weights=found.fixed[known], minlength=size)
        evidence = (seen[config], matched[config])
    learned: list[list[np.ndarray]] = [[] for _ in comparisons]
    iteration = 0
    for mask, held in _sessions_of(found, comparisons, sessions):
        sub = found.rows[mask].copy()
        sub[:, held] = -1
        if evidence is None:  # the session's rows merged where holding out made them equal
            rows, _, inverse = distinct(sub)
            counts = np.bincount(inverse, weights=found.counts[mask], minlength=rows.shape[0])
            nothing_fixed = np.full(rows.shape[0], np.nan)
            m_s, _, its = em(rows, comparisons, m, u, nothing_fixed, max_iterations, None, counts)
        else:
            ev = (evidence[0][mask], evidence[1][mask])
            m_s, _, its = em(
                sub, comparisons, m, u, found.fixed[mask], max_iterations, ev, found.counts[mask]
            )
        iteration = max(iteration, its)
        for k in np.flatnonzero(~held).tolist():
            learned[k].append(m_s[k])
    if not any(learned):
        m_all, _, iteration = em(
            found.rows, comparisons, m, u, found.fixed, max_iterations, evidence, found.counts
        )
        learned = [[mk] for mk in m_all]
    return [np.mean(got, axis=0) if got else m[k] for k, got in enumerate(learned)], iteration


def estimate_from_patterns(
    frame: pd.DataFrame,
    found: Patterns,
    *,
    comparisons: tuple[Comparison, ...] = COMPARISONS,
    sessions: tuple[Session, ...] = SESSIONS,
    random_pairs: int = 300_000,
    max_iterations: int = 40,
    seed: int = 7,
) -> Model:
    """`estimate` from the candidate pairs' pattern counts instead of their levels: the
    same model (tests/identity/backends/test_patterns.py), with only `Patterns` — not a row
    per pair — on the machine that runs it. u still comes from random pairs and value
    frequencies of `frame`."""
    u, m = _start(frame, comparisons, random_pairs, seed)
    m, iteration = learn_m_from_patterns(
        found, comparisons, sessions, m=m, u=u, max_iterations=max_iterations
    )
    tf, all_pairs = _value_frequencies(frame, comparisons)
    spelt_name_u(comparisons, m, u)
    rows, counts = found.rows, found.counts

    def prior() -> tuple[float, float]:
        if rows.shape[0] == 0:  # no candidates: `_global_prior`'s answer for none
            return _global_prior(rows, m, u, found.fixed, all_pairs)
        return _prior_fixed_point(rows, counts, found.fixed, m, u, all_pairs)

    global_prior, expected = prior()
    for k, c in enumerate(comparisons):
        if c.role is Role.IDENTIFIER:
            got = _identifier_u(frame, rows, k, c, m, u, global_prior, all_pairs, counts)
            if got is not None:
                u[k], tf[c.name] = got
    if any(c.role is Role.IDENTIFIER for c in comparisons):
        global_prior, expected = prior()
    joint = _full_name_tf(frame, rows, comparisons, m, u, counts)
    if joint is not None:
        tf[FULL_NAME] = joint
    share = expected / found.pairs if found.pairs else 0.0
    return Model(comparisons, m, u, global_prior, iteration, tf=tf, prior_candidates=share)


# What an identifier's role says before the data speak: of the pairs sharing one, this share
# are one customer, held as this many pairs (it matters only when few pairs share a value).
_SAME_PRIOR, _SAME_PSEUDO = 0.9, 2.0


def _identifier_u(
    frame: pd.DataFrame,
    levels: np.ndarray,
    k: int,
    c: Comparison,
    m: list[np.ndarray],
    u: list[np.ndarray],
    prior: float,
    all_pairs: float,
    counts: np.ndarray | None = None,
) -> tuple[np.ndarray, pd.Series] | None:
    """u of exact agreement on an identifier from its values' frequencies, and its per-value
    term frequencies: the chance that two records which are *not* one customer share it.

    Random pairs see a shared e-mail a handful of times, and mostly in pairs that are the
    same person, so they overstate u by orders of magnitude. Instead: the pairs of records
    (of one kind) that share a value number sum n_v(n_v-1)/2; the share of them that are
    different people is read off the candidate pairs that agree exactly, by the evidence of
    every *other* comparison (a one-parameter EM: a shared family mailbox between different
    names counts against, a pair with nothing else known counts for neither). Per value, u
    grows with how many records hold it (a value on six records is less telling than one on
    two); averaged over the sharing pairs it is the global u. With `counts`, each row of
    `levels` stands for that many pairs (`Patterns`).
    """
    top = len(c.levels) - 1
    column = c.columns[0]
    exact = levels[:, k] == top
    if not exact.any() or column not in frame:
        return None
    held = frame[[column, "kind"]].dropna(subset=[column])
    n_v = held.groupby(["kind", column], observed=True).size()
    n_v = n_v[n_v > 1]
    sharing = float((n_v * (n_v - 1) / 2).sum())
    if sharing <= 0:
        return None
    rows, counts = _distinct_counts(levels, exact, counts)
    held = np.zeros(levels.shape[1], dtype=bool)
    held[k] = True
    pi = _same_share(rows, counts, held, m, u)  # P(same customer | same value)
    strangers = sharing * (1.0 - pi)  # pairs sharing a value that are different customers
    u_exact = max(strangers / (all_pairs * (1.0 - prior)), U_EPS)
    u_k = u[k].copy()
    u_k[top] = u_exact
    u_k[:top] *= (1.0 - u_exact) / max(float(u_k[:top].sum()), EPS)
    by_value = n_v.droplevel("kind")
    per_pair = float((n_v * (n_v - 1) * (n_v - 1)).sum() / (n_v * (n_v - 1)).sum())
    term = (by_value - 1) / per_pair * u_exact
    term = term.groupby(level=0).max()  # a value held in two kinds: the commoner
    return u_k, term


def _global_prior(
    levels: np.ndarray,
    m: list[np.ndarray],
    u: list[np.ndarray],
    fixed: np.ndarray,
    all_pairs: float,
) -> tuple[float, float]:
    """The chance that two random records match, and the matches expected among candidates.

    EM for the prior over *all* record pairs, m and u held: pairs blocking did not propose
    count as non-matches, so the prior is the candidates' expected matches over all pairs,
    each candidate's match probability taken at that same prior (a fixed point). Estimating
    it among the candidates alone would call nearly all of them matches — blocking chose
    them for agreeing on something — and overstate the prior several times over.
    Steward-labelled pairs count as their label.
    """
    if levels.shape[0] == 0:  # nothing to match (one record of a kind, or no candidates)
        return float(np.clip(1.0 / all_pairs, 1e-12, 0.5)), 0.0
    known = ~np.isnan(fixed)
    if known.any():
        rows, counts = levels, np.ones(levels.shape[0])
        labels = fixed
    else:
        rows, counts, _ = distinct(levels)
        labels = np.full(rows.shape[0], np.nan)
    return _prior_fixed_point(rows, counts, labels, m, u, all_pairs)


def _prior_fixed_point(
    rows: np.ndarray,
    counts: np.ndarray,
    labels: np.ndarray,
    m: list[np.ndarray],
    u: list[np.ndarray],
    all_pairs: float,
) -> tuple[float, float]:
    """`_global_prior`'s fixed point over level `rows`, each standing for `counts` pairs
    (`labels`: 1 / 0 for a steward-labelled row, NaN otherwise)."""
    evidence = bits(rows, m, u, 0.5)  # each row's log-likelihood ratio
    labelled = ~np.isnan(labels)
    prior, expected = 1e-6, 0.0
    for _ in range(200):
        odds = np.log2(prior / (1 - prior))
        p = 1.0 / (1.0 + np.exp2(-np.clip(evidence + odds, -60, 60)))
        p[labelled] = labels[labelled]
        expected = float(p @ counts)
        new = float(np.clip(max(expected, 1.0) / all_pairs, 1e-12, 0.5))
        if abs(new - prior) <= 1e-9 * prior:
            break
        prior = new
    return new, expected


def score(
    model: Model,
    frame: pd.DataFrame,
    left: np.ndarray,
    right: np.ndarray,
    levels: np.ndarray | None = None,
) -> Scored:
    """Weights and match probability of each pair under `model`."""
    if levels is None:
        levels = compare_pairs(frame, left, right, model.comparisons)
    weights = np.zeros(levels.shape, dtype=np.float32)
    for k in range(len(model.comparisons)):
        present = levels[:, k] >= 0
        weights[present, k] = model.weights(k)[levels[present, k]]
    if model.tf:  # in slices of pairs: each slice's adjustments are a pairs x comparisons
        # float32 array of their own (600 MB for the 11.6M candidate pairs of 1M records)
        for at in range(0, levels.shape[0], _SCORE_SLICE):
            part = slice(at, at + _SCORE_SLICE)
            weights[part] += tf_adjust(
                frame, left[part], right[part], levels[part], model.comparisons, model.u, model.tf
            )
    total = weights.sum(axis=1, dtype=np.float64) + model.prior_bits
    probability = 1.0 / (1.0 + np.exp2(-np.clip(total, -60, 60)))
    return Scored(left, right, levels, weights, total, probability)


def tf_adjust(
    frame: pd.DataFrame,
    left: np.ndarray,
    right: np.ndarray,
    levels: np.ndarray,
    comparisons: tuple[Comparison, ...],
    u: list[np.ndarray],
    tf: dict[str, pd.Series],
) -> np.ndarray:
    """Per pair and comparison, the bits an exact agreement gains or loses by its value's
    frequency: log2(u of the level / u of this value), within ±8 bits per comparison.

    Where a pair agrees exactly on the whole name (every name comparison with a term
    frequency, the same values on both sides), the names' share is read from the full
    name's own frequency (`FULL_NAME`), not the product of the parts' frequencies: given and
    family names go together (by country, by family), so the product understates how many
    strangers share the full name.
    """
    out = np.zeros(levels.shape, dtype=np.float32)
    for k, c in enumerate(comparisons):
        freq = tf.get(c.name)
        column = c.tf_column or (c.columns[0] if c.role is Role.IDENTIFIER else None)
        if freq is None or not column:
            continue
        exact = np.flatnonzero(levels[:, k] == len(c.levels) - 1)
        if exact.size:
            values = frame[column].to_numpy(dtype=object)[left[exact]]
            term = pd.Series(values).map(freq).to_numpy(dtype=np.float64)
            adjust = np.log2(np.clip(u[k][-1], U_EPS, 1) / np.clip(term, U_EPS, 1))
            out[exact, k] = np.clip(np.nan_to_num(adjust), -8, 8)
    joint = tf.get(FULL_NAME)
    parts = _name_parts(comparisons, frame)
    share = _joint_share(frame, parts, joint)
    for k, rows, spelt in spelt_name_bits(frame, left, right, levels, comparisons, u, tf, share):
        out[rows, k] += spelt
    if joint is None or not parts:
        return out
    ks = [k for k, _ in parts]
    exact = np.ones(levels.shape[0], dtype=bool)
    for k in ks:
        exact &= levels[:, k] == len(comparisons[k].levels) - 1
    rows = np.flatnonzero(exact)
    columns = [col for _, col in parts]
    for column in columns:  # the same name on both sides (not swapped), compared as objects
        values = frame[column].to_numpy(dtype=object)
        rows = rows[values[left[rows]] == values[right[rows]]]
    if rows.size:
        # only the names the table holds, joined in slices: a million pairs share a name
        # at 1M records, and their joined names need not all exist at once
        first = frame[columns[0]].to_numpy(dtype=object)
        rows = rows[pd.Series(first[left[rows]]).isin(_first_parts(joint)).to_numpy()]
        term = np.concatenate(
            [
                pd.Series(_full_name_key(frame, columns, left[rows[i : i + _SLICE]]))
                .map(joint)
                .to_numpy(dtype=np.float64)
                for i in range(0, rows.size, _SLICE)
            ]
            or [np.zeros(0)]
        )
        known = ~np.isnan(term)
        rows, term = rows[known], term[known]
        parts_freq = np.ones(rows.size)
        for k, column in parts:
            freq = tf.get(comparisons[k].name)
            if freq is None:
                parts_freq *= np.clip(u[k][-1], U_EPS, 1)
            else:
                values = frame[column].to_numpy(dtype=object)[left[rows]]
                found = pd.Series(values).map(freq).to_numpy(dtype=np.float64)
                parts_freq *= np.clip(np.nan_to_num(found, nan=u[k][-1]), U_EPS, 1)
        # only ever less telling: a full name commoner than its parts predict
        less = np.minimum(np.log2(parts_freq / np.clip(term, U_EPS, 1)), 0.0)
        share = np.maximum(less, -8.0 * len(ks)) / len(ks)
        for k in ks:
            out[rows, k] += share
    return out


def _joint_share(
    frame: pd.DataFrame, parts: list[tuple[int, str]], joint: pd.Series | None
) -> Callable[[np.ndarray], np.ndarray] | None:
    """Records' full names' share held by strangers in the `FULL_NAME` table (NaN where the
    table does not hold the name), for `spelt_name_bits`."""
    if joint is None or not parts:
        return None
    columns = [col for _, col in parts]

    def share(rows: np.ndarray) -> np.ndarray:
        first = frame[columns[0]].to_numpy(dtype=object)[rows]
        known = np.flatnonzero(pd.Series(first).isin(_first_parts(joint)).to_numpy())
        out = np.full(rows.size, np.nan)
        if known.size:
            keys = _full_name_key(frame, columns, rows[known])
            out[known] = pd.Series(keys).map(joint).to_numpy(dtype=np.float64)
        return out

    return share


FULL_NAME = "full name"  # the key of the full name's term frequencies in `Model.tf`
_SLICE = 200_000  # pairs whose full names are joined at once
_SCORE_SLICE = 1_000_000  # pairs whose term-frequency adjustments are computed at once
_SEPARATOR = "\x1f"  # between the parts of a full name in `FULL_NAME`'s index


_FIRST_PARTS: list[tuple[pd.Series, frozenset[str]]] = []  # the last tables asked about


def _first_parts(joint: pd.Series) -> frozenset[str]:
    """The first parts (given names) of the full names in the table, kept for the last few
    tables: the incremental matcher asks for each record it matches."""
    for table, found in _FIRST_PARTS:
        if table is joint:
            return found
    found = frozenset(str(name).split(_SEPARATOR, 1)[0] for name in joint.index)
    _FIRST_PARTS.insert(0, (joint, found))
    del _FIRST_PARTS[4:]
    return found


def _name_parts(comparisons: tuple[Comparison, ...], frame: pd.DataFrame) -> list[tuple[int, str]]:
    """The name comparisons with a term-frequency column in `frame`: (index, column)."""
    parts = [
        (k, c.tf_column)
        for k, c in enumerate(comparisons)
        if c.role is Role.NAME and c.tf_column and c.tf_column in frame
    ]
    return parts if len(parts) >= 2 else []


def _full_name_key(
    frame: pd.DataFrame, columns: Sequence[str], rows: np.ndarray | None = None
) -> np.ndarray:
    """Per record (of `rows`, or all) its name parts joined into one value (None when a
    part is missing). Only the rows asked for are joined: the incremental matcher scores a
    handful of pairs against a frame of a million records."""
    cols = [frame[c].to_numpy(dtype=object) for c in columns]
    if rows is not None:
        cols = [col[rows] for col in cols]
    joined = np.array(
        [
            None if any(p is None or p != p for p in parts) else _SEPARATOR.join(parts)
            for parts in zip(*cols, strict=True)
        ],
        dtype=object,
    )
    return joined


def _same_share(
    rows: np.ndarray,
    counts: np.ndarray,
    held: np.ndarray,
    m: list[np.ndarray],
    u: list[np.ndarray],
) -> float:
    """Of the pairs with these level `rows` (each standing for `counts` pairs), the share
    that are one customer by the evidence of every comparison not `held` (a one-parameter
    EM; a pair with nothing else known counts for neither side)."""
    others = rows.copy()
    others[:, held] = -1
    evidence = bits(others, m, u, 0.5)
    pi = 0.5
    for _ in range(200):
        odds = np.log2(pi / (1 - pi))
        p = 1.0 / (1.0 + np.exp2(-np.clip(evidence + odds, -60, 60)))
        new = (float(p @ counts) + _SAME_PRIOR * _SAME_PSEUDO) / (
            float(counts.sum()) + _SAME_PSEUDO
        )
        if abs(new - pi) < 1e-9:
            break
        pi = new
    return pi


def _full_name_tf(
    frame: pd.DataFrame,
    levels: np.ndarray,
    comparisons: tuple[Comparison, ...],
    m: list[np.ndarray],
    u: list[np.ndarray],
    counts: np.ndarray | None = None,
) -> pd.Series | None:
    """Per full name held by strangers more often than its parts' frequencies predict: the
    share of records held by *other* customers with that full name.

    A record's full name is held by n_v records: itself, its own duplicates (d on average)
    and strangers. d is read off the candidate pairs that agree on the whole name: the
    share of them that are one customer by the evidence of every *other* comparison (EM,
    `_same_share`), times those pairs, spread over the records that share a full name.
    Where (n_v - 1 - d) / records exceeds the product of the parts' frequencies (names go
    together by country and family: Nagy László, David Cohen), the full name is that much
    less telling; elsewhere the parts' frequencies stand (they also count strangers who
    would share the name in a larger population). With `counts`, each row of `levels`
    stands for that many pairs (`Patterns`).
    """
    parts = _name_parts(comparisons, frame)

    def sizes(columns: list[str]) -> pd.Series:  # missing parts dropped
        by_parts = frame.groupby(["kind", *columns], observed=True).size()
        return by_parts[by_parts > 1]

    return _full_name_strangers(
        parts, sizes, frame["kind"].value_counts(), levels, comparisons, m, u, counts
    )


def _full_name_strangers(
    parts: list[tuple[int, str]],
    sizes: Callable[[list[str]], pd.Series],
    kinds: pd.Series,
    levels: np.ndarray,
    comparisons: tuple[Comparison, ...],
    m: list[np.ndarray],
    u: list[np.ndarray],
    counts: np.ndarray | None,
) -> pd.Series | None:
    """`_full_name_tf` on the counts however made: `sizes(columns)` the records per
    (kind, *columns) held more than once, `kinds` the records per kind."""
    if not parts:
        return None
    ks = [k for k, _ in parts]
    exact = np.ones(levels.shape[0], dtype=bool)
    for k in ks:
        exact &= levels[:, k] == len(comparisons[k].levels) - 1
    if not exact.any():
        return None
    by_parts = sizes([col for _, col in parts])
    names = [_SEPARATOR.join(str(p) for p in key) for key in by_parts.index.droplevel("kind")]
    n_v = pd.Series(
        by_parts.to_numpy(),
        index=pd.MultiIndex.from_arrays(
            [by_parts.index.get_level_values("kind"), names], names=["kind", "name"]
        ),
    )
    sharing = float((n_v * (n_v - 1) / 2).sum())
    if sharing <= 0:
        return None
    held = np.array(
        [c.role in (Role.NAME, Role.NAME_IN_IDENTIFIER) for c in comparisons], dtype=bool
    )
    rows, counts = _distinct_counts(levels, exact, counts)
    same = _same_share(rows, counts, held, m, u)
    # d, a holder's own other records: the matches among the pairs sharing a full name are
    # (nearly all) candidates, blocking brings them together; most pairs sharing a common
    # name are never compared (oversized blocks) and are strangers
    duplicates = 2.0 * same * float(counts.sum()) / float(n_v.sum())
    records = pd.Series(kinds.reindex(n_v.index.get_level_values("kind")).to_numpy(), n_v.index)
    others = (n_v - 1 - duplicates).clip(lower=0)
    # a count of a few is mostly chance (a second population from the same name lists holds
    # a few more or fewer): only what stands one standard deviation above it is kept
    strangers = (others - np.sqrt(others)) / records
    strangers = strangers[strangers > 0].droplevel("kind")
    joint: pd.Series = strangers.groupby(level=0).max()
    return joint


def _distinct_counts(
    levels: np.ndarray, rows: np.ndarray, counts: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """The distinct level rows among `levels[rows]` and how many pairs each stands for
    (each row of `levels` one pair, or `counts` of them)."""
    if counts is None:
        found, per_row, _ = distinct(levels[rows])
        return found, per_row
    found, _, inverse = distinct(levels[rows])
    summed = np.bincount(inverse, weights=counts[rows], minlength=found.shape[0])
    return found, summed
