"""Next best offer on a time split (`python -m benchmarks.analytics.nbo`).

The engine's offers (the `next_best_offers` column of `crmhub analyse`: item-based
co-purchase on categories) are made from the purchases before the generator's cut-off; the
truth is what each customer then bought in the 90 days after that they had not bought
before. Hit rate at 3 = among the customers who bought something new after the cut-off,
the share for whom one of their three offers was among it. The naive baseline in the same
run offers the three most popular categories not yet held. Goal: >= 2x the baseline.

The ceiling in the same run ranks each customer's categories by the odds the generator
planted for them (its truth), and falls back to popularity for customers with no
purchase before the cut-off, about whom the data says nothing: no method can beat it
except by chance, so it measures how much of the goal the data can carry.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from analytics.backends.local import LocalBackend
from analytics.model import AnalysisSpec
from analytics.offers import popular_offers
from benchmarks.analytics import common
from benchmarks.analytics.common import Figure, run_generated
from benchmarks.analytics.generator import AS_OF

__all__ = ["hit_rate", "run"]


def hit_rate(offers: list[list[str]], bought: list[set[str]]) -> float:
    """Share of customers with something new bought whose offers name one of those items."""
    hits = [bool(set(o) & b) for o, b in zip(offers, bought, strict=True) if b]
    return float(np.mean(hits)) if hits else float("nan")


def run(n: int = 20_000, seed: int = 1) -> tuple[list[Figure], dict[str, float]]:
    """The next-best-offer figures on `n` generated customers."""
    result = run_generated(n, seed)
    customers = result.analysis.customers
    spec = AnalysisSpec()
    backend = LocalBackend()
    cut = AS_OF.tz_localize(None)
    prepared = backend.prepare(result.data.interactions, spec, cut, customers["customer_id"])
    held, items = backend.holdings(prepared, spec.offers.item_field, prepared.as_of)
    popular = popular_offers(held, items, top=spec.offers.top)
    raw = result.data.interactions
    after = raw.loc[
        (raw["occurred_at"] >= AS_OF)
        & (raw["type"] == "order")
        & (raw["status"] != "cancelled")
        & raw["category"].notna()
    ]
    later = after.groupby("customer_id")["category"].agg(set)
    index = pd.Index(prepared.customer_ids)
    held_sets = [set(items[held[i].indices]) for i in range(held.shape[0])]
    new = [later.get(cid, set()) - had for cid, had in zip(index, held_sets, strict=True)]
    ours_by_id = customers.set_index("customer_id")["next_best_offers"].reindex(index)
    ours = [s.split(";") if isinstance(s, str) and s else [] for s in ours_by_id]
    ours_rate, base_rate = hit_rate(ours, new), hit_rate(popular, new)
    ratio = ours_rate / base_rate if base_rate else float("inf")
    evaluated = sum(1 for b in new if b)
    # Ceilings: offers from the generator's planted per-customer category odds, the best
    # any method could rank; "blind" knows nothing more than popularity of a customer
    # with no purchase before the cut-off (nothing in the data says what they will like).
    oracle = _oracle(result.data.category_odds, result.data.truth, index, held, items)
    history = np.asarray(held.sum(axis=1)).ravel() > 0
    blind = [o if h else p for o, p, h in zip(oracle, popular, history, strict=True)]
    oracle_rate, blind_rate = hit_rate(oracle, new), hit_rate(blind, new)
    no_history = sum(1 for b, h in zip(new, history, strict=True) if b and not h)

    def among_buyers(offers: list[list[str]]) -> float:
        return hit_rate([o for o, h in zip(offers, history, strict=True) if h],
                        [b for b, h in zip(new, history, strict=True) if h])  # fmt: skip

    figures = [
        Figure("nbo_hit_rate_at_3", ours_rate, ">= 2x popularity", ratio >= 2.0,
               f"popularity baseline {base_rate:.3f}, ratio {ratio:.2f}x; "
               f"{evaluated:,} customers bought a new category in the 90 days after"),
        Figure("nbo_ceiling_hit_rate_at_3", blind_rate, "", None,
               f"offers ranked by the planted odds for customers who had bought, popularity "
               f"for the {no_history:,} ({no_history / max(evaluated, 1):.0%}) who had not: "
               f"{blind_rate / base_rate:.2f}x popularity; knowing even their planted odds: "
               f"{oracle_rate:.3f}"),
        Figure("nbo_hit_rate_at_3_with_history", among_buyers(ours), "", None,
               f"customers who had bought before the cut-off: popularity "
               f"{among_buyers(popular):.3f}, planted odds {among_buyers(oracle):.3f}"),
    ]  # fmt: skip
    extra = {"popularity_hit_rate_at_3": base_rate, "ratio": ratio,
             "ceiling_ratio": blind_rate / base_rate}  # fmt: skip
    return figures, extra


def _oracle(
    odds: pd.DataFrame | None,
    truth: pd.DataFrame,
    customer_ids: pd.Index,
    held: sparse.csr_matrix,
    items: np.ndarray,
    top: int = 3,
) -> list[list[str]]:
    """The `top` items not held with the highest planted odds, per customer."""
    if odds is None:
        raise ValueError("the generated data carries no planted category odds")
    row = pd.Series(np.arange(len(truth)), index=truth["customer_id"]).reindex(customer_ids)
    planted = odds.reindex(columns=[str(i) for i in items], fill_value=0.0).to_numpy()
    scores = np.where(held.toarray() > 0, -np.inf, planted[row.to_numpy()])
    best = np.argsort(-scores, axis=1, kind="stable")[:, :top]
    return [[str(items[j]) for j in r] for r in best]


def main() -> int:
    return common.main((__doc__ or "").splitlines()[0], run)


if __name__ == "__main__":
    raise SystemExit(main())
