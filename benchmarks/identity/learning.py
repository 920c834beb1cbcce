"""Learning from steward decisions: held-out accuracy after N labelled review pairs.

    python -m benchmarks.identity.learning --entities 20000 --labels 0,50,200,1000

The generated CRM data's true entities are split in two, deterministically by seed: a
*labelling* half and a *held-out* half. An unsupervised run gives the review queue; a simulated
steward answers the first N pairs of it whose two records both belong to the labelling half
(most uncertain first: probability closest to 0.5, ties by the larger combined cluster size),
with the truth: same entity → must-link, different entities → cannot-link. Each N is resolved
again with those decisions, and scored on the held-out records only (pairs whose two records
both belong to held-out entities). The held-out half gets no labels, so a change there comes
from what the model learnt, not from the decisions being copied into the clusters.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from benchmarks.identity import TruthRow, crm_generator, crm_webshop
from benchmarks.identity.evaluate import Scores, scores_from_labels
from identity import active
from identity.backends.local import conflicting
from identity.cluster import cluster
from identity.resolve import Key, Resolution, Settings, resolve

__all__ = [
    "DATASETS",
    "ORDERS",
    "Ceilings",
    "Curve",
    "Decision",
    "Point",
    "Split",
    "active_questions",
    "ceilings",
    "held_out_scores",
    "learning_curve",
    "main",
    "split_entities",
    "steward_queue",
]


@dataclass(frozen=True, kw_only=True)
class Split:
    """True entities in two disjoint halves: one a steward may label, one held out."""

    labelling: frozenset[str]
    held_out: frozenset[str]


@dataclass(frozen=True, kw_only=True)
class Decision:
    """One simulated steward answer on a review pair."""

    left: Key
    right: Key
    is_match: bool
    probability: float  # in the unsupervised run


@dataclass(frozen=True, kw_only=True)
class Point:
    """Held-out accuracy after `labels` steward decisions."""

    labels: int
    must_link: int
    cannot_link: int
    in_model: int  # decisions on blocked candidate pairs: the ones estimate() learns from
    precision: float
    recall: float
    f1: float
    fp: int
    fn: int
    seconds: float
    review_pairs: int


@dataclass(frozen=True, kw_only=True)
class Curve:
    """A learning curve and what it was measured on."""

    entities: int
    records: int
    held_out_records: int
    held_out_true_pairs: int
    labelling_queue: int  # review pairs with both records in the labelling half
    seed: int
    order: str  # which pairs the steward was asked: "uncertain" or "active"
    points: tuple[Point, ...]


def _crm(entities: int, seed: int) -> tuple[list[dict[str, Any]], list[TruthRow]]:
    data = crm_generator.generate_data(entities, seed)
    return list(data.records), list(data.truth)


def _webshop(entities: int, seed: int) -> tuple[list[dict[str, Any]], list[TruthRow]]:
    data = crm_webshop.generate(entities, seed)
    return data.records, data.truth


ORDERS = ("uncertain", "active")  # which pairs the simulated steward is asked

# The data sets the benchmark runs on: name -> (entities, seed) -> (records, truth)
DATASETS: dict[str, Callable[[int, int], tuple[list[dict[str, Any]], list[TruthRow]]]] = {
    "crm": _crm,
    "webshop": _webshop,
}


def split_entities(entity_ids: Sequence[str], seed: int) -> Split:
    """Halve the distinct entities at random (deterministic in `seed`, not in input order)."""
    unique = np.array(sorted(set(entity_ids)), dtype=object)
    order = np.random.default_rng(seed).permutation(unique.size)
    half = unique.size // 2
    return Split(
        labelling=frozenset(str(e) for e in unique[order[:half]]),
        held_out=frozenset(str(e) for e in unique[order[half:]]),
    )


def held_out_scores(
    resolution: Resolution, entity_of: Mapping[Key, str], held_out: frozenset[str]
) -> Scores:
    """Pairwise scores over the records of held-out entities only."""
    keep = [i for i, k in enumerate(resolution.keys) if entity_of[k] in held_out]
    predicted = resolution.labels[np.asarray(keep, dtype=np.int64)]
    truth = [entity_of[resolution.keys[i]] for i in keep]
    return scores_from_labels(predicted, truth)


def steward_queue(
    resolution: Resolution, entity_of: Mapping[Key, str], labelling: frozenset[str]
) -> list[Decision]:
    """The labelling half's review pairs, most uncertain first, answered with the truth."""
    index = {k: i for i, k in enumerate(resolution.keys)}
    sizes = np.bincount(resolution.labels, minlength=len(resolution.keys))
    ranked: list[tuple[float, int, Decision]] = []
    for pair in resolution.review_pairs():
        left, right = tuple(pair["left"]), tuple(pair["right"])
        if entity_of[left] not in labelling or entity_of[right] not in labelling:
            continue
        p = float(pair["probability"])
        size = int(sizes[resolution.labels[index[left]]] + sizes[resolution.labels[index[right]]])
        decision = Decision(
            left=left, right=right, is_match=entity_of[left] == entity_of[right], probability=p
        )
        ranked.append((abs(p - 0.5), -size, decision))
    ranked.sort(key=lambda r: (r[0], r[1], r[2].left, r[2].right))
    return [d for _, _, d in ranked]


