"""Training: m learned by expectation-maximisation in sessions chosen by comparison roles.

EM on all candidate pairs would learn "has the same name" (common names dominate
name-blocked pairs). Instead, as Splink does, each comparison's m comes from training
sessions whose pairs were chosen by *other* comparisons, so it cannot learn its own bias.
Which comparisons choose a session's pairs and which it holds out follows from each
comparison's declared `Role`, never from its name: a renamed or added comparison of a known
role trains the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from identity.levels import Comparison, Role

__all__ = [
    "EPS",
    "SESSIONS",
    "U_EPS",
    "Session",
    "bits",
    "chosen_sessions",
    "distinct",
    "em",
    "label_evidence",
    "learn_m",
    "level_counts",
    "level_prior",
]

EPS = 1e-6
U_EPS = 1e-13  # u of exact agreement on a near-unique identifier can be this small (1M records)
M_PSEUDO = 10.0  # prior knowledge of m counts as this many matches: only matters when scarce
MIN_SESSION = 50  # candidate pairs an EM training session needs
LABEL_PSEUDO = 2.0  # the model's own probability counts as this many labelled pairs


@dataclass(frozen=True, kw_only=True)
class Session:
    """One EM training session: the candidate pairs that agree exactly on every comparison
    of the `all_of` roles and on at least one of the `any_of` roles; the comparisons of the
    `held` roles (those the choice biases) are held out and not learned from it."""

    name: str
    all_of: tuple[Role, ...] = ()
    any_of: tuple[Role, ...] = ()
    held: tuple[Role, ...] = ()
    fallback: Session | None = None  # used instead when this one chooses too few pairs


SESSIONS: tuple[Session, ...] = (
    Session(
        name="shared identifier",
        any_of=(Role.IDENTIFIER,),
        held=(Role.IDENTIFIER, Role.NAME_IN_IDENTIFIER),
    ),
    # Same name *and* same birth date or address: nearly all matches, so EM's match class is
    # the person and not "people called David Cohen" (whose e-mails and phones differ). Data
    # without birth dates or addresses falls back on the same name alone.
    Session(
        name="same name, corroborated",
        all_of=(Role.NAME,),
        any_of=(Role.CORROBORATING,),
        held=(Role.NAME, Role.NAME_IN_IDENTIFIER, Role.CORROBORATING),
        fallback=Session(
            name="same name",
            all_of=(Role.NAME,),
            held=(Role.NAME, Role.NAME_IN_IDENTIFIER),
        ),
    ),
)


def _agree(
    levels: np.ndarray,
    comparisons: tuple[Comparison, ...],
    roles: tuple[Role, ...],
    *,
    all_of: bool = False,
) -> np.ndarray:
    """Pairs that agree exactly (the strongest level seen) on any (or all) comparisons of
    `roles`; none when no comparison has one of them."""
    cols = [
        levels[:, k] == levels[:, k].max(initial=0)
        for k, c in enumerate(comparisons)
        if c.role in roles
    ]
    if not cols:
        return np.zeros(levels.shape[0], dtype=bool)
    stacked = np.vstack(cols)
    result = np.asarray(stacked.all(axis=0) if all_of else stacked.any(axis=0), dtype=bool)
    return result


def _choose(
    levels: np.ndarray, comparisons: tuple[Comparison, ...], session: Session
) -> tuple[np.ndarray, np.ndarray]:
    mask = np.ones(levels.shape[0], dtype=bool)
    if session.all_of:
        mask &= _agree(levels, comparisons, session.all_of, all_of=True)
    if session.any_of:
        mask &= _agree(levels, comparisons, session.any_of)
    if mask.sum() < MIN_SESSION and session.fallback is not None:
        return _choose(levels, comparisons, session.fallback)
    held = np.array([c.role in session.held for c in comparisons], dtype=bool)
    return mask, held


def chosen_sessions(
    levels: np.ndarray, comparisons: tuple[Comparison, ...], sessions: tuple[Session, ...]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per session with enough pairs: which candidate pairs it trains on (a mask over the
    rows of `levels`) and which comparisons it holds out (a mask over `comparisons`)."""
    chosen = [_choose(levels, comparisons, s) for s in sessions]
    return [(mask, held) for mask, held in chosen if mask.sum() >= MIN_SESSION]


