"""Score: Fellegi-Sunter match weights with m/u estimated without labels.

u (how often a level occurs among non-matches) comes from random record pairs; m (how often
among matches) is estimated by expectation-maximisation on the candidate pairs, so a new
user needs no training data. Steward labels, when present, are held at their class during
EM and tell it how often pairs with the same comparison levels match, so m learns from
them. Exact agreement on a common value (Nagy, David, Budapest) is down-weighted by its
term frequency. Every pair keeps its per-field weights: the explanation a steward sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from identity.compare import COMPARISONS, Comparison, compare_pairs

__all__ = ["Model", "Scored", "estimate", "score"]

_EPS = 1e-6
_MAX_BITS = 16.0
_U_PSEUDO = 200.0  # prior knowledge counts as this many random pairs ...
_M_PSEUDO = 10.0  # ... and as this many matches: it only matters when data is scarce
_MIN_SESSION = 50  # candidate pairs an EM training session needs
_NAME_HELD = ("given_name", "family_name", "email_name")


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
        within ±12 bits, so no single field can outvote all the others on its own.
        """
        bits = np.log2(np.clip(self.m[k], _EPS, 1) / np.clip(self.u[k], _EPS, 1))
        if bits.size > 2:
            bits[1:] = np.maximum.accumulate(bits[1:])
        clipped: np.ndarray = np.clip(bits, -_MAX_BITS, _MAX_BITS)
        return clipped

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


def _level_counts(levels: np.ndarray, n_levels: int, w: np.ndarray | None = None) -> np.ndarray:
    present = levels >= 0
    return np.bincount(
        levels[present], weights=None if w is None else w[present], minlength=n_levels
    ).astype(np.float64)


def _n_levels(c: Comparison) -> int:
    return len(c.levels)


def _prior(c: Comparison, which: str) -> np.ndarray:
    """The comparison's prior m or u per level (uniform-ish if it declares none)."""
    given = c.m_prior if which == "m" else c.u_prior
    if len(given) == _n_levels(c):
        values = np.asarray(given, dtype=np.float64)
    elif which == "m":  # stronger agreement likelier among matches
        values = np.linspace(1, 2 ** (_n_levels(c) + 1), _n_levels(c))
    else:
        values = np.ones(_n_levels(c))
    normalised: np.ndarray = values / values.sum()
    return normalised


def _agree(
    levels: np.ndarray, names: list[str], fields: tuple[str, ...], *, all_of: bool = False
) -> np.ndarray:
    """Pairs that agree exactly on any (or all) of `fields`."""
    cols = [
        levels[:, names.index(f)] == levels[:, names.index(f)].max(initial=0)
        for f in fields
        if f in names
    ]
    if not cols:
        return np.zeros(levels.shape[0], dtype=bool)
    stacked = np.vstack(cols)
    result = np.asarray(stacked.all(axis=0) if all_of else stacked.any(axis=0), dtype=bool)
    return result


def _bits(levels: np.ndarray, m: list[np.ndarray], u: list[np.ndarray], prior: float) -> np.ndarray:
    bits = np.full(levels.shape[0], np.log2(prior / (1 - prior)))
    for k in range(len(m)):
        present = levels[:, k] >= 0
        w = np.log2(np.clip(m[k], _EPS, 1) / np.clip(u[k], _EPS, 1))
        bits[present] += w[levels[present, k]]
    return bits