def _in_model(resolution: Resolution, decisions: Sequence[Decision]) -> int:
    """How many decisions fall on blocked candidate pairs (estimate() sees only those)."""
    index = {k: i for i, k in enumerate(resolution.keys)}
    n = len(resolution.keys)
    blocked = resolution.stats["candidate_pairs"]
    codes = set(
        (
            resolution.scored.left[:blocked].astype(np.int64) * n
            + resolution.scored.right[:blocked]
        ).tolist()
    )
    found = 0
    for d in decisions:
        a, b = sorted((index[d.left], index[d.right]))
        found += a * n + b in codes
    return found


def active_questions(
    resolution: Resolution,
    entity_of: Mapping[Key, str],
    labelling: frozenset[str],
    asked: Sequence[Decision],
    count: int,
) -> list[Decision]:
    """The next `count` pairs to ask (`identity.active`): blocked candidate pairs of the
    labelling half not asked yet, the most informative first, answered with the truth."""
    n = len(resolution.keys)
    blocked = resolution.stats["candidate_pairs"]
    scored = resolution.scored
    left = scored.left[:blocked].astype(np.int64)
    right = scored.right[:blocked].astype(np.int64)
    entity = np.array([entity_of[k] for k in resolution.keys], dtype=object)
    in_half = np.array([e in labelling for e in entity], dtype=bool)
    index = {k: i for i, k in enumerate(resolution.keys)}
    code = np.minimum(left, right) * n + np.maximum(left, right)
    answers = np.full(blocked, np.nan)
    if asked:
        told = {
            min(index[d.left], index[d.right]) * n + max(index[d.left], index[d.right]): d
            for d in asked
        }
        hit = np.flatnonzero(np.isin(code, np.fromiter(told, dtype=np.int64)))
        answers[hit] = [1.0 if told[int(code[i])].is_match else 0.0 for i in hit]
    weights = scored.weights[:blocked].astype(np.float64)
    weights[scored.levels[:blocked] < 0] = np.nan
    picks = active.select(
        scored.probability[:blocked],
        active.cells(weights),
        count,
        answers,
        eligible=in_half[left] & in_half[right],
    )
    return [
        Decision(
            left=resolution.keys[int(left[i])],
            right=resolution.keys[int(right[i])],
            is_match=bool(entity[left[i]] == entity[right[i]]),
            probability=float(scored.probability[i]),
        )
        for i in picks
    ]


def _resolved(
    records: Sequence[Mapping[str, Any]],
    settings: Settings | None,
    decisions: Sequence[Decision],
) -> tuple[Resolution, float]:
    started = time.perf_counter()
    run = resolve(
        records,
        settings,
        build_golden=False,
        must_link=[(d.left, d.right) for d in decisions if d.is_match],
        cannot_link=[(d.left, d.right) for d in decisions if not d.is_match],
    )
    return run, time.perf_counter() - started


@dataclass(frozen=True, kw_only=True)
class Ceilings:
    """Held-out F1 that steward decisions cannot pass, each measured on the unsupervised run
    with the truth put in where the decisions could act (the same thresholds and clustering).
    """

    unsupervised: float
    # every blocked candidate pair of the labelling half answered: all EM could learn
    every_labelling_pair: float
    # every review pair of the held-out half itself answered correctly (as constraints)
    held_out_review_answered: float
    # every candidate pair scored with the true match share of its cell (comparison levels x
    # term-frequency band, `identity.active.cells`): the best any learner of per-cell odds
    cell_calibrated: float
    # every candidate pair's truth known: what blocking and clustering allow at all
    every_pair_known: float


