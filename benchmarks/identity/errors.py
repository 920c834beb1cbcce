"""Error analysis of one resolver run: which true pairs are missed and which false ones made, why.

Runs the engine in process on a data set with ground truth and sorts every pairwise error:

* a **missed** true pair (false negative) is one of
  - ``never a candidate, unreachable``: no chain of truly matching candidate pairs joins the two
    records (blocking never proposed a path; not even the oracle links them),
  - ``never a candidate, reachable``: such a chain exists but the clustering did not follow it,
  - ``scored below upper``: a candidate pair whose probability did not reach the merge threshold,
  - ``cut``: a candidate pair at or above the threshold whose link the conflict cut removed;
* a **false** pair (false positive) is a candidate at or above the threshold (``direct``) or
  joined only through other members (``transitive``).

Candidate pairs are described by their agreement pattern, one character per comparison
(``.`` missing, ``0`` different, ``=`` the strongest level, else the level number), in the
order of ``identity.compare.COMPARISONS``. Non-candidate true pairs are compared too, so their
pattern shows what blocking could have keyed on.

    python -m benchmarks.identity.errors --input records.jsonl.gz --truth truth.csv [--top 25]
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.identity.quality import read_dataset

__all__ = ["ErrorReport", "analyse", "pattern"]


def pattern(levels: np.ndarray, top: Sequence[int]) -> str:
    """One character per comparison: '.' missing, '0' different, '=' strongest, else the level."""
    out = []
    for level, best in zip(levels.tolist(), top, strict=True):
        out.append("." if level < 0 else "=" if level == best else str(level))
    return "".join(out)


@dataclass(frozen=True, kw_only=True)
class ErrorReport:
    """Counts of missed and false pairs per cause and per agreement pattern."""

    header: str
    missed: Counter[str]
    missed_patterns: dict[str, Counter[str]]
    false: Counter[str]
    false_patterns: dict[str, Counter[str]]
    examples: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]]

    def lines(self, top: int = 20) -> list[str]:
        out = [self.header, "missed true pairs by cause:"]
        for cause, count in self.missed.most_common():
            out.append(f"  {count:>8,}  {cause}")
            for pat, n in self.missed_patterns.get(cause, Counter()).most_common(top):
                out.append(f"      {n:>7,}  {pat}")
        out.append("false pairs by cause:")
        for cause, count in self.false.most_common():
            out.append(f"  {count:>8,}  {cause}")
            for pat, n in self.false_patterns.get(cause, Counter()).most_common(top):
                out.append(f"      {n:>7,}  {pat}")
        for cause, pairs in self.examples.items():
            out.append(f"examples: {cause}")
            for a, b in pairs:
                out.append(f"    {_short(a)}\n    {_short(b)}\n")
        return out


_SHOWN = ("source", "given", "family", "org", "email", "phone", "birth_date", "postal_code")


def _short(row: Mapping[str, Any]) -> str:
    return " | ".join(f"{k}={row.get(k)}" for k in _SHOWN if row.get(k) is not None)


def analyse(
    records: Sequence[Mapping[str, Any]], entity: Sequence[str], *, examples: int = 5
) -> ErrorReport:
    """Run the engine on `records` and sort its pairwise errors against the true `entity`."""
    from identity.cluster import components
    from identity.compare import COMPARISONS, compare_pairs
    from identity.resolve import resolve

    result = resolve(records, build_golden=False)
    n = len(records)
    _, truth = np.unique(np.asarray(list(entity), dtype=object), return_inverse=True)
    labels = result.labels
    s = result.scored
    upper = 0.95
    names = [c.name for c in COMPARISONS]
    top = [len(c.levels) - 1 for c in COMPARISONS]
    true_cand = truth[s.left] == truth[s.right]
    reach = components(n, s.left[true_cand], s.right[true_cand])
    pair_at = {int(a) * n + int(b): i for i, (a, b) in enumerate(zip(s.left, s.right, strict=True))}
    frame = result.frame

    # every true pair (entities are small), then those the clustering split
    order = np.argsort(truth, kind="stable")
    starts = np.flatnonzero(np.r_[True, truth[order][1:] != truth[order][:-1]])
    ends = np.r_[starts[1:], n]
    tl: list[int] = []
    tr: list[int] = []
    for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
        members = sorted(order[lo:hi].tolist())
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                tl.append(a)
                tr.append(b)
    left, right = np.asarray(tl, dtype=np.int64), np.asarray(tr, dtype=np.int64)
    split = labels[left] != labels[right]
    left, right = left[split], right[split]
    direct = compare_pairs(frame, left, right)
    missed: Counter[str] = Counter()
    missed_patterns: dict[str, Counter[str]] = {}
    shown: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    cut = {(a, b) for a, b, _ in result.clustering.cut_edges}
    rows = frame.to_dict("records")
    for k, (a, b) in enumerate(zip(left.tolist(), right.tolist(), strict=True)):
        i = pair_at.get(a * n + b)
        if i is None:
            cause = (
                "never a candidate, reachable"
                if reach[a] == reach[b]
                else "never a candidate, unreachable"
            )
        elif s.probability[i] >= upper:
            cause = "cut" if (a, b) in cut else "linked but cut elsewhere"
        else:
            cause = "scored below upper"
        missed[cause] += 1
        pat = pattern(direct[k], top)
        missed_patterns.setdefault(cause, Counter())[pat] += 1
        if len(shown.setdefault(f"missed, {cause}", [])) < examples:
            shown[f"missed, {cause}"].append((rows[a], rows[b]))

    linked = labels[s.left] == labels[s.right]
    false: Counter[str] = Counter()
    false_patterns: dict[str, Counter[str]] = {}
    wrong = linked & ~true_cand
    for i in np.flatnonzero(wrong).tolist():
        cause = "direct" if s.probability[i] >= upper else "transitive (candidate below upper)"
        false[cause] += 1
        false_patterns.setdefault(cause, Counter())[pattern(s.levels[i], top)] += 1
        if len(shown.setdefault(f"false, {cause}", [])) < examples:
            shown[f"false, {cause}"].append((rows[int(s.left[i])], rows[int(s.right[i])]))
    # false pairs that are not candidates at all: only through other members
    sizes = np.bincount(labels, minlength=n).astype(np.int64)
    predicted = int((sizes * (sizes - 1) // 2).sum())
    joint = labels.astype(np.int64) * (int(truth.max()) + 1) + truth
    cells = np.unique(joint, return_counts=True)[1].astype(np.int64)
    tp = int((cells * (cells - 1) // 2).sum())
    uncandidated = predicted - tp - int(wrong.sum())
    if uncandidated:
        false["never a candidate (through other members)"] = uncandidated
    header = "comparisons: " + " ".join(f"{i}:{name}" for i, name in enumerate(names))
    return ErrorReport(
        header=header,
        missed=missed,
        missed_patterns=missed_patterns,
        false=false,
        false_patterns=false_patterns,
        examples=shown,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: the error report of one data set."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--truth", type=Path, required=True)
    parser.add_argument("--top", type=int, default=20, help="patterns shown per cause")
    parser.add_argument("--examples", type=int, default=5, help="record pairs shown per cause")
    args = parser.parse_args(argv)
    records, entity = read_dataset(args.input, args.truth)
    print("\n".join(analyse(records, entity, examples=args.examples).lines(args.top)))


if __name__ == "__main__":
    main()