def level_counts(levels: np.ndarray, n_levels: int, w: np.ndarray | None = None) -> np.ndarray:
    """How often each level 0..n_levels-1 occurs (weighted by `w`), missing left out."""
    present = levels >= 0
    return np.bincount(
        levels[present], weights=None if w is None else w[present], minlength=n_levels
    ).astype(np.float64)


def level_prior(c: Comparison, which: str) -> np.ndarray:
    """The comparison's prior m or u per level (uniform-ish if it declares none)."""
    n_levels = len(c.levels)
    given = c.m_prior if which == "m" else c.u_prior
    if len(given) == n_levels:
        values = np.asarray(given, dtype=np.float64)
    elif which == "m":  # stronger agreement likelier among matches
        values = np.linspace(1, 2 ** (n_levels + 1), n_levels)
    else:
        values = np.ones(n_levels)
    normalised: np.ndarray = values / values.sum()
    return normalised


def bits(levels: np.ndarray, m: list[np.ndarray], u: list[np.ndarray], prior: float) -> np.ndarray:
    """Each pair's total match weight in bits (the prior's log-odds included)."""
    total = np.full(levels.shape[0], np.log2(prior / (1 - prior)))
    for k in range(len(m)):
        present = levels[:, k] >= 0
        w = np.log2(np.clip(m[k], EPS, 1) / np.clip(u[k], U_EPS, 1))
        total[present] += w[levels[present, k]]
    return total


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
    probability is blended with the labels' match share, the model counting LABEL_PSEUDO.
    """
    p: np.ndarray = 1.0 / (1.0 + np.exp2(-np.clip(bits(levels, m, u, prior), -60, 60)))
    if evidence is not None:
        seen, matched = evidence
        p = (matched + LABEL_PSEUDO * p) / (seen + LABEL_PSEUDO)
    known = ~np.isnan(fixed)
    p[known] = fixed[known]
    return p


def em(
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

    With `counts`, each row of `levels` stands for that many pairs (`distinct`).
    """
    prior = 0.2
    iteration = 0
    total = float(levels.shape[0] if counts is None else counts.sum())
    for iteration in range(1, max_iterations + 1):  # noqa: B007
        p = _posterior(levels, m, u, prior, fixed, evidence)
        pw = p if counts is None else p * counts
        new_m = []
        for k, c in enumerate(comparisons):
            counted = level_counts(levels[:, k], len(c.levels), pw)
            counted += M_PSEUDO * level_prior(c, "m")
            new_m.append(counted / counted.sum())
        new_prior = float(np.clip(pw.sum() / total, 1e-4, 0.9999)) if p.size else prior
        delta = max(float(np.abs(a - b).max()) for a, b in zip(new_m, m, strict=True))
        m, prior = new_m, new_prior
        if delta < 1e-4:
            break
    return m, prior, iteration


def distinct(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def label_evidence(levels: np.ndarray, fixed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def learn_m(
    levels: np.ndarray,
    comparisons: tuple[Comparison, ...],
    sessions: tuple[Session, ...],
    *,
    m: list[np.ndarray],
    u: list[np.ndarray],
    fixed: np.ndarray,
    max_iterations: int,
) -> tuple[list[np.ndarray], int]:
    """m per comparison, averaged over the sessions that did not hold it out, and the most
    EM iterations any session took. `fixed` holds steward labels (1 / 0, NaN unlabelled).
    With too little data for any session: one EM over all candidate pairs."""
    known = ~np.isnan(fixed)
    evidence = label_evidence(levels, fixed) if known.any() else None
    learned: list[list[np.ndarray]] = [[] for _ in comparisons]
    iteration = 0
    for mask, held in chosen_sessions(levels, comparisons, sessions):
        sub = levels[mask].copy()
        sub[:, held] = -1
        if evidence is None:  # no labels: EM over the distinct level combinations
            rows, counts, _ = distinct(sub)
            nothing_fixed = np.full(rows.shape[0], np.nan)
            m_s, _, its = em(rows, comparisons, m, u, nothing_fixed, max_iterations, None, counts)
        else:
            ev = (evidence[0][mask], evidence[1][mask])
            m_s, _, its = em(sub, comparisons, m, u, fixed[mask], max_iterations, ev)
        iteration = max(iteration, its)
        for k in np.flatnonzero(~held).tolist():
            learned[k].append(m_s[k])
    if not any(learned):
        m_all, _, iteration = em(levels, comparisons, m, u, fixed, max_iterations, evidence)
        learned = [[mk] for mk in m_all]
    return [np.mean(found, axis=0) if found else m[k] for k, found in enumerate(learned)], iteration