def ceilings(
    records: Sequence[Mapping[str, Any]],
    truth: Sequence[TruthRow],
    *,
    seed: int = 1,
    settings: Settings | None = None,
) -> Ceilings:
    """How far decisions could move the held-out half at most (see `Ceilings`)."""
    settings = settings or Settings()
    entity_of: dict[Key, str] = {(t.source, t.source_id): t.entity_id for t in truth}
    split = split_entities([t.entity_id for t in truth], seed)
    base, _ = _resolved(records, settings, ())
    scored, n = base.scored, len(base.keys)
    entity = np.array([entity_of[k] for k in base.keys], dtype=object)
    same = entity[scored.left] == entity[scored.right]
    against = conflicting(scored, base.model, settings.conflict_bits)

    def held_f1(
        probability: np.ndarray,
        *,
        against_: np.ndarray = against,
        must: Sequence[tuple[int, int]] = (),
        cannot: Sequence[tuple[int, int]] = (),
    ) -> float:
        clustering = cluster(
            n,
            scored.left,
            scored.right,
            probability,
            upper=settings.upper,
            lower=settings.lower,
            must_link=must,
            cannot_link=cannot,
            against=against_,
        )
        run = replace(base, labels=clustering.labels)
        return held_out_scores(run, entity_of, split.held_out).f1

    in_half = np.array([e in split.labelling for e in entity], dtype=bool)
    blocked = base.stats["candidate_pairs"]
    bl, br = scored.left[:blocked], scored.right[:blocked]
    labelling = np.flatnonzero(in_half[bl] & in_half[br])
    everything = [
        Decision(
            left=base.keys[int(bl[i])],
            right=base.keys[int(br[i])],
            is_match=bool(same[i]),
            probability=float(scored.probability[i]),
        )
        for i in labelling
    ]
    taught, _ = _resolved(records, settings, everything)
    review = base.clustering.review
    held_review = review[~in_half[scored.left[review]] & ~in_half[scored.right[review]]]
    pairs = [(int(scored.left[i]), int(scored.right[i])) for i in held_review]
    weights = scored.weights.astype(np.float64)
    weights[scored.levels < 0] = np.nan
    cell = active.cells(weights)
    share = np.bincount(cell, weights=same) / np.bincount(cell)
    return Ceilings(
        unsupervised=held_out_scores(base, entity_of, split.held_out).f1,
        every_labelling_pair=held_out_scores(taught, entity_of, split.held_out).f1,
        held_out_review_answered=held_f1(
            scored.probability,
            must=[p for p, i in zip(pairs, held_review, strict=True) if same[i]],
            cannot=[p for p, i in zip(pairs, held_review, strict=True) if not same[i]],
        ),
        cell_calibrated=held_f1(share[cell]),
        every_pair_known=held_f1(same.astype(np.float64), against_=~same),
    )


def learning_curve(
    records: Sequence[Mapping[str, Any]],
    truth: Sequence[TruthRow],
    label_counts: Sequence[int],
    *,
    seed: int = 1,
    settings: Settings | None = None,
    order: str = "uncertain",
    batch: int = 50,
) -> Curve:
    """Held-out pairwise scores for each number of steward decisions in `label_counts`.

    `order` "uncertain": the unsupervised run's review queue, most uncertain first (a count
    past its end labels the whole queue, measured once). "active": `batch` questions at a
    time chosen by `identity.active` among all blocked candidate pairs of the labelling
    half, the model re-estimated with the answers after each batch (so the next batch is
    chosen by what the last one taught).
    """
    if order not in ORDERS:
        raise ValueError(f"learning_curve: order must be one of {ORDERS}, got {order!r}")
    if batch < 1:
        raise ValueError(f"learning_curve: batch must be at least 1, got {batch}")
    entity_of: dict[Key, str] = {(t.source, t.source_id): t.entity_id for t in truth}
    split = split_entities([t.entity_id for t in truth], seed)
    held_records = sum(1 for e in entity_of.values() if e in split.held_out)
    base, base_seconds = _resolved(records, settings, ())
    queue = steward_queue(base, entity_of, split.labelling)
    points: list[Point] = []
    held_true_pairs = 0
    asked: list[Decision] = []
    latest, latest_seconds = base, base_seconds
    counts = sorted({min(n, len(queue)) if order == "uncertain" else n for n in label_counts})
    for n in counts:
        if order == "uncertain":
            asked = queue[:n]
            latest, latest_seconds = (
                (base, base_seconds) if n == 0 else _resolved(records, settings, asked)
            )
        else:
            while len(asked) < n:
                new = active_questions(
                    latest, entity_of, split.labelling, asked, min(batch, n - len(asked))
                )
                if not new:  # every candidate pair of the labelling half is answered
                    break
                asked = asked + new
                latest, latest_seconds = _resolved(records, settings, asked)
        run, seconds, decisions = latest, latest_seconds, asked
        s = held_out_scores(run, entity_of, split.held_out)
        held_true_pairs = s.true_pairs
        must = sum(d.is_match for d in decisions)
        points.append(
            Point(
                labels=len(decisions),
                must_link=must,
                cannot_link=len(decisions) - must,
                in_model=_in_model(run, decisions),
                precision=s.precision,
                recall=s.recall,
                f1=s.f1,
                fp=s.fp,
                fn=s.fn,
                seconds=seconds,
                review_pairs=run.stats["review_pairs"],
            )
        )
    return Curve(
        entities=len(set(entity_of.values())),
        records=len(records),
        held_out_records=held_records,
        held_out_true_pairs=held_true_pairs,
        labelling_queue=len(queue),
        seed=seed,
        order=order,
        points=tuple(points),
    )


