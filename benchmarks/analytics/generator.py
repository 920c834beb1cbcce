"""Generated purchase histories with planted truth, for the analytics benchmarks and tests.

Customers belong to planted segments (key accounts, regulars, transactors, occasional) with
their own purchase rate, basket, margin and cost to serve — transactors buy small, low-margin
baskets and call support often, so their operating profit is negative. Each customer prefers
a few categories of one affinity group (co-purchase structure for next best offers). Each
may leave at a planted date; in the half year before leaving, a churner's purchases fall
(cause `decline`), complaints rise (cause `complaints`), or both. Orders may be cancelled or
partly refunded, some are in USD or GBP, some invoices are paid late.

`generate(n, seed)` returns the interactions (columns of canonical `Interaction` plus
`customer_id`, `category`, `margin`, `days_late`) and the truth per customer: segment,
planted churn cause, whether they bought in the horizon after `AS_OF`, revenue and profit
in the year before `AS_OF`, and the true expected 12-month revenue.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import pandas as pd

__all__ = ["AS_OF", "CATEGORIES", "HORIZON", "Generated", "generate", "write_jsonl"]

START = pd.Timestamp("2021-01-01", tz="UTC")
AS_OF = pd.Timestamp("2024-01-01", tz="UTC")
HORIZON = 90
END = AS_OF + pd.Timedelta(days=HORIZON)
GROUPS = (
    ("phones", "cases", "chargers", "headphones"),
    ("garden", "tools", "paint", "lighting"),
    ("books", "music", "games", "toys"),
)
CATEGORIES = tuple(c for g in GROUPS for c in g)
MARGIN = dict(
    zip(
        CATEGORIES, (0.12, 0.55, 0.45, 0.3, 0.3, 0.35, 0.4, 0.33, 0.2, 0.25, 0.18, 0.3), strict=True
    )
)
RATES = {"EUR": 1.0, "USD": 0.92, "GBP": 1.17}
RANDOM_CATEGORY = 0.15  # share of purchases in a category drawn at random
UNIT_COSTS = {"ticket": 8.0, "complaint": 25.0, "call": 5.0, "visit": 40.0}
# segment: share, purchases per year, mean basket, margin factor, tickets per year, channels
SEGMENTS = {
    "key accounts": (0.12, 9.0, 260.0, 1.3, 1.0, ("store", "sales")),
    "regulars": (0.35, 4.0, 90.0, 1.0, 0.5, ("web", "store")),
    "transactors": (0.38, 5.0, 22.0, 0.35, 5.0, ("web",)),
    "occasional": (0.15, 1.0, 60.0, 1.0, 0.3, ("web", "store")),
}
DAY = 86_400.0


@dataclass(frozen=True)
class Generated:
    interactions: pd.DataFrame
    truth: pd.DataFrame
    customers: pd.DataFrame  # customer_id, segment, birth_date (prospects included)
    # per customer (rows as `truth`) the planted chance that a purchase is of each of
    # CATEGORIES (columns): the best any next-best-offer method could know
    category_odds: pd.DataFrame | None = None


def _times(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return lo + rng.random(len(lo)) * np.maximum(hi - lo, 0)


def generate(n: int = 5_000, seed: int = 1, prospects: float = 0.03) -> Generated:
    """`n` customers with their interactions and planted truth (times in seconds UTC)."""
    rng = np.random.default_rng(seed)
    names = list(SEGMENTS)
    seg = rng.choice(len(names), n, p=[SEGMENTS[s][0] for s in names])
    t0, t_as_of, t_end = (t.value / 1e9 for t in (START, AS_OF, END))
    join = t0 + rng.random(n) * (t_as_of - 60 * DAY - t0)
    rate = np.array([SEGMENTS[s][1] for s in names])[seg] * rng.gamma(4.0, 0.25, n) / (365 * DAY)
    basket = np.array([SEGMENTS[s][2] for s in names])[seg] * rng.lognormal(0, 0.3, n)
    tickets = np.array([SEGMENTS[s][4] for s in names])[seg] / (365 * DAY)
    # leaving: about a third leave inside the history, a quarter of the rest around the cut-off
    leave = join + rng.exponential(3.5 * 365 * DAY, n)
    near = rng.random(n) < 0.18
    leave = np.where(near, t_as_of + rng.uniform(-20, 30, n) * DAY, leave)
    leave = np.maximum(leave, join + 30 * DAY)
    cause = rng.choice(3, n, p=[0.45, 0.35, 0.20])  # decline, complaints, both
    is_prospect = rng.random(n) < prospects
    # purchases: homogeneous until leaving, thinned in the half year before it for `decline`
    stop = np.minimum(leave, t_end)
    count = rng.poisson(rate * np.maximum(stop - join, 0))
    count[is_prospect] = 0
    who = np.repeat(np.arange(n), count)
    ts = _times(rng, join[who], stop[who])
    before = (leave[who] - ts) / (180 * DAY)
    declining = (cause[who] != 1) & (before < 1)
    keep = ~declining | (rng.random(len(ts)) < 0.15 + 0.85 * np.clip(before, 0, 1))
    who, ts = who[keep], ts[keep]
    group = rng.integers(0, len(GROUPS), n)
    prefs = (
        np.stack([rng.permutation(4)[:3] for _ in range(n)])
        if n <= 50_000
        else (np.argsort(rng.random((n, 4)), axis=1)[:, :3])
    )
    weights = rng.dirichlet([1.0, 1.0, 1.0], n)
    pick = (rng.random(len(who))[:, None] > np.cumsum(weights[who], axis=1)).sum(axis=1)
    cat = group[who] * 4 + prefs[who, np.minimum(pick, 2)]
    odds = np.full((n, len(CATEGORIES)), RANDOM_CATEGORY / len(CATEGORIES))
    for k in range(3):
        odds[np.arange(n), group * 4 + prefs[:, k]] += (1 - RANDOM_CATEGORY) * weights[:, k]
    random_cat = rng.random(len(who)) < RANDOM_CATEGORY
    cat = np.where(random_cat, rng.integers(0, len(CATEGORIES), len(who)), cat)
    amount = np.round(basket[who] * rng.lognormal(0, 0.4, len(who)), 2)
    margin_rate = (
        np.array([MARGIN[c] for c in CATEGORIES])[cat]
        * np.array([SEGMENTS[s][3] for s in names])[seg[who]]
    )
    cancelled = rng.random(len(who)) < 0.03
    refunded = ~cancelled & (rng.random(len(who)) < 0.05)
    currency = rng.choice(list(RATES), len(who), p=[0.9, 0.06, 0.04])
    to_eur = np.array([RATES[c] for c in currency])
    channels = [SEGMENTS[s][5] for s in names]
    by_seg = np.array([[c[k % len(c)] for k in range(2)] for c in channels])
    channel = by_seg[seg[who], rng.integers(0, 2, len(who))]
    orders = pd.DataFrame(
        {
            "customer_id": who,
            "type": "order",
            "ts": ts,
            "amount": np.round(amount / to_eur, 2),
            "currency": currency,
            "status": np.where(cancelled, "cancelled", "completed"),
            "channel": channel,
            "category": np.array(CATEGORIES)[cat],
            "margin": np.round(amount * margin_rate / to_eur, 2),
            "subject": None,
            "days_late": np.nan,
            "eur": amount,
            "eur_margin": amount * margin_rate,
        }
    )
    refund_share = rng.uniform(0.2, 1.0, int(refunded.sum()))
    refunds = orders.loc[refunded].assign(
        type="refund",
        ts=lambda d: d["ts"] + rng.uniform(1, 30, len(d)) * DAY,
        amount=lambda d: np.round(d["amount"] * refund_share, 2),
        status="completed",
        margin=lambda d: np.round(d["margin"] * refund_share, 2),
        eur=lambda d: -d["eur"] * refund_share,
        eur_margin=lambda d: -d["eur_margin"] * refund_share,
    )
    # tickets and calls (cost to serve), complaints (background and planted), late payments
    alive_span = np.maximum(np.minimum(leave, t_end) - join, 0)
    n_tick = rng.poisson(tickets * alive_span)
    tw = np.repeat(np.arange(n), n_tick)
    tickets_df = pd.DataFrame(
        {
            "customer_id": tw,
            "type": np.where(rng.random(len(tw)) < 0.6, "ticket", "call"),
            "ts": _times(rng, join[tw], np.minimum(leave, t_end)[tw]),
            "status": "closed",
            "subject": "question",
        }
    )
    n_bg = rng.poisson(0.08 / (365 * DAY) * alive_span)
    n_planted = np.where((cause != 0) & ~is_prospect, rng.poisson(3.0, n) + 1, 0)
    cw = np.concatenate([np.repeat(np.arange(n), n_bg), np.repeat(np.arange(n), n_planted)])
    c_lo = np.concatenate(
        [
            join[np.repeat(np.arange(n), n_bg)],
            (leave - 120 * DAY)[np.repeat(np.arange(n), n_planted)],
        ]
    )
    c_hi = np.concatenate(
        [
            np.minimum(leave, t_end)[np.repeat(np.arange(n), n_bg)],
            np.minimum(leave, t_end)[np.repeat(np.arange(n), n_planted)],
        ]
    )
    complaints = pd.DataFrame(
        {
            "customer_id": cw,
            "type": "complaint",
            "ts": _times(rng, np.maximum(c_lo, join[cw]), c_hi),
            "status": "closed",
            "subject": "complaint: late delivery",
        }
    )
    pw = who[rng.random(len(who)) < 0.3]
    payments = pd.DataFrame(
        {
            "customer_id": pw,
            "type": "payment",
            "ts": _times(rng, join[pw], np.minimum(leave, t_end)[pw]),
            "status": "paid",
            "days_late": np.where(rng.random(len(pw)) < 0.1, rng.integers(5, 60, len(pw)), 0),
        }
    )
    web = np.flatnonzero(is_prospect)
    visits = pd.DataFrame(
        {
            "customer_id": web,
            "type": "web_event",
            "ts": _times(rng, join[web], np.full(len(web), t_as_of)),
            "channel": "web",
            "subject": "page_view",
        }
    )
    events = pd.concat(
        [orders, refunds, tickets_df, complaints, payments, visits], ignore_index=True
    )
    events = events.loc[events["ts"] < t_end].reset_index(drop=True)
    truth = _truth(events, n, seg, names, cause, leave, rate, basket, is_prospect, t_as_of)
    events["occurred_at"] = pd.to_datetime(events["ts"], unit="s", utc=True)
    events["customer_id"] = "c" + events["customer_id"].astype(str).str.zfill(7)
    events["source"] = "gen"
    events["source_id"] = np.arange(len(events)).astype(str)
    events = events.sort_values("ts", kind="stable").reset_index(drop=True)
    columns = [
        "source",
        "source_id",
        "customer_id",
        "type",
        "occurred_at",
        "amount",
        "currency",
        "status",
        "channel",
        "subject",
        "category",
        "margin",
        "days_late",
    ]
    ids = "c" + pd.Series(np.arange(n)).astype(str).str.zfill(7)
    birth = pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 18_000, n), unit="D")
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "segment": np.array(names)[seg],
            "birth_date": birth.strftime("%Y-%m-%d"),
        }
    )
    truth.insert(0, "customer_id", ids)
    category_odds = pd.DataFrame(odds, columns=list(CATEGORIES), index=truth.index)
    return Generated(events[columns], truth, customers, category_odds)


def _truth(
    events: pd.DataFrame,
    n: int,
    seg: np.ndarray,
    names: list[str],
    cause: np.ndarray,
    leave: np.ndarray,
    rate: np.ndarray,
    basket: np.ndarray,
    prospect: np.ndarray,
    t_as_of: float,
) -> pd.DataFrame:
    year = (events["ts"] >= t_as_of - 365 * DAY) & (events["ts"] < t_as_of)
    e = events.loc[year]
    counted = e["type"].isin(["order", "refund"]) & (e["status"] != "cancelled")
    codes = e["customer_id"].to_numpy()
    revenue = np.bincount(codes[counted], e.loc[counted, "eur"], minlength=n)
    margin = np.bincount(codes[counted], e.loc[counted, "eur_margin"], minlength=n)
    cost = np.bincount(codes, e["type"].map(UNIT_COSTS).fillna(0.0), minlength=n)
    after = (events["ts"] >= t_as_of) & (events["type"] == "order")
    after &= events["status"] != "cancelled"
    bought_after = np.bincount(events.loc[after, "customer_id"], minlength=n) > 0
    bought_before = (
        np.bincount(
            events.loc[(events["ts"] < t_as_of) & (events["type"] == "order"), "customer_id"],
            minlength=n,
        )
        > 0
    )
    alive_year = np.clip((leave - t_as_of) / (365 * DAY), 0, 1)
    return pd.DataFrame(
        {
            "segment": np.array(names)[seg],
            "prospect": prospect,
            "bought_before": bought_before,
            "churned": bought_before & ~bought_after,
            "cause": np.where(
                leave < t_as_of + HORIZON * DAY,
                np.array(["decline", "complaints", "both"])[cause],
                "none",
            ),
            "leaves_at": pd.to_datetime(leave, unit="s", utc=True),
            "revenue": revenue,
            "profit": margin - cost,
            "true_value_12m": rate * 365 * DAY * alive_year * basket * np.exp(0.08),
        }
    )


def write_jsonl(frame: pd.DataFrame, path: Path) -> None:
    """Interactions (or customers) as JSON Lines, gzipped when the name ends in .gz."""
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as fh:
        for rec in records:
            rec = {k: v for k, v in rec.items() if v is not None}
            if "occurred_at" in rec:
                rec["occurred_at"] = rec["occurred_at"].isoformat()
            fh.write(orjson.dumps(rec, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n")