def _posterior(
    levels: np.ndarray,
    m: list[np.ndarray],
    u: list[np.ndarray],
    prior: float,
    fixed: np.ndarray,
    evidence: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """E-step: each pair's match probability; steward-labelled pairs keep their label.

    With `evidence` (labelled pairs with the pair's levels, matches among them) the model's
    probability is blended with the labels' match share, the model counting _LABEL_PSEUDO.
    """
    p: np.ndarray = 1.0 / (1.0 + np.exp2(-np.clip(_bits(levels, m, u, prior), -60, 60)))
    if evidence is not None:
        seen, matched = evidence
        p = (matched + _LABEL_PSEUDO * p) / (seen + _LABEL_PSEUDO)
    known = ~np.isnan(fixed)
    p[known] = fixed[known]
    return p


def _em(
    levels: np.ndarray,
    comparisons: tuple[Comparison, ...],
    m: list[np.ndarray],
    u: list[np.ndarray],
    fixed: np.ndarray,
    max_iterations: int,
    evidence: tuple[np.ndarray, np.ndarray] | None = None,
    counts: np.ndarray | None = None,
) -> tuple[list[np.ndarray], float, int]:
    """Expectation-maximisation of m (u held): returns m, the match share and iterations.

    With `counts`, each row of `levels` stands for that many pairs (`_distinct`).
    """
    prior = 0.2
    iteration = 0
    total = float(levels.shape[0] if counts is None else counts.sum())
    for iteration in range(1, max_iterations + 1):  # noqa: B007
        p = _posterior(levels, m, u, prior, fixed, evidence)
        pw = p if counts is None else p * counts
        new_m = []
        for k, c in enumerate(comparisons):
            level_counts = _level_counts(levels[:, k], _n_levels(c), pw)
            level_counts += _M_PSEUDO * _prior(c, "m")
            new_m.append(level_counts / level_counts.sum())
        new_prior = float(np.clip(pw.sum() / total, 1e-4, 0.9999)) if p.size else prior
        delta = max(float(np.abs(a - b).max()) for a, b in zip(new_m, m, strict=True))
        m, prior = new_m, new_prior
        if delta < 1e-4:
            break
    return m, prior, iteration


def _distinct(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct rows of `levels`, how many pairs each stands for, and each pair's row.

    A million candidate pairs hold a few thousand level combinations: EM over those,
    weighted by their counts, is the same EM at a fraction of the cost.
    """
    if levels.shape[0] == 0:
        return levels, np.zeros(0), np.zeros(0, dtype=np.int64)
    width = (int(levels.max()) + 1).bit_length()
    if width * levels.shape[1] > 62:
        rows, inverse, counts = np.unique(levels, axis=0, return_inverse=True, return_counts=True)
        return rows, counts.astype(np.float64), inverse.ravel()
    key = np.zeros(levels.shape[0], dtype=np.int64)
    for k in range(levels.shape[1]):  # one column at a time: no int64 copy of the matrix
        key |= (levels[:, k].astype(np.int64) + 1) << (width * k)
    _, first, inverse, counts = np.unique(
        key, return_index=True, return_inverse=True, return_counts=True
    )
    return levels[first], counts.astype(np.float64), inverse.ravel()


_LABEL_PSEUDO = 2.0  # the model's own probability counts as this many labelled pairs


def _label_evidence(levels: np.ndarray, fixed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate pair: labelled pairs with the same levels, and how many were matches.

    Stewards label the pairs the model is least sure of, so the labelled pairs are no
    sample of all matches (or non-matches): m or u counted from them would be biased. What
    they do tell, without bias, is how often a pair *with these levels* is a match. EM uses
    that for every candidate pair sharing the levels of a labelled one, and so learns m
    from the unlabelled pairs the labels speak for.
    """
    _, config = np.unique(levels, axis=0, return_inverse=True)
    config = config.ravel()
    known = ~np.isnan(fixed)
    size = int(config.max()) + 1
    seen = np.bincount(config[known], minlength=size).astype(np.float64)
    matched = np.bincount(config[known], weights=fixed[known], minlength=size)
    return seen[config], matched[config]


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
    labels: Sequence[tuple[int, bool]] = (),
    random_pairs: int = 300_000,
    max_iterations: int = 40,
    seed: int = 7,
) -> Model:
    """Estimate u from random pairs and m by EM on the candidate pairs' levels.

    `labels` are (candidate pair index, is_match) from stewards: held at their known class
    during EM, and spread to the unlabelled pairs with the same levels (`_label_evidence`),
    so m learns what the stewards decided. u still comes from random pairs only (labelled
    non-matches are hard cases, not random ones), and the prior from the model's estimate.
    """
    rl, rr = _random_pairs(frame, min(random_pairs, max(len(frame) ** 2 // 2, 1)), seed)
    random_levels = compare_pairs(frame, rl, rr, comparisons)
    u = []
    m = []
    for k, c in enumerate(comparisons):
        counts = _level_counts(random_levels[:, k], _n_levels(c)) + _U_PSEUDO * _prior(c, "u")
        u.append(counts / counts.sum())
        m.append(_prior(c, "m"))
    fixed = np.full(levels.shape[0], np.nan)
    for index, is_match in labels:
        fixed[index] = 1.0 if is_match else 0.0
    known = ~np.isnan(fixed)
    evidence = _label_evidence(levels, fixed) if known.any() else None
    names = [c.name for c in comparisons]
    # Training sessions, as Splink does: EM on all candidate pairs would learn "has the same
    # name" (common names dominate name-blocked pairs). Instead each field's m comes from a
    # session whose pairs were chosen by *other* fields, so it cannot learn its own bias.
    same_name = _agree(levels, names, ("given_name", "family_name"), all_of=True)
    corroborated = same_name & _agree(levels, names, ("birth_date", "street", "postal_code"))
    sessions = [
        (
            _agree(levels, names, ("email", "phone", "tax_id")),
            ("email", "phone", "tax_id", "email_name"),
        ),
        # Same name *and* same birth date or address: nearly all matches, so EM's match class
        # is the person and not "people called David Cohen" (whose e-mails and phones differ).
        # Data without birth dates or addresses falls back on the same name alone.
        (
            (corroborated, (*_NAME_HELD, "birth_date", "street", "postal_code"))
            if corroborated.sum() >= _MIN_SESSION
            else (same_name, _NAME_HELD)
        ),
    ]
    learned: list[list[np.ndarray]] = [[] for _ in comparisons]
    iteration = 0
    for mask, held in sessions:
        if mask.sum() < _MIN_SESSION:
            continue
        sub = levels[mask].copy()
        for name in held:
            if name in names:
                sub[:, names.index(name)] = -1
        if evidence is None:  # no labels: EM over the distinct level combinations
            rows, counts, _ = _distinct(sub)
            nothing_fixed = np.full(rows.shape[0], np.nan)
            m_s, _, its = _em(rows, comparisons, m, u, nothing_fixed, max_iterations, None, counts)
        else:
            ev = (evidence[0][mask], evidence[1][mask])
            m_s, _, its = _em(sub, comparisons, m, u, fixed[mask], max_iterations, ev)
        iteration = max(iteration, its)
        for k, name in enumerate(names):
            if name not in held:
                learned[k].append(m_s[k])
    if not any(learned):  # too little data for sessions: one EM over all candidate pairs
        m_all, _, iteration = _em(levels, comparisons, m, u, fixed, max_iterations, evidence)
        learned = [[mk] for mk in m_all]
    m = [np.mean(found, axis=0) if found else m[k] for k, found in enumerate(learned)]
    tf = {}
    for c in comparisons:
        if c.tf_column:
            values = frame[c.tf_column].dropna()
            if len(values):
                tf[c.name] = values.value_counts(normalize=True)
    kinds = frame["kind"].value_counts()
    all_pairs = float((kinds * (kinds - 1) / 2).sum()) or 1.0
    global_prior, expected = _global_prior(levels, m, u, fixed, all_pairs)
    share = expected / levels.shape[0] if levels.shape[0] else 0.0
    return Model(comparisons, m, u, global_prior, iteration, tf=tf, prior_candidates=share)


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
        rows, counts, _ = _distinct(levels)
        labels = np.full(rows.shape[0], np.nan)
    evidence = _bits(rows, m, u, 0.5)  # each row's log-likelihood ratio
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
    for k, c in enumerate(model.comparisons):
        present = levels[:, k] >= 0
        weights[present, k] = model.weights(k)[levels[present, k]]
        freq = model.tf.get(c.name)
        if freq is not None and c.tf_column:
            exact = np.flatnonzero(levels[:, k] == _n_levels(c) - 1)
            if exact.size:
                values = frame[c.tf_column].to_numpy(dtype=object)[left[exact]]
                term = pd.Series(values).map(freq).to_numpy(dtype=np.float64)
                u_exact = model.u[k][-1]
                adjust = np.log2(np.clip(u_exact, _EPS, 1) / np.clip(term, _EPS, 1))
                weights[exact, k] += np.clip(np.nan_to_num(adjust), -8, 8).astype(np.float32)
    total = weights.sum(axis=1, dtype=np.float64) + model.prior_bits
    probability = 1.0 / (1.0 + np.exp2(-np.clip(total, -60, 60)))
    return Scored(left, right, levels, weights, total, probability)