def _table(curve: Curve) -> Table:
    table = Table(
        title=(
            f"Held-out accuracy after N steward decisions ({curve.order} order) — "
            f"{curve.records:,} records of "
            f"{curve.entities:,} entities; held out: {curve.held_out_records:,} records, "
            f"{curve.held_out_true_pairs:,} true pairs"
        )
    )
    for name in ("N", "must", "cannot", "in model", "precision", "recall", "F1", "FP", "FN"):
        table.add_column(name, justify="right")
    table.add_column("review", justify="right")
    table.add_column("seconds", justify="right")
    for p in curve.points:
        table.add_row(
            f"{p.labels:,}",
            f"{p.must_link:,}",
            f"{p.cannot_link:,}",
            f"{p.in_model:,}",
            f"{p.precision:.4f}",
            f"{p.recall:.4f}",
            f"{p.f1:.4f}",
            f"{p.fp:,}",
            f"{p.fn:,}",
            f"{p.review_pairs:,}",
            f"{p.seconds:.1f}",
        )
    return table


def summary(curve: Curve) -> str:
    """One line: held-out F1 without labels and with the most labels."""
    first, last = curve.points[0], curve.points[-1]
    dp, dr = last.precision - first.precision, last.recall - first.recall
    return (
        f"held-out F1 {first.f1:.4f} with {first.labels:,} decisions → {last.f1:.4f} with "
        f"{last.labels:,} ({last.f1 - first.f1:+.4f}; precision {dp:+.4f}, recall {dr:+.4f}); "
        f"{curve.labelling_queue:,} review pairs were in the labelling half"
    )


def _counts(text: str) -> list[int]:
    try:
        counts = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--labels: expected e.g. 0,50,200, got {text!r}"
        ) from None
    if not counts or min(counts) < 0:
        raise argparse.ArgumentTypeError(f"--labels: non-negative counts needed, got {text!r}")
    return counts


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: generate CRM data, print the learning curve (and write it as JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dataset",
        choices=sorted(DATASETS),
        default="crm",
        help="crm: benchmarks/identity/crm_generator.py; webshop: crm_webshop.py",
    )
    parser.add_argument("--entities", type=int, default=20_000)
    parser.add_argument("--labels", type=_counts, default=[0, 50, 200, 1000])
    parser.add_argument(
        "--order",
        choices=ORDERS,
        default="uncertain",
        help="uncertain: the review queue, most uncertain first; active: identity.active's "
        "choice among all candidate pairs, re-estimated after each batch",
    )
    parser.add_argument("--batch", type=int, default=50, help="active: answers per re-estimation")
    parser.add_argument("--seed", type=int, default=1, help="generator and split seed")
    parser.add_argument(
        "--ceilings",
        action="store_true",
        help="also measure how far decisions could move the held-out half at most",
    )
    parser.add_argument("--json", type=Path, help="also write the curve here")
    args = parser.parse_args(argv)
    console = Console(width=max(Console().width, 120))
    started = time.perf_counter()
    records, truth = DATASETS[args.dataset](args.entities, args.seed)
    console.print(
        f"generated {args.dataset}: {len(records):,} records of "
        f"{len({t.entity_id for t in truth}):,} entities "
        f"in {time.perf_counter() - started:.1f}s"
    )
    curve = learning_curve(
        records, truth, args.labels, seed=args.seed, order=args.order, batch=args.batch
    )
    console.print(_table(curve))
    console.print(summary(curve))
    written: dict[str, Any] = asdict(curve)
    if args.ceilings:
        limits = ceilings(records, truth, seed=args.seed)
        written["ceilings"] = asdict(limits)
        console.print(
            "held-out F1 ceilings: "
            + "; ".join(f"{k.replace('_', ' ')} {v:.4f}" for k, v in asdict(limits).items())
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(written, indent=2) + "\n", encoding="utf-8")
        console.print(f"written {args.json}")


if __name__ == "__main__":
    main()
