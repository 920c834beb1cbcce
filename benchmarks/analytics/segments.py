"""Segment value on a planted profit concentration (`python -m benchmarks.analytics.segments`).

The generator plants four segments with their own purchase rate, basket, margin and cost to
serve (transactors: many small low-margin baskets and many support calls, so negative
operating profit) and records each customer's true revenue and operating profit in the year
before the cut-off. `crmhub analyse` is given the customers' segment as an attribute and
reports, per segment, the share of customers, of revenue and of operating profit; each
reported share is compared with the planted one (goal: every one within 1 point), and the
segments with negative profit must be the planted ones. The naive baseline in the same run
is what a CRM without cost to serve reports as "profit": a flat margin on revenue.
"""

from __future__ import annotations

import pandas as pd

from benchmarks.analytics import common
from benchmarks.analytics.common import Figure, run_generated

__all__ = ["run"]


def _shares(frame: pd.DataFrame, by: str, revenue: str, profit: str) -> pd.DataFrame:
    grouped = frame.groupby(by)
    return pd.DataFrame(
        {
            "customers_share": grouped.size() / len(frame),
            "revenue_share": grouped[revenue].sum() / frame[revenue].sum(),
            "profit_share": grouped[profit].sum() / frame[profit].sum(),
        }
    )


def run(n: int = 20_000, seed: int = 1) -> tuple[list[Figure], dict[str, object]]:
    """The segment-value figures on `n` generated customers."""
    result = run_generated(n, seed)
    segments = result.analysis.segments
    reported = segments.loc[segments["segmentation"] == "segment"].set_index("segment")
    truth = result.data.truth
    planted = _shares(truth, "segment", "revenue", "profit")
    cols = ["customers_share", "revenue_share", "profit_share"]
    diff = (reported[cols] - planted[cols]).abs()
    worst = float(diff.to_numpy().max())
    flat = truth.assign(flat=truth["revenue"] * 0.30)
    naive = _shares(flat, "segment", "revenue", "flat")
    naive_diff = float((naive["profit_share"] - planted["profit_share"]).abs().max())
    negative = set(reported.index[reported["profit"] < 0])
    planted_negative = set(planted.index[planted["profit_share"] < 0])
    table = {
        seg: {
            "planted": {c: float(planted.loc[seg, c]) for c in cols},
            "reported": {c: float(reported.loc[seg, c]) for c in cols},
        }
        for seg in planted.index
    }
    detail = "; ".join(
        f"{seg} {100 * reported.loc[seg, 'customers_share']:.1f} % of customers, "
        f"profit {100 * reported.loc[seg, 'profit_share']:.1f} % "
        f"(planted {100 * planted.loc[seg, 'profit_share']:.1f} %)"
        for seg in planted.index
    )
    figures = [
        Figure("segments_max_share_error_points", 100 * worst, "<= 1 point", worst <= 0.01,
               f"{detail}; flat-margin baseline's profit shares off by up to "
               f"{100 * naive_diff:.1f} points"),
        Figure("segments_negative_profit_flagged", float(negative == planted_negative),
               "the planted ones", negative == planted_negative,
               f"flagged {sorted(negative)}, planted {sorted(planted_negative)}"),
    ]  # fmt: skip
    return figures, {"shares": table, "naive_max_profit_error_points": 100 * naive_diff}


def main() -> int:
    return common.main((__doc__ or "").splitlines()[0], run)


if __name__ == "__main__":
    raise SystemExit(main())
