"""What the generated-data benchmarks share: one analytics run on a generated population,
joined with its planted truth, and the one-line figure format."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analytics import Analysis, AnalysisSpec, analyse
from benchmarks.analytics.generator import AS_OF, Generated, generate

__all__ = ["Figure", "Run", "main", "print_figures", "run_generated"]


@dataclass(frozen=True)
class Run:
    """A generated population, the engine's analysis of it at `AS_OF`, and both per customer
    side by side (`joined`: the engine's columns plus the truth's, prefixed `true_`)."""

    data: Generated
    analysis: Analysis
    joined: pd.DataFrame


def run_generated(n: int, seed: int, spec: AnalysisSpec | None = None) -> Run:
    """Generate `n` customers with `seed` and analyse them as of the generator's cut-off."""
    data = generate(n, seed=seed)
    analysis = analyse(data.interactions, AS_OF.tz_localize(None), spec, customers=data.customers)
    truth = data.truth.set_index("customer_id").add_prefix("true_")
    joined = analysis.customers.set_index("customer_id").join(truth, how="left")
    return Run(data=data, analysis=analysis, joined=joined)


@dataclass(frozen=True)
class Figure:
    """One benchmark figure with its goal: `met` is None when the figure has no goal."""

    name: str
    value: float
    goal: str
    met: bool | None
    detail: str = ""

    def line(self) -> str:
        verdict = "" if self.met is None else (" - goal met" if self.met else " - goal NOT met")
        goal = f" (goal {self.goal})" if self.goal else ""
        detail = f"; {self.detail}" if self.detail else ""
        return f"{self.name}: {self.value:.4g}{goal}{detail}{verdict}"


def print_figures(figures: Sequence[Figure], extra: dict[str, Any], as_json: bool) -> None:
    """One line per figure, or everything as one JSON object."""
    if as_json:
        out: dict[str, Any] = {
            f.name: {"value": f.value, "goal": f.goal, "met": f.met} for f in figures
        }
        out.update(extra)
        print(json.dumps(out, indent=2, default=float))
        return
    for figure in figures:
        print(figure.line())


def main(
    description: str, run: Callable[[int, int], tuple[Sequence[Figure], dict[str, Any]]]
) -> int:
    """The command line every generated-data benchmark shares: --customers, --seed, --json."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures, extra = run(args.customers, args.seed)
    print_figures(figures, extra, args.json)
    return 0
